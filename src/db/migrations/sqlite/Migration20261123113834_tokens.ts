import { Migration } from '@mikro-orm/migrations';

export class Migration20261123113834_tokens extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`single_use_token\` (\`id\` text not null, \`app_id\` text not null, \`user_id\` text not null, \`purpose\` text not null, \`token_hash\` text not null, \`data\` json not null, \`created_at\` datetime not null, \`expires_at\` datetime not null, \`used_at\` datetime null, constraint \`single_use_token_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, constraint \`single_use_token_user_id_foreign\` foreign key(\`user_id\`) references \`user\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create unique index \`single_use_token_hash_unique\` on \`single_use_token\` (\`token_hash\`);`);
    this.addSql(`create index \`single_use_token_user_idx\` on \`single_use_token\` (\`user_id\`);`);

    this.addSql(`create table \`legal_acceptance\` (\`id\` text not null, \`app_id\` text not null, \`user_id\` text not null, \`device_uuid\` text not null, \`documents\` json not null, \`accepted_at\` datetime not null, constraint \`legal_acceptance_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, constraint \`legal_acceptance_user_id_foreign\` foreign key(\`user_id\`) references \`user\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`legal_acceptance_user_idx\` on \`legal_acceptance\` (\`user_id\`);`);
  }

}
