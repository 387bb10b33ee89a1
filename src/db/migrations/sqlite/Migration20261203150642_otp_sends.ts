import { Migration } from '@mikro-orm/migrations';

export class Migration20261203150642_otp_sends extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`otp_challenge\` add column \`sends\` integer not null default 1;`);
    this.addSql(`alter table \`otp_challenge\` add column \`sends_since\` datetime null;`);
  }

}
