import { Migration } from '@mikro-orm/migrations';

export class Migration20261123113929_codes extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "otp_challenge" ("id" uuid not null, "app_id" uuid not null, "destination" varchar(254) not null, "channel" varchar(8) not null, "purpose" varchar(16) not null, "user_id" uuid null, "code_hash" varchar(64) not null, "attempts" int not null default 0, "created_at" timestamptz not null, "expires_at" timestamptz not null, "consumed_at" timestamptz null, constraint "otp_challenge_pkey" primary key ("id"));`);
    this.addSql(`alter table "otp_challenge" add constraint "otp_challenge_app_destination_unique" unique ("app_id", "destination");`);

    this.addSql(`create table "outbox_message" ("id" uuid not null, "app_id" uuid not null, "channel" varchar(8) not null, "to" varchar(254) not null, "template" varchar(32) not null, "subject" varchar(255) null, "body" text not null, "created_at" timestamptz not null, constraint "outbox_message_pkey" primary key ("id"));`);
    this.addSql(`create index "outbox_message_app_idx" on "outbox_message" ("app_id");`);

    this.addSql(`alter table "otp_challenge" add constraint "otp_challenge_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);

    this.addSql(`alter table "outbox_message" add constraint "outbox_message_app_id_foreign" foreign key ("app_id") references "app" ("id") on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "otp_challenge" cascade;`);

    this.addSql(`drop table if exists "outbox_message" cascade;`);
  }

}
