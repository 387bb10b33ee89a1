import type { EntityManager } from '@mikro-orm/core';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SEALED_PREFIX, type SocialProviderSettings } from '../../config/social-providers';
import type { ServerSecrets } from '../server-secrets';

const KEY_NAME = 'social-client-secret-key';
/** Binds a sealed value to its use: the same key never opens something sealed for another purpose. */
const AAD = Buffer.from('gatehouse social provider clientSecret v1');

/**
 * Provider client secrets (a Google client secret, a Facebook app secret, Apple's client-secret
 * JWT) at rest: AES-256-GCM under a server secret that every instance shares through the
 * database (ServerSecrets). The app row holds only `sealed:v1:<iv>.<ciphertext>.<tag>`; the
 * secret is opened in memory when a provider call needs it and never returned or logged.
 */
export class SecretBox {
  constructor(private readonly secrets: ServerSecrets) {}

  async seal(em: EntityManager, plain: string): Promise<string> {
    const key = await this.secrets.get(em, KEY_NAME);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(AAD);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${SEALED_PREFIX}${iv.toString('base64url')}.${body.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  async open(em: EntityManager, sealed: string): Promise<string> {
    const [iv, body, tag] = sealed.slice(SEALED_PREFIX.length).split('.');
    if (!sealed.startsWith(SEALED_PREFIX) || !iv || !body || !tag) throw new Error('not a sealed secret');
    const key = await this.secrets.get(em, KEY_NAME);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(AAD);
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  /**
   * Seals the plain `clientSecret`s of a settings patch before it is validated and stored
   * (AppService calls this). In `socialProviders` a `clientSecret` string is the secret as the
   * provider issued it; an entry without `clientSecret` keeps the one stored for the same
   * provider id (secrets are never shown, so nobody could send them back); `null` removes it.
   */
  async sealSettingsPatch(em: EntityManager, patch: unknown, stored: { socialProviders: SocialProviderSettings[] }): Promise<unknown> {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
    const providers = (patch as Record<string, unknown>).socialProviders;
    if (!Array.isArray(providers)) return patch;
    const sealed = await Promise.all(
      providers.map(async (entry) => {
        if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return entry;
        const provider = entry as Record<string, unknown>;
        if (typeof provider.clientSecret === 'string') {
          if (provider.clientSecret.length < 1 || provider.clientSecret.length > 4096) return { ...provider, clientSecret: 1 }; // refused by the validator
          return { ...provider, clientSecret: await this.seal(em, provider.clientSecret) };
        }
        if (provider.clientSecret === undefined) {
          const previous = stored.socialProviders.find((p) => p.id === provider.id);
          return { ...provider, clientSecret: previous?.clientSecret ?? null };
        }
        return provider;
      }),
    );
    return { ...(patch as Record<string, unknown>), socialProviders: sealed };
  }
}
