import { Migration } from '@mikro-orm/migrations';

export class Migration20261123113837_tokens extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "single_use_token" ("id" uuid not null, "app_id" uuid not null, "user_id" uuid not null, "purpose" varchar(32) not null, "token_hash" varchar(64) not null, "data" jsonb not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, constraint "single_use_token_pkey" primary key ("id"));`);
    this.addSql(`alter table "single_use_token" add constraint "single_use_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "single_use_token_user_idx" on "single_use_token" ("user_id");`);

    this.addSql(`create table "legal_acceptance" ("id" uuid not null, "app_id" uuid not null, "user_id" uuid not null, "device_uuid" varchar(64) not null, "documents" jsonb not null, "accepted_at" timestamptz not null, constraint "legal_acceptance_pkey" primary key ("id"));`);
    this.addSql(`create index "legal_acceptance_user_idx" on "legal_acceptance" ("user_id");`);

    this.addSql(`alter table "single_use_token" add constraint "single_use_token_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);
    this.addSql(`alter table "single_use_token" add constraint "single_use_token_user_id_foreign" foreign key ("user_id") references "user" ("id") on update cascade;`);

    this.addSql(`alter table "legal_acceptance" add constraint "legal_acceptance_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);
    this.addSql(`alter table "legal_acceptance" add constraint "legal_acceptance_user_id_foreign" foreign key ("user_id") references "user" ("id") on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "single_use_token" cascade;`);

    this.addSql(`drop table if exists "legal_acceptance" cascade;`);
  }

}
