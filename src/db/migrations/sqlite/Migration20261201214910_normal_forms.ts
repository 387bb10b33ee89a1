import { Migration } from '@mikro-orm/migrations';
import { rekeyEmails } from '../rekey-emails';

/**
 * Written by hand: SQLite's columns carry no length, so the wider name key (PostgreSQL's
 * varchar(401)) is no schema change here; only the data step applies.
 */
export class Migration20261201214910_normal_forms extends Migration {

  override async up(): Promise<void> {
    // Email keys in the one normal form (IDNA ASCII domain); see rekey-emails.ts.
    await rekeyEmails((sql, params) => this.execute(sql, params), 'sqlite');
  }

}
