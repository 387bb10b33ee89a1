import { Migration } from '@mikro-orm/migrations';

export class Migration20261123113927_codes extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`otp_challenge\` (\`id\` text not null, \`app_id\` text not null, \`destination\` text not null, \`channel\` text not null, \`purpose\` text not null, \`user_id\` text null, \`code_hash\` text not null, \`attempts\` integer not null default 0, \`created_at\` datetime not null, \`expires_at\` datetime not null, \`consumed_at\` datetime null, constraint \`otp_challenge_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create unique index \`otp_challenge_app_destination_unique\` on \`otp_challenge\` (\`app_id\`, \`destination\`);`);

    this.addSql(`create table \`outbox_message\` (\`id\` text not null, \`app_id\` text not null, \`channel\` text not null, \`to\` text not null, \`template\` text not null, \`subject\` text null, \`body\` text not null, \`created_at\` datetime not null, constraint \`outbox_message_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`outbox_message_app_idx\` on \`outbox_message\` (\`app_id\`);`);
  }

}
