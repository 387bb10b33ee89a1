import { Migration } from '@mikro-orm/migrations';

export class Migration20261201215159_courier extends Migration {

  override async up(): Promise<void> {
    // SQLite cannot add a NOT NULL column without a default: the table is rebuilt (as the
    // generator does for such changes). Rows from before the courier were development-outbox
    // messages, printed when written: they are kept as delivered.
    this.addSql(`pragma foreign_keys = off;`);
    this.addSql(`create table \`outbox_message__temp_alter\` (\`id\` text not null, \`app_id\` text not null, \`channel\` text not null, \`to\` text not null, \`template\` text not null, \`subject\` text null, \`body\` text not null, \`from_name\` text not null default '', \`created_at\` datetime not null, \`status\` text not null default 'pending', \`attempts\` integer not null default 0, \`next_attempt_at\` datetime not null, \`locked_until\` datetime null, \`delivered_at\` datetime null, \`via\` text null, \`last_error\` text null, \`carrier_id\` text null, \`expires_at\` datetime null, constraint \`outbox_message_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`insert into \`outbox_message__temp_alter\` (\`id\`, \`app_id\`, \`channel\`, \`to\`, \`template\`, \`subject\`, \`body\`, \`from_name\`, \`created_at\`, \`status\`, \`attempts\`, \`next_attempt_at\`, \`delivered_at\`, \`via\`) select \`id\`, \`app_id\`, \`channel\`, \`to\`, \`template\`, \`subject\`, \`body\`, '', \`created_at\`, 'delivered', 1, \`created_at\`, \`created_at\`, 'outbox' from \`outbox_message\`;`);
    this.addSql(`drop table \`outbox_message\`;`);
    this.addSql(`alter table \`outbox_message__temp_alter\` rename to \`outbox_message\`;`);
    this.addSql(`create index \`outbox_message_app_idx\` on \`outbox_message\` (\`app_id\`);`);
    this.addSql(`create index \`outbox_message_due_idx\` on \`outbox_message\` (\`status\`, \`next_attempt_at\`);`);
    this.addSql(`pragma foreign_keys = on;`);
  }

}
