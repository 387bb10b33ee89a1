import { Migration } from '@mikro-orm/migrations';

export class Migration20261123113135_sessions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`server_secret\` (\`name\` text not null, \`value\` text not null, \`created_at\` datetime not null, primary key (\`name\`));`);

    this.addSql(`create table \`signing_key\` (\`id\` text not null, \`alg\` text not null, \`private_key_pem\` text not null, \`public_jwk\` json not null, \`created_at\` datetime not null, \`retired_at\` datetime null, primary key (\`id\`));`);

    this.addSql(`create table \`session\` (\`id\` text not null, \`app_id\` text not null, \`user_id\` text not null, \`scope\` text not null, \`auth_time\` datetime not null, \`registration_required\` integer not null default false, \`created_at\` datetime not null, \`expires_at\` datetime not null, \`revoked_at\` datetime null, \`revoked_reason\` text null, \`ip\` text null, \`user_agent\` text null, constraint \`session_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, constraint \`session_user_id_foreign\` foreign key(\`user_id\`) references \`user\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`session_app_id_index\` on \`session\` (\`app_id\`);`);
    this.addSql(`create index \`session_user_idx\` on \`session\` (\`user_id\`);`);

    this.addSql(`create table \`refresh_token\` (\`id\` text not null, \`session_id\` text not null, \`token_hash\` text not null, \`created_at\` datetime not null, \`expires_at\` datetime not null, \`used_at\` datetime null, constraint \`refresh_token_session_id_foreign\` foreign key(\`session_id\`) references \`session\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`refresh_token_session_idx\` on \`refresh_token\` (\`session_id\`);`);
    this.addSql(`create unique index \`refresh_token_hash_unique\` on \`refresh_token\` (\`token_hash\`);`);
  }

}
