import { Migration } from '@mikro-orm/migrations';

/**
 * Generated on a scratch schema, then cleaned by hand: the diff also saw another run's test
 * schema in the same database and qualified every name; only our tables remain, unqualified.
 */
export class Migration20261201221412_lifecycle extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "app_webhook_secret" ("app_id" uuid not null, "secret_encrypted" varchar(255) not null, "created_at" timestamptz not null, constraint "app_webhook_secret_pkey" primary key ("app_id"));`);

    this.addSql(`create table "security_event" ("id" uuid not null, "app_id" uuid not null, "type" varchar(32) not null, "user_id" uuid null, "ip" varchar(64) null, "at" timestamptz not null, "detail" jsonb not null, constraint "security_event_pkey" primary key ("id"));`);
    this.addSql(`create index "security_event_app_id_idx" on "security_event" ("app_id", "id");`);
    this.addSql(`create index "security_event_user_idx" on "security_event" ("user_id");`);
    this.addSql(`create index "security_event_at_idx" on "security_event" ("at");`);

    this.addSql(`create table "contact_change" ("id" uuid not null, "app_id" uuid not null, "user_id" uuid not null, "kind" varchar(8) not null, "address" varchar(254) not null, "destination" varchar(254) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, constraint "contact_change_pkey" primary key ("id"));`);
    this.addSql(`alter table "contact_change" add constraint "contact_change_user_unique" unique ("user_id");`);

    this.addSql(`create table "user_tombstone" ("id" uuid not null, "deleted_at" timestamptz not null, constraint "user_tombstone_pkey" primary key ("id"));`);

    this.addSql(`alter table "security_event" add constraint "security_event_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);

    this.addSql(`alter table "contact_change" add constraint "contact_change_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);
    this.addSql(`alter table "contact_change" add constraint "contact_change_user_id_foreign" foreign key ("user_id") references "user" ("id") on update cascade;`);

    this.addSql(`alter table "session" add column "last_used_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "app_webhook_secret" cascade;`);
    this.addSql(`drop table if exists "security_event" cascade;`);
    this.addSql(`drop table if exists "contact_change" cascade;`);
    this.addSql(`drop table if exists "user_tombstone" cascade;`);
    this.addSql(`alter table "session" drop column "last_used_at";`);
  }

}
