import { EntitySchema } from '@mikro-orm/core';
import { App } from './app.entity';

/**
 * One security event of an app's customer (SPEC §4.10): sign-up, sign-in, lockout, credential
 * and contact changes, suspension, deletion, refresh-token reuse. Written in the same
 * transaction as what it records (identity/events.ts). `detail` never holds secrets or contact
 * data (no email, phone, code, token or hash), so erasure keeps the event and clears `ip`.
 * `userId` is not a foreign key: the events of an erased user outlive it (its tombstone keeps the id).
 */
export class SecurityEvent {
  id!: string;
  app!: App;
  type!: string;
  userId?: string | null;
  ip?: string | null;
  at!: Date;
  detail: Record<string, unknown> = {};
}

export const SecurityEventSchema = new EntitySchema<SecurityEvent>({
  class: SecurityEvent,
  tableName: 'security_event',
  indexes: [
    { name: 'security_event_app_id_idx', properties: ['app', 'id'] },
    { name: 'security_event_user_idx', properties: ['userId'] },
    { name: 'security_event_at_idx', properties: ['at'] },
  ],
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App, index: false },
    type: { type: 'string', length: 32 },
    userId: { type: 'uuid', nullable: true },
    ip: { type: 'string', length: 64, nullable: true },
    at: { type: 'datetime' },
    detail: { type: 'json' },
  },
});
