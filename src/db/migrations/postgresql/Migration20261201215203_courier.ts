import { Migration } from '@mikro-orm/migrations';

export class Migration20261201215203_courier extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "outbox_message" add column "from_name" varchar(255) not null default '', add column "status" varchar(16) not null default 'pending', add column "attempts" int not null default 0, add column "next_attempt_at" timestamptz null, add column "locked_until" timestamptz null, add column "delivered_at" timestamptz null, add column "via" varchar(32) null, add column "last_error" varchar(300) null, add column "carrier_id" uuid null, add column "expires_at" timestamptz null;`);
    // Rows from before the courier were development-outbox messages, printed when written.
    this.addSql(`update "outbox_message" set "status" = 'delivered', "attempts" = 1, "via" = 'outbox', "next_attempt_at" = "created_at", "delivered_at" = "created_at";`);
    this.addSql(`alter table "outbox_message" alter column "next_attempt_at" set not null;`);
    this.addSql(`create index "outbox_message_due_idx" on "outbox_message" ("status", "next_attempt_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "outbox_message_due_idx";`);
    this.addSql(`alter table "outbox_message" drop column "from_name", drop column "status", drop column "attempts", drop column "next_attempt_at", drop column "locked_until", drop column "delivered_at", drop column "via", drop column "last_error", drop column "carrier_id", drop column "expires_at";`);
  }

}
