import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { SigningKey, type SigningAlg } from '../../db/entities';
import type { Clock } from '../clock';

const generate = promisify(generateKeyPair);

export interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  /** KeyObjects, parsed once: jsonwebtoken re-parses PEM strings on every call. */
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: Record<string, unknown>;
  retiredAt: Date | null;
}

/** How long a retired key keeps verifying: past the longest access/id token lifetime (24 h). */
const RETIRED_KEY_LIFETIME_MS = 25 * 3600 * 1000;
/** Other instances start signing with a rotated key within this interval (verifying at once: see forKid). */
const RELOAD_INTERVAL_MS = 60_000;
/**
 * An unknown kid, or a JWKS request, re-reads the keys at most this often: made-up kids and an
 * unauthenticated endpoint cannot turn into a query per request.
 */
const FRESH_MS = 1_000;

/**
 * Token-signing keys, stored in the database (so every instance signs and verifies with the
 * same set) and held in memory as KeyObjects. `rotate` makes a new key the signer and retires
 * the old one, which stays in the JWKS until its tokens have expired.
 */
export class SigningKeys {
  private keys: LoadedKey[] = [];
  private loadedAt = 0;
  private reloading?: Promise<void>;

  constructor(
    private readonly orm: MikroORM,
    private readonly clock: Clock,
    private readonly defaultAlg: SigningAlg = 'ES256',
  ) {}

  /** Loads the keys, generating the first one on a fresh database. */
  async init(): Promise<void> {
    await this.reload();
    if (!this.keys.some((k) => !k.retiredAt)) {
      await this.rotate(this.defaultAlg);
    }
  }

  async rotate(alg: SigningAlg = this.defaultAlg): Promise<LoadedKey> {
    const em = this.orm.em.fork();
    const now = this.clock.now();
    const pair =
      alg === 'ES256'
        ? await generate('ec', { namedCurve: 'P-256' })
        : await generate('rsa', { modulusLength: 2048 });
    const kid = `${now.toISOString().slice(0, 10)}-${randomBytes(6).toString('hex')}`;
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
    await em.transactional(async (tx) => {
      await tx.nativeUpdate(SigningKey, { retiredAt: null }, { retiredAt: now });
      tx.create(SigningKey, {
        id: kid,
        alg,
        privateKeyPem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
        publicJwk: jwk,
        createdAt: now,
        retiredAt: null,
      });
    });
    await this.reload();
    return this.keys.find((k) => k.kid === kid)!;
  }

  /** The key that signs new tokens. */
  async current(): Promise<LoadedKey> {
    await this.maybeReload();
    const active = this.keys.find((k) => !k.retiredAt);
    if (!active) throw new Error('no active signing key; run gatehouse signing-key rotate');
    return active;
  }

  /** A key that may verify: active, or retired recently enough that its tokens may be live. */
  async forKid(kid: string): Promise<LoadedKey | undefined> {
    await this.maybeReload();
    let key = this.keys.find((k) => k.kid === kid);
    if (!key && this.sinceLoadMs() > FRESH_MS) {
      // Perhaps another instance rotated: look once (at most once a second).
      await this.reload();
      key = this.keys.find((k) => k.kid === kid);
    }
    return key && this.isLive(key) ? key : undefined;
  }

  /**
   * The public JWK Set: every key that may still verify a live token, at most a second old, so
   * every instance publishes a key within a second of any instance rotating to it (and other
   * instances sign with it only after RELOAD_INTERVAL_MS, or once they have seen it). The
   * answer says `max-age=300`: a verifier meeting an unknown kid fetches the set again.
   */
  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    if (this.sinceLoadMs() > FRESH_MS) await this.reload();
    return { keys: this.keys.filter((k) => this.isLive(k)).map((k) => k.jwk) };
  }

  private isLive(key: LoadedKey): boolean {
    return !key.retiredAt || this.clock.now().getTime() - key.retiredAt.getTime() < RETIRED_KEY_LIFETIME_MS;
  }

  private async maybeReload(): Promise<void> {
    if (this.sinceLoadMs() > RELOAD_INTERVAL_MS) await this.reload();
  }

  /** On the injected clock (tests move it; either way counts, should it move back). */
  private sinceLoadMs(): number {
    return Math.abs(this.clock.now().getTime() - this.loadedAt);
  }

  private reload(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const em: EntityManager = this.orm.em.fork();
        const rows = await em.find(SigningKey, {}, { orderBy: { createdAt: 'desc' } });
        const known = new Map(this.keys.map((k) => [k.kid, k]));
        this.keys = rows.map((row) => {
          // A key's material never changes: parse each PEM once, take only retiredAt anew.
          const loaded = known.get(row.id);
          if (loaded) return { ...loaded, retiredAt: row.retiredAt ?? null };
          const privateKey = createPrivateKey(row.privateKeyPem);
          return { kid: row.id, alg: row.alg, privateKey, publicKey: createPublicKey(privateKey), jwk: row.publicJwk, retiredAt: row.retiredAt ?? null };
        });
        this.loadedAt = this.clock.now().getTime();
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }
}
