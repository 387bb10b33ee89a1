import type { EntityManager } from '@mikro-orm/core';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppWebhookSecret } from '../../db/entities';
import type { Clock } from '../clock';
import { randomSecret } from '../secrets';
import type { ServerSecrets } from '../server-secrets';

/** Name of the server key the webhook secrets are encrypted under (see ServerSecrets). */
export const WEBHOOK_SECRET_KEY = 'webhook-secret-encryption';
const PREFIX = 'whsec_';

/**
 * Each app's webhook signing secret (SPEC §4.10): random (256 bits), shown once when made,
 * stored encrypted with AES-256-GCM under a server key — it has to be read back to sign each
 * delivery, so a hash would not do. `gatehouse app webhook-secret APP_ID` makes (or replaces)
 * one; `gatehouse app create|update` makes one when the settings name a webhookUrl and the app
 * has none yet.
 */
export class WebhookSecrets {
  constructor(
    private readonly clock: Clock,
    private readonly secrets: ServerSecrets,
  ) {}

  /** A new secret for the app, replacing any previous one at once; the only time it is shown. */
  async rotate(em: EntityManager, appId: string): Promise<string> {
    const secret = PREFIX + randomSecret(32);
    const key = await this.secrets.get(em, WEBHOOK_SECRET_KEY);
    // One transaction: the old secret never goes without the new one in its place.
    await em.fork().transactional(async (tx) => {
      await tx.nativeDelete(AppWebhookSecret, { appId });
      await tx.insert(AppWebhookSecret, { appId, secretEncrypted: encrypt(key, secret, appId), createdAt: this.clock.now() });
    });
    return secret;
  }

  /** A secret only when the app has none yet (null otherwise: the existing one stays, unseen). */
  async ensure(em: EntityManager, appId: string): Promise<string | null> {
    const existing = await em.fork().findOne(AppWebhookSecret, { appId });
    return existing ? null : this.rotate(em, appId);
  }

  /** The app's secret for signing, or null when it has none. */
  async get(em: EntityManager, appId: string): Promise<string | null> {
    const row = await em.fork().findOne(AppWebhookSecret, { appId });
    if (!row) return null;
    return decrypt(await this.secrets.get(em, WEBHOOK_SECRET_KEY), row.secretEncrypted, appId);
  }
}

/** `v1.<iv>.<tag>.<ciphertext>` (base64url), the app id as associated data: a row copied to another app does not decrypt. */
function encrypt(key: Buffer, plain: string, appId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(appId));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

function decrypt(key: Buffer, stored: string, appId: string): string {
  const [version, iv, tag, body] = stored.split('.');
  if (version !== 'v1' || !iv || !tag || !body) throw new Error('webhook secret: unknown storage format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(appId));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}
