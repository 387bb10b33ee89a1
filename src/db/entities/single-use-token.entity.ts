import { EntitySchema } from '@mikro-orm/core';
import { App } from './app.entity';
import { User } from './user.entity';

export type SingleUseTokenPurpose = 'password_reset' | 'login_ticket';

/**
 * Short-lived, single-use secrets handed to a user out of band: password-reset verification
 * strings and autologin tickets (`lt`). Only the SHA-256 is stored; consuming one is a
 * conditional update on `used_at IS NULL`, so it can be used once however many race for it.
 */
export class SingleUseToken {
  id!: string;
  app!: App;
  user!: User;
  purpose!: SingleUseTokenPurpose;
  tokenHash!: string;
  /** Purpose-specific extras, e.g. `{ registrationRequired: true }` for a login ticket. */
  data: Record<string, unknown> = {};
  createdAt!: Date;
  expiresAt!: Date;
  usedAt?: Date | null;
}

export const SingleUseTokenSchema = new EntitySchema<SingleUseToken>({
  class: SingleUseToken,
  tableName: 'single_use_token',
  indexes: [{ name: 'single_use_token_user_idx', properties: ['user'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App, index: false },
    user: { kind: 'm:1', entity: () => User, index: false },
    purpose: { type: 'string', length: 32 },
    tokenHash: { type: 'string', length: 64, unique: 'single_use_token_hash_unique' },
    data: { type: 'json' },
    createdAt: { type: 'datetime' },
    expiresAt: { type: 'datetime' },
    usedAt: { type: 'datetime', nullable: true },
  },
});

/** A recorded acceptance of legal documents (Menu.app sign-up), per device. */
export class LegalAcceptance {
  id!: string;
  app!: App;
  user!: User;
  deviceUuid!: string;
  documents!: string[];
  acceptedAt!: Date;
}

export const LegalAcceptanceSchema = new EntitySchema<LegalAcceptance>({
  class: LegalAcceptance,
  tableName: 'legal_acceptance',
  indexes: [{ name: 'legal_acceptance_user_idx', properties: ['user'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App, index: false },
    user: { kind: 'm:1', entity: () => User, index: false },
    deviceUuid: { type: 'string', length: 64 },
    documents: { type: 'json' },
    acceptedAt: { type: 'datetime' },
  },
});
