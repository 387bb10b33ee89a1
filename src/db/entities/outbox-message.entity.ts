import { EntitySchema } from '@mikro-orm/core';
import { App } from './app.entity';

/**
 * A message of the development outbox (SPEC §6): when no provider is configured for a channel,
 * the courier stores the message here and prints it, so sign-up by code works with `npm start`
 * alone. Off in production, where no message text (codes, links) is ever written to the database.
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
  createdAt!: Date;
}

export const OutboxMessageSchema = new EntitySchema<OutboxMessage>({
  class: OutboxMessage,
  tableName: 'outbox_message',
  indexes: [{ name: 'outbox_message_app_idx', properties: ['app'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App, index: false },
    channel: { type: 'string', length: 8 },
    to: { type: 'string', length: 254 },
    template: { type: 'string', length: 32 },
    subject: { type: 'string', length: 255, nullable: true },
    body: { type: 'text' },
    createdAt: { type: 'datetime' },
  },
});
