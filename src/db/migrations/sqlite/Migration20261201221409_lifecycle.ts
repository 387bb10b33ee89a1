import { Migration } from '@mikro-orm/migrations';

export class Migration20261201221409_lifecycle extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`app_webhook_secret\` (\`app_id\` text not null, \`secret_encrypted\` text not null, \`created_at\` datetime not null, primary key (\`app_id\`));`);

    this.addSql(`create table \`security_event\` (\`id\` text not null, \`app_id\` text not null, \`type\` text not null, \`user_id\` text null, \`ip\` text null, \`at\` datetime not null, \`detail\` json not null, constraint \`security_event_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`security_event_app_id_idx\` on \`security_event\` (\`app_id\`, \`id\`);`);
    this.addSql(`create index \`security_event_user_idx\` on \`security_event\` (\`user_id\`);`);
    this.addSql(`create index \`security_event_at_idx\` on \`security_event\` (\`at\`);`);

    this.addSql(`create table \`contact_change\` (\`id\` text not null, \`app_id\` text not null, \`user_id\` text not null, \`kind\` text not null, \`address\` text not null, \`destination\` text not null, \`created_at\` datetime not null, \`expires_at\` datetime not null, constraint \`contact_change_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, constraint \`contact_change_user_id_foreign\` foreign key(\`user_id\`) references \`user\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`contact_change_user_id_index\` on \`contact_change\` (\`user_id\`);`);
    this.addSql(`create unique index \`contact_change_user_unique\` on \`contact_change\` (\`user_id\`);`);

    this.addSql(`create table \`user_tombstone\` (\`id\` text not null, \`deleted_at\` datetime not null, primary key (\`id\`));`);

    this.addSql(`alter table \`session\` add column \`last_used_at\` datetime null;`);
  }

}
