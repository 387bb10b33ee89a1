import { Migration } from '@mikro-orm/migrations';
import { rekeyEmails } from '../rekey-emails';

export class Migration20261201214913_normal_forms extends Migration {

  override async up(): Promise<void> {
    // Lower-casing can double a name ("İ" → "i̇"): the name key holds 2 × 100 + 1 + 2 × 100.
    this.addSql(`alter table "user" alter column "name_key" type varchar(401) using ("name_key"::varchar(401));`);
    // Email keys in the one normal form (IDNA ASCII domain); see rekey-emails.ts.
    await rekeyEmails((sql, params) => this.execute(sql, params), 'postgresql');
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "user" alter column "name_key" type varchar(201) using ("name_key"::varchar(201));`);
  }

}
