import { EntitySchema } from '@mikro-orm/core';
import { App } from './app.entity';
import { User } from './user.entity';

/**
 * A signed-in session: one refresh-token family. Access tokens carry its id (`sid`) and every
 * bearer request checks it is still live, so revoking it (logout, reuse detection, password
 * change) ends the session at once.
 */
export class Session {
  id!: string;
  app!: App;
  user!: User;
  scope!: string;
  /** When the user proved who they are (OIDC auth_time). */
  authTime!: Date;
  /** Autologin with skipRegistration false: the client must show the registration form. */
  registrationRequired = false;
  createdAt!: Date;
  /** The last sign-in or refresh of this session (access tokens are checked without a write). */
  lastUsedAt?: Date | null;
  expiresAt!: Date;
  revokedAt?: Date | null;
  revokedReason?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export const SessionSchema = new EntitySchema<Session>({
  class: Session,
  tableName: 'session',
  indexes: [{ name: 'session_user_idx', properties: ['user'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App },
    user: { kind: 'm:1', entity: () => User, index: false },
    scope: { type: 'string', length: 255 },
    authTime: { type: 'datetime' },
    registrationRequired: { type: 'boolean', default: false },
    createdAt: { type: 'datetime' },
    lastUsedAt: { type: 'datetime', nullable: true },
    expiresAt: { type: 'datetime' },
    revokedAt: { type: 'datetime', nullable: true },
    revokedReason: { type: 'string', length: 32, nullable: true },
    ip: { type: 'string', length: 64, nullable: true },
    userAgent: { type: 'string', length: 255, nullable: true },
  },
});

/**
 * One refresh token of a session's family, stored as its SHA-256 only. `usedAt` is set when
 * it is rotated; presenting it again after the grace interval revokes the whole family.
 */
export class RefreshToken {
  id!: string;
  session!: Session;
  tokenHash!: string;
  createdAt!: Date;
  expiresAt!: Date;
  usedAt?: Date | null;
}

export const RefreshTokenSchema = new EntitySchema<RefreshToken>({
  class: RefreshToken,
  tableName: 'refresh_token',
  properties: {
    id: { type: 'uuid', primary: true },
    session: { kind: 'm:1', entity: () => Session, index: 'refresh_token_session_idx' },
    tokenHash: { type: 'string', length: 64, unique: 'refresh_token_hash_unique' },
    createdAt: { type: 'datetime' },
    expiresAt: { type: 'datetime' },
    usedAt: { type: 'datetime', nullable: true },
  },
});
