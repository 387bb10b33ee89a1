import { EntitySchema } from '@mikro-orm/core';

export type SigningAlg = 'ES256' | 'RS256';

/**
 * A token-signing key pair. The newest un-retired key signs; retired keys keep verifying (and
 * stay in the JWKS) until every token they signed has expired.
 */
export class SigningKey {
  /** The JWK `kid`. */
  id!: string;
  alg!: SigningAlg;
  privateKeyPem!: string;
  publicJwk!: Record<string, unknown>;
  createdAt!: Date;
  retiredAt?: Date | null;
}

export const SigningKeySchema = new EntitySchema<SigningKey>({
  class: SigningKey,
  tableName: 'signing_key',
  properties: {
    id: { type: 'string', length: 64, primary: true },
    alg: { type: 'string', length: 8 },
    privateKeyPem: { type: 'text' },
    publicJwk: { type: 'json' },
    createdAt: { type: 'datetime' },
    retiredAt: { type: 'datetime', nullable: true },
  },
});

/**
 * Server-wide HMAC keys (derived refresh tokens, one-time codes), generated on first start
 * and shared through the database so every instance agrees.
 */
export class ServerSecret {
  name!: string;
  value!: string;
  createdAt!: Date;
}

export const ServerSecretSchema = new EntitySchema<ServerSecret>({
  class: ServerSecret,
  tableName: 'server_secret',
  properties: {
    name: { type: 'string', length: 64, primary: true },
    value: { type: 'string', length: 128 },
    createdAt: { type: 'datetime' },
  },
});
