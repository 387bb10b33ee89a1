import { EntitySchema } from '@mikro-orm/core';
import { App } from './app.entity';

/**
 * `pending`: waiting for its (next) attempt at `nextAttemptAt`; `sending`: claimed by a
 * worker until `lockedUntil` (past that, another worker may take it again); `delivered`;
 * `failed`: gave up after its retries (or its code expired first) — the code it carried is dead.
 */
export type OutboxStatus = 'pending' | 'sending' | 'delivered' | 'failed';

/**
 * One message of the courier's durable outbox (SPEC §6): written in the same transaction as
 * the code, token or account it belongs to, then delivered by the courier's worker (SMTP, SMS
 * webhook, or the development outbox, which prints it). The rendered text is kept while the
 * message waits; once a real provider took it (or it failed for good) the body is blanked, so
 * codes and links do not stay in the database. Development-outbox messages keep their body:
 * `gatehouse outbox` reads them.
 */
export class OutboxMessage {
  id!: string;
  app!: App;
  /** WEBHOOK: a security event for the app's webhookUrl (`to`), its JSON payload in `body` (SPEC §4.10). */
  channel!: 'EMAIL' | 'SMS' | 'WEBHOOK';
  to!: string;
  template!: string;
  subject?: string | null;
  body!: string;
  /** The sender's display name (the app's brand when the message was written); email only. */
  fromName!: string;
  createdAt!: Date;
  status: OutboxStatus = 'pending';
  /** Attempts started so far (each claim counts one). */
  attempts = 0;
  nextAttemptAt!: Date;
  lockedUntil?: Date | null;
  deliveredAt?: Date | null;
  /** The adapter that took it: `smtp`, `sms-webhook`, `outbox`. */
  via?: string | null;
  /** The provider's last refusal, for operators (never the message text). */
  lastError?: string | null;
  /** The one-time code (otp_challenge) or token (single_use_token) it carries; dead if it fails. */
  carrierId?: string | null;
  /** Not worth sending after this: the code or link it carries has expired. */
  expiresAt?: Date | null;
}

export const OutboxMessageSchema = new EntitySchema<OutboxMessage>({
  class: OutboxMessage,
  tableName: 'outbox_message',
  indexes: [
    { name: 'outbox_message_app_idx', properties: ['app'] },
    { name: 'outbox_message_due_idx', properties: ['status', 'nextAttemptAt'] },
  ],
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App, index: false },
    channel: { type: 'string', length: 8 },
    to: { type: 'string', length: 254 },
    template: { type: 'string', length: 32 },
    subject: { type: 'string', length: 255, nullable: true },
    body: { type: 'text' },
    fromName: { type: 'string', length: 255, default: '' },
    createdAt: { type: 'datetime' },
    status: { type: 'string', length: 16, default: 'pending' },
    attempts: { type: 'integer', default: 0 },
    nextAttemptAt: { type: 'datetime' },
    lockedUntil: { type: 'datetime', nullable: true },
    deliveredAt: { type: 'datetime', nullable: true },
    via: { type: 'string', length: 32, nullable: true },
    lastError: { type: 'string', length: 300, nullable: true },
    carrierId: { type: 'uuid', nullable: true },
    expiresAt: { type: 'datetime', nullable: true },
  },
});
