import { Migration } from '@mikro-orm/migrations';

export class Migration20261123113137_sessions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "server_secret" ("name" varchar(64) not null, "value" varchar(128) not null, "created_at" timestamptz not null, constraint "server_secret_pkey" primary key ("name"));`);

    this.addSql(`create table "signing_key" ("id" varchar(64) not null, "alg" varchar(8) not null, "private_key_pem" text not null, "public_jwk" jsonb not null, "created_at" timestamptz not null, "retired_at" timestamptz null, constraint "signing_key_pkey" primary key ("id"));`);

    this.addSql(`create table "session" ("id" uuid not null, "app_id" uuid not null, "user_id" uuid not null, "scope" varchar(255) not null, "auth_time" timestamptz not null, "registration_required" boolean not null default false, "created_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, "revoked_reason" varchar(32) null, "ip" varchar(64) null, "user_agent" varchar(255) null, constraint "session_pkey" primary key ("id"));`);
    this.addSql(`create index "session_user_idx" on "session" ("user_id");`);

    this.addSql(`create table "refresh_token" ("id" uuid not null, "session_id" uuid not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, constraint "refresh_token_pkey" primary key ("id"));`);
    this.addSql(`create index "refresh_token_session_idx" on "refresh_token" ("session_id");`);
    this.addSql(`alter table "refresh_token" add constraint "refresh_token_hash_unique" unique ("token_hash");`);

    this.addSql(`alter table "session" add constraint "session_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);
    this.addSql(`alter table "session" add constraint "session_user_id_foreign" foreign key ("user_id") references "user" ("id") on update cascade;`);

    this.addSql(`alter table "refresh_token" add constraint "refresh_token_session_id_foreign" foreign key ("session_id") references "session" ("id") on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "refresh_token" drop constraint "refresh_token_session_id_foreign";`);

    this.addSql(`drop table if exists "server_secret" cascade;`);

    this.addSql(`drop table if exists "signing_key" cascade;`);

    this.addSql(`drop table if exists "session" cascade;`);

    this.addSql(`drop table if exists "refresh_token" cascade;`);
  }

}
