import { Migration } from '@mikro-orm/migrations';

export class Migration20261201221240_social_identities extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`social_challenge\` (\`id\` text not null, \`app_id\` text not null, \`provider\` text not null, \`kind\` text not null, \`key_hash\` text not null, \`data\` json not null, \`created_at\` datetime not null, \`expires_at\` datetime not null, \`used_at\` datetime null, constraint \`social_challenge_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create unique index \`social_challenge_key_hash_unique\` on \`social_challenge\` (\`key_hash\`);`);
    this.addSql(`create index \`social_challenge_expires_idx\` on \`social_challenge\` (\`expires_at\`);`);

    this.addSql(`create table \`social_token_use\` (\`key_hash\` text not null, \`app_id\` text not null, \`expires_at\` datetime not null, constraint \`social_token_use_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, primary key (\`key_hash\`));`);
    this.addSql(`create index \`social_token_use_expires_idx\` on \`social_token_use\` (\`expires_at\`);`);

    this.addSql(`create table \`user_identity\` (\`id\` text not null, \`app_id\` text not null, \`user_id\` text not null, \`provider\` text not null, \`issuer\` text not null, \`subject\` text not null, \`email\` text null, \`email_verified\` integer not null default false, \`linked_at\` datetime not null, \`last_sign_in_at\` datetime null, constraint \`user_identity_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, constraint \`user_identity_user_id_foreign\` foreign key(\`user_id\`) references \`user\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create unique index \`user_identity_app_issuer_subject_unique\` on \`user_identity\` (\`app_id\`, \`issuer\`, \`subject\`);`);
    this.addSql(`create unique index \`user_identity_user_provider_unique\` on \`user_identity\` (\`user_id\`, \`provider\`);`);
  }

}
