import { EntitySchema } from '@mikro-orm/core';
import { App } from './app.entity';
import { User } from './user.entity';

/**
 * A provider account linked to a customer (SPEC §4.9). The key is the provider's
 * `(issuer, subject)` within the app — never the email, which providers let people change.
 * `provider` is the app's provider id at link time (what `unlinkIdentity` and
 * `User.identities` name); `email` and `emailVerified` are what the provider last said.
 */
export class UserIdentity {
  id!: string;
  app!: App;
  user!: User;
  provider!: string;
  issuer!: string;
  subject!: string;
  email?: string | null;
  emailVerified = false;
  linkedAt!: Date;
  lastSignInAt?: Date | null;
}

export const UserIdentitySchema = new EntitySchema<UserIdentity>({
  class: UserIdentity,
  tableName: 'user_identity',
  uniques: [
    { name: 'user_identity_app_issuer_subject_unique', properties: ['app', 'issuer', 'subject'] },
    // One account of each provider per customer: unlinkIdentity(provider) names exactly one.
    { name: 'user_identity_user_provider_unique', properties: ['user', 'provider'] },
  ],
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App, index: false },
    user: { kind: 'm:1', entity: () => User, index: false },
    provider: { type: 'string', length: 32 },
    issuer: { type: 'string', length: 255 },
    subject: { type: 'string', length: 255 },
    email: { type: 'string', length: 254, nullable: true },
    emailVerified: { type: 'boolean', default: false },
    linkedAt: { type: 'datetime' },
    lastSignInAt: { type: 'datetime', nullable: true },
  },
});

export type SocialChallengeKind = 'nonce' | 'redirect';

/**
 * What the gateway holds while a social sign-in is under way, single use: a nonce handed out
 * by `socialNonce` (10 minutes), or the state of a web redirect (its nonce, PKCE verifier,
 * the page to return to). Looked up by the SHA-256 of the nonce or state; consumed by a
 * conditional update on `used_at IS NULL`.
 */
export class SocialChallenge {
  id!: string;
  app!: App;
  provider!: string;
  kind!: SocialChallengeKind;
  keyHash!: string;
  data: Record<string, unknown> = {};
  createdAt!: Date;
  expiresAt!: Date;
  usedAt?: Date | null;
}

export const SocialChallengeSchema = new EntitySchema<SocialChallenge>({
  class: SocialChallenge,
  tableName: 'social_challenge',
  indexes: [{ name: 'social_challenge_expires_idx', properties: ['expiresAt'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    app: { kind: 'm:1', entity: () => App, index: false },
    provider: { type: 'string', length: 32 },
    kind: { type: 'string', length: 16 },
    keyHash: { type: 'string', length: 64, unique: 'social_challenge_key_hash_unique' },
    data: { type: 'json' },
    createdAt: { type: 'datetime' },
    expiresAt: { type: 'datetime' },
    usedAt: { type: 'datetime', nullable: true },
  },
});

/**
 * Provider tokens already accepted, kept until they expire: a token signs in once (SPEC
 * §4.9). The key is a hash of what makes a token one token — its issuer, subject and `jti`,
 * or, without a `jti`, its `iat` and nonce — so the same claims re-signed are a replay too.
 */
export class SocialTokenUse {
  keyHash!: string;
  app!: App;
  expiresAt!: Date;
}

export const SocialTokenUseSchema = new EntitySchema<SocialTokenUse>({
  class: SocialTokenUse,
  tableName: 'social_token_use',
  indexes: [{ name: 'social_token_use_expires_idx', properties: ['expiresAt'] }],
  properties: {
    keyHash: { type: 'string', length: 64, primary: true },
    app: { kind: 'm:1', entity: () => App, index: false },
    expiresAt: { type: 'datetime' },
  },
});
