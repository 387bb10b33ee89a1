import { Migration } from '@mikro-orm/migrations';

export class Migration20261201221246_social_identities extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "social_challenge" ("id" uuid not null, "app_id" uuid not null, "provider" varchar(32) not null, "kind" varchar(16) not null, "key_hash" varchar(64) not null, "data" jsonb not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, constraint "social_challenge_pkey" primary key ("id"));`);
    this.addSql(`alter table "social_challenge" add constraint "social_challenge_key_hash_unique" unique ("key_hash");`);
    this.addSql(`create index "social_challenge_expires_idx" on "social_challenge" ("expires_at");`);

    this.addSql(`create table "social_token_use" ("key_hash" varchar(64) not null, "app_id" uuid not null, "expires_at" timestamptz not null, constraint "social_token_use_pkey" primary key ("key_hash"));`);
    this.addSql(`create index "social_token_use_expires_idx" on "social_token_use" ("expires_at");`);

    this.addSql(`create table "user_identity" ("id" uuid not null, "app_id" uuid not null, "user_id" uuid not null, "provider" varchar(32) not null, "issuer" varchar(255) not null, "subject" varchar(255) not null, "email" varchar(254) null, "email_verified" boolean not null default false, "linked_at" timestamptz not null, "last_sign_in_at" timestamptz null, constraint "user_identity_pkey" primary key ("id"));`);
    this.addSql(`alter table "user_identity" add constraint "user_identity_app_issuer_subject_unique" unique ("app_id", "issuer", "subject");`);
    this.addSql(`alter table "user_identity" add constraint "user_identity_user_provider_unique" unique ("user_id", "provider");`);

    this.addSql(`alter table "social_challenge" add constraint "social_challenge_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);

    this.addSql(`alter table "social_token_use" add constraint "social_token_use_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);

    this.addSql(`alter table "user_identity" add constraint "user_identity_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);
    this.addSql(`alter table "user_identity" add constraint "user_identity_user_id_foreign" foreign key ("user_id") references "user" ("id") on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "social_challenge" cascade;`);

    this.addSql(`drop table if exists "social_token_use" cascade;`);

    this.addSql(`drop table if exists "user_identity" cascade;`);
  }

}
