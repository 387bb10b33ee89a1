import type { EntityManager } from '@mikro-orm/core';
import { App, SingleUseToken, User, type SingleUseTokenPurpose } from '../db/entities';
import { HotStore, type SingleUseRecord } from '../db/fast';
import type { Clock } from './clock';
import { newId, randomSecret, sha256 } from './secrets';

/**
 * Issue and consume single-use secrets (reset verification strings, login tickets). Stored as
 * SHA-256 only; consumption is one conditional UPDATE, so two concurrent uses cannot both win.
 */
export class SingleUseTokens {
  constructor(private readonly clock: Clock) {}

  async issue(
    em: EntityManager,
    purpose: SingleUseTokenPurpose,
    prefix: string,
    appId: string,
    userId: string,
    ttlSeconds: number,
    data: Record<string, unknown> = {},
  ): Promise<{ token: string; id: string; expiresAt: Date }> {
    const token = prefix + randomSecret(32);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    const id = newId();
    // One native INSERT (no unit-of-work pass): inside the caller's transaction when there is one.
    await em.insert(SingleUseToken, { id, app: em.getReference(App, appId), user: em.getReference(User, userId), purpose, tokenHash: sha256(token), data, createdAt: now, expiresAt, usedAt: null });
    return { token, id, expiresAt };
  }

  /** A live token of this app and purpose, with its user, left unused; null when unknown, expired, or already used. */
  async peek(em: EntityManager, purpose: SingleUseTokenPurpose, appId: string, presented: string): Promise<SingleUseToken | null> {
    if (presented.length < 10 || presented.length > 200) return null;
    const row = await em.findOne(SingleUseToken, { tokenHash: sha256(presented), purpose, app: appId }, { populate: ['user'] });
    return row && this.live(row) ? row : null;
  }

  /**
   * The app a live token of this purpose was issued in, whichever app that is; null when
   * unknown, expired, or already used. For callers that hold only the token (the gateway's
   * reset page): the token, 256 random bits, is then the credential, as a key is elsewhere.
   */
  async appOf(em: EntityManager, purpose: SingleUseTokenPurpose, presented: string): Promise<App | null> {
    if (presented.length < 10 || presented.length > 200) return null;
    const row = await em.findOne(SingleUseToken, { tokenHash: sha256(presented), purpose }, { populate: ['app'] });
    return row && this.live(row) ? row.app : null;
  }

  private live(row: SingleUseToken): boolean {
    return !row.usedAt && row.expiresAt > this.clock.now();
  }

  /**
   * Consumes a live token of this app and purpose in one conditional update on the prepared
   * path (db/fast); null when unknown, expired, or already used. The record names its user by
   * id: the caller loads what it needs of them.
   */
  async consume(em: EntityManager, purpose: SingleUseTokenPurpose, appId: string, presented: string): Promise<SingleUseRecord | null> {
    if (presented.length < 10 || presented.length > 200) return null;
    return (await HotStore.of(em).consumeSingleUse(em, purpose, appId, sha256(presented), this.clock.now())) ?? null;
  }

  /** Retires a user's unused tokens of one purpose (a new reset link replaces older ones). */
  async retireAll(em: EntityManager, purpose: SingleUseTokenPurpose, userId: string): Promise<void> {
    await em.nativeUpdate(SingleUseToken, { user: userId, purpose, usedAt: null }, { usedAt: this.clock.now() });
  }
}
