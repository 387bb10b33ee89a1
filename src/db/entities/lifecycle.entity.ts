import { EntitySchema } from '@mikro-orm/core';
import { App } from './app.entity';
import { User } from './user.entity';

/**
 * What is left of an erased customer (SPEC §4.10): the id and the time, nothing else. Lets
 * a partner tell "deleted" from "never existed" by id, and keeps the id of the events that
 * outlive the account meaningful.
 */
export class UserTombstone {
  id!: string;
  deletedAt!: Date;
}

export const UserTombstoneSchema = new EntitySchema<UserTombstone>({
  class: UserTombstone,
  tableName: 'user_tombstone',
  properties: {
    id: { type: 'uuid', primary: true },
    deletedAt: { type: 'datetime' },
  },
});

export type ContactKind = 'email' | 'phone';

/**
 * A change of email or phone waiting for its code (SPEC §4.10, Menu.app's
 * `has_pending_email_change`). One per user: a new request replaces it, of either kind, so
 * `confirmContactChange(code)` always knows which address the code was sent to. The code
 * itself is an otp_challenge of purpose CONTACT_CHANGE on `destination`.
 */
export class ContactChange {
  id!: string;
  app!: App;
  user!: User;
  kind!: ContactKind;
  /** As it will be stored: the email as typed (NFC), or the E.164 phone number. */
  address!: string;
  /** The lookup key (normalised email or E.164): the challenge's destination and the unique index's value. */
  destination!: string;
  createdAt!: Date;
  expiresAt!: Date;
}

export const ContactChangeSchema = new EntitySchema<ContactChange>({
  class: ContactChange,
  tableName: 'contact_change',
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App, index: false },
    user: { kind: 'm:1', entity: () => User, unique: 'contact_change_user_unique' },
    kind: { type: 'string', length: 8 },
    address: { type: 'string', length: 254 },
    destination: { type: 'string', length: 254 },
    createdAt: { type: 'datetime' },
    expiresAt: { type: 'datetime' },
  },
});

/**
 * An app's webhook signing secret (SPEC §4.10), encrypted under a server key (AES-256-GCM):
 * it must be readable to sign each delivery, so it cannot be a hash. Shown once when made.
 */
export class AppWebhookSecret {
  appId!: string;
  secretEncrypted!: string;
  createdAt!: Date;
}

export const AppWebhookSecretSchema = new EntitySchema<AppWebhookSecret>({
  class: AppWebhookSecret,
  tableName: 'app_webhook_secret',
  properties: {
    appId: { type: 'uuid', primary: true },
    secretEncrypted: { type: 'string', length: 255 },
    createdAt: { type: 'datetime' },
  },
});
