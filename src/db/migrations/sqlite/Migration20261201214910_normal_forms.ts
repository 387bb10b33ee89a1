import { Migration } from '@mikro-orm/migrations';
import { rekeyEmails } from '../rekey-emails';

/** Written by hand: a data step, no schema change. */
export class Migration20261201214910_normal_forms extends Migration {

  override async up(): Promise<void> {
    // Email keys in the one normal form (IDNA ASCII domain); see rekey-emails.ts.
    await rekeyEmails((sql, params) => this.execute(sql, params), 'sqlite');
  }

}
