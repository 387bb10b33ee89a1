import { Migration } from '@mikro-orm/migrations';

export class Migration20261123112127_initial extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "app" ("id" uuid not null, "name" varchar(100) not null, "settings" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "app_pkey" primary key ("id"));`);

    this.addSql(`create table "api_key" ("id" uuid not null, "app_id" uuid not null, "kind" varchar(16) not null, "key_hash" varchar(64) not null, "prefix" varchar(16) not null, "created_at" timestamptz not null, "revoked_at" timestamptz null, constraint "api_key_pkey" primary key ("id"));`);
    this.addSql(`create index "api_key_app_idx" on "api_key" ("app_id");`);
    this.addSql(`alter table "api_key" add constraint "api_key_hash_unique" unique ("key_hash");`);

    this.addSql(`create table "user" ("id" uuid not null, "app_id" uuid not null, "email" varchar(254) null, "email_key" varchar(254) null, "email_verified" boolean not null default false, "phone_number" varchar(20) null, "phone_key" varchar(20) null, "phone_verified" boolean not null default false, "password_hash" varchar(512) null, "external_id" varchar(255) null, "external_id_type" varchar(64) null, "identifiers" jsonb not null, "first_name" varchar(100) null, "last_name" varchar(100) null, "name_key" varchar(201) null, "title" varchar(50) null, "gender" varchar(20) null, "dob" varchar(10) null, "address" varchar(255) null, "city" varchar(100) null, "state" varchar(100) null, "zip" varchar(20) null, "country" varchar(3) null, "dma" varchar(20) null, "locale" varchar(35) null, "opted_in" boolean not null default false, "opt_in_email" varchar(16) not null default 'PENDING', "opt_in_sms" varchar(16) not null default 'PENDING', "opt_in_push" varchar(16) not null default 'PENDING', "activated" boolean not null default false, "suspended" boolean not null default false, "test_account" boolean not null default false, "is_social" boolean not null default false, "account_status" varchar(32) not null default 'good', "proxy_ids" jsonb not null, "tier_levels" jsonb not null, "phone_numbers" jsonb not null, "profile_photo_url" varchar(1024) null, "referrer_code" varchar(32) not null, "registered_at" timestamptz null, "legal_accepted_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "user_pkey" primary key ("id"));`);
    this.addSql(`create index "user_app_phone_number_idx" on "user" ("app_id", "phone_number");`);
    this.addSql(`create index "user_app_name_key_idx" on "user" ("app_id", "name_key");`);
    this.addSql(`create index "user_app_dob_idx" on "user" ("app_id", "dob");`);
    this.addSql(`alter table "user" add constraint "user_app_email_key_unique" unique ("app_id", "email_key");`);
    this.addSql(`alter table "user" add constraint "user_app_phone_key_unique" unique ("app_id", "phone_key");`);
    this.addSql(`alter table "user" add constraint "user_app_external_id_unique" unique ("app_id", "external_id");`);
    this.addSql(`alter table "user" add constraint "user_app_referrer_code_unique" unique ("app_id", "referrer_code");`);

    this.addSql(`alter table "api_key" add constraint "api_key_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);

    this.addSql(`alter table "user" add constraint "user_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "api_key" drop constraint "api_key_app_id_foreign";`);

    this.addSql(`alter table "user" drop constraint "user_app_id_foreign";`);

    this.addSql(`drop table if exists "app" cascade;`);

    this.addSql(`drop table if exists "api_key" cascade;`);

    this.addSql(`drop table if exists "user" cascade;`);
  }

}
