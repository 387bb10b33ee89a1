import { Migration } from '@mikro-orm/migrations';

export class Migration20261203150644_otp_sends extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "otp_challenge" add column "sends" int not null default 1, add column "sends_since" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "otp_challenge" drop column "sends", drop column "sends_since";`);
  }

}
