import { Migration } from '@mikro-orm/migrations';

export class Migration20261123112124_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`app\` (\`id\` text not null, \`name\` text not null, \`settings\` json not null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);

    this.addSql(`create table \`api_key\` (\`id\` text not null, \`app_id\` text not null, \`kind\` text not null, \`key_hash\` text not null, \`prefix\` text not null, \`created_at\` datetime not null, \`revoked_at\` datetime null, constraint \`api_key_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`api_key_app_idx\` on \`api_key\` (\`app_id\`);`);
    this.addSql(`create unique index \`api_key_hash_unique\` on \`api_key\` (\`key_hash\`);`);

    this.addSql(`create table \`user\` (\`id\` text not null, \`app_id\` text not null, \`email\` text null, \`email_key\` text null, \`email_verified\` integer not null default false, \`phone_number\` text null, \`phone_key\` text null, \`phone_verified\` integer not null default false, \`password_hash\` text null, \`external_id\` text null, \`external_id_type\` text null, \`identifiers\` json not null, \`first_name\` text null, \`last_name\` text null, \`name_key\` text null, \`title\` text null, \`gender\` text null, \`dob\` text null, \`address\` text null, \`city\` text null, \`state\` text null, \`zip\` text null, \`country\` text null, \`dma\` text null, \`locale\` text null, \`opted_in\` integer not null default false, \`opt_in_email\` text not null default 'PENDING', \`opt_in_sms\` text not null default 'PENDING', \`opt_in_push\` text not null default 'PENDING', \`activated\` integer not null default false, \`suspended\` integer not null default false, \`test_account\` integer not null default false, \`is_social\` integer not null default false, \`account_status\` text not null default 'good', \`proxy_ids\` json not null, \`tier_levels\` json not null, \`phone_numbers\` json not null, \`profile_photo_url\` text null, \`referrer_code\` text not null, \`registered_at\` datetime null, \`legal_accepted_at\` datetime null, \`created_at\` datetime not null, \`updated_at\` datetime not null, constraint \`user_app_id_foreign\` foreign key(\`app_id\`) references \`app\`(\`id\`) on update cascade, primary key (\`id\`));`);
    this.addSql(`create index \`user_app_id_index\` on \`user\` (\`app_id\`);`);
    this.addSql(`create index \`user_app_phone_number_idx\` on \`user\` (\`app_id\`, \`phone_number\`);`);
    this.addSql(`create index \`user_app_name_key_idx\` on \`user\` (\`app_id\`, \`name_key\`);`);
    this.addSql(`create index \`user_app_dob_idx\` on \`user\` (\`app_id\`, \`dob\`);`);
    this.addSql(`create unique index \`user_app_email_key_unique\` on \`user\` (\`app_id\`, \`email_key\`);`);
    this.addSql(`create unique index \`user_app_phone_key_unique\` on \`user\` (\`app_id\`, \`phone_key\`);`);
    this.addSql(`create unique index \`user_app_external_id_unique\` on \`user\` (\`app_id\`, \`external_id\`);`);
    this.addSql(`create unique index \`user_app_referrer_code_unique\` on \`user\` (\`app_id\`, \`referrer_code\`);`);
  }

}
