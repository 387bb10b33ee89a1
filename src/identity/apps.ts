import type { EntityManager } from '@mikro-orm/core';
import { DEFAULT_APP_SETTINGS, mergeAppSettings, readAppSettings, type AppSettings } from '../config/app-settings';
import { ApiKey, App, type ApiKeyKind } from '../db/entities';
import { HotStore, type AppRecord, type KeyRecord } from '../db/fast';
import { AppError, badInput } from '../errors';
import type { Clock } from './clock';
import { newId, randomSecret, sha256 } from './secrets';
import type { SecretBox } from './social/secret-box';

export interface IssuedKey {
  id: string;
  kind: ApiKeyKind;
  /** The whole key: shown once, never stored. */
  key: string;
}

export interface KeyOwner {
  /** The key cache's record, shared and frozen: not an entity (em.getReference(App, app.id) for a relation). */
  app: AppRecord;
  settings: AppSettings;
  kind: ApiKeyKind;
  keyId: string;
}

/** Outcome of checking a presented API key; `reason` is UNAUTHENTICATED's (SPEC §1). */
export type KeyCheck = { ok: true; owner: KeyOwner } | { ok: false; reason: 'invalid_key' | 'revoked_key' };

type CachedKey = KeyRecord & { settings: AppSettings; cachedUntil: number };
const KEY_CACHE_TTL_MS = 5_000;
const KEY_CACHE_MAX = 10_000;

const KEY_PREFIX: Record<ApiKeyKind, string> = { publishable: 'pk_', secret: 'sk_' };
/** 24 random bytes = 192 bits, above the 128 the SPEC asks for. */
const KEY_BYTES = 24;

/** Apps (tenants) and their API keys (SPEC §1). */
export class AppService {
  /**
   * Verified keys (by hash) with their app row, for a few seconds: the key check is one query on
   * every keyed request. A revocation or settings change made through this process applies at
   * once; one made by another process (the CLI, another instance) within KEY_CACHE_TTL_MS.
   */
  private readonly keyCache = new Map<string, CachedKey>();

  /** Parsed settings by app id + updatedAt, so the hot path does not re-validate JSON per request. */
  private readonly settingsCache = new Map<string, { stamp: number; settings: AppSettings }>();

  /** App records by id, each valid while the row's updatedAt is the one it was read at (appAsOf). */
  private readonly appRecords = new Map<string, { app: AppRecord; settings: AppSettings }>();

  /** Seals provider client secrets in a settings patch before it is validated and stored (social sign-in). */
  secretBox?: SecretBox;

  constructor(private readonly clock: Clock) {}

  async createApp(em: EntityManager, name: string, settingsPatch: unknown = {}): Promise<{ app: App; publishable: IssuedKey; secret: IssuedKey }> {
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > 100) throw badInput('name', 'app name must be 1 to 100 characters');
    const patch = this.secretBox ? await this.secretBox.sealSettingsPatch(em, settingsPatch, DEFAULT_APP_SETTINGS) : settingsPatch;
    const settings = mergeAppSettings(DEFAULT_APP_SETTINGS, patch);
    const now = this.clock.now();
    const app = em.create(App, { id: newId(), name: trimmed, settings: { ...settings }, createdAt: now, updatedAt: now });
    const publishable = this.newKey(em, app, 'publishable');
    const secret = this.newKey(em, app, 'secret');
    await em.flush();
    return { app, publishable, secret };
  }

  async updateSettings(em: EntityManager, appId: string, settingsPatch: unknown): Promise<AppSettings> {
    const app = await this.requireApp(em, appId);
    const stored = readAppSettings(app.settings);
    const patch = this.secretBox ? await this.secretBox.sealSettingsPatch(em, settingsPatch, stored) : settingsPatch;
    const settings = mergeAppSettings(stored, patch);
    app.settings = { ...settings };
    app.updatedAt = this.clock.now();
    await em.flush();
    this.forgetKeys((cached) => cached.app.id === appId);
    return settings;
  }

  async createKey(em: EntityManager, appId: string, kind: ApiKeyKind): Promise<IssuedKey> {
    if (kind !== 'publishable' && kind !== 'secret') throw badInput('kind', 'kind must be publishable or secret');
    const app = await this.requireApp(em, appId);
    const issued = this.newKey(em, app, kind);
    await em.flush();
    return issued;
  }

  /** Revokes a key at once; returns false when there is no such live key. */
  async revokeKey(em: EntityManager, keyId: string): Promise<boolean> {
    if (!isUuid(keyId)) return false;
    const key = await em.findOne(ApiKey, { id: keyId, revokedAt: null });
    if (!key) return false;
    key.revokedAt = this.clock.now();
    await em.flush();
    this.forgetKeys((cached) => cached.keyId === keyId);
    return true;
  }

  async findAppByName(em: EntityManager, name: string): Promise<App | null> {
    return em.findOne(App, { name });
  }

  /**
   * The API-key check on every keyed request: one indexed lookup by the key's hash, joined
   * with its app, on the prepared path (db/fast). The hash is of a 192-bit random value, so
   * the index lookup reveals nothing an attacker could use and no constant-time comparison of
   * the key itself is needed. A failure says whether the key was never ours or has been
   * revoked (SPEC §1's reasons).
   */
  async checkKey(em: EntityManager, presented: string): Promise<KeyCheck> {
    const kind: ApiKeyKind | null = presented.startsWith('pk_') ? 'publishable' : presented.startsWith('sk_') ? 'secret' : null;
    if (!kind || presented.length > 100) return { ok: false, reason: 'invalid_key' };
    const hash = sha256(presented);
    const cached = this.keyCache.get(hash);
    const key = cached && cached.cachedUntil > Date.now() ? cached : await this.loadKey(em, hash);
    if (!key || key.kind !== kind) return { ok: false, reason: 'invalid_key' };
    if (key.revoked) return { ok: false, reason: 'revoked_key' };
    return { ok: true, owner: { app: key.app, settings: key.settings, kind, keyId: key.keyId } };
  }

  /** The owner of a live key, or null. */
  async authenticateKey(em: EntityManager, presented: string): Promise<KeyOwner | null> {
    const checked = await this.checkKey(em, presented);
    return checked.ok ? checked.owner : null;
  }

  /** One joined read of a key (live or revoked) and its app, remembered (with the parsed settings) for KEY_CACHE_TTL_MS. */
  private async loadKey(em: EntityManager, hash: string): Promise<CachedKey | undefined> {
    const fresh = await HotStore.of(em).keyWithApp(em, hash);
    if (!fresh) {
      this.keyCache.delete(hash);
      return undefined;
    }
    if (this.keyCache.size >= KEY_CACHE_MAX) this.keyCache.clear();
    // The app record is every request's `Caller.app` for KEY_CACHE_TTL_MS: read-only, never an entity.
    Object.freeze(fresh.app.settings);
    const key: CachedKey = { ...fresh, app: Object.freeze(fresh.app), settings: this.settingsOf(fresh.app), cachedUntil: Date.now() + KEY_CACHE_TTL_MS };
    this.keyCache.set(hash, key);
    return key;
  }

  private forgetKeys(match: (cached: CachedKey) => boolean): void {
    for (const [hash, cached] of this.keyCache) if (match(cached)) this.keyCache.delete(hash);
  }

  /**
   * The app and its parsed settings as of `updatedAt`, read in the caller's own row (the bearer
   * check's session): remembered per app and re-read only when the app has changed since, so a
   * bearer request maps no app row and parses no settings, and an edit from any process shows
   * at the next request. Undefined when the app is gone.
   */
  async appAsOf(em: EntityManager, appId: string, updatedAt: Date): Promise<{ app: AppRecord; settings: AppSettings } | undefined> {
    const cached = this.appRecords.get(appId);
    if (cached && cached.app.updatedAt.getTime() === updatedAt.getTime()) return cached;
    const app = await HotStore.of(em).appById(em, appId);
    if (!app) return undefined;
    // Every bearer request's `Caller.app` until the app changes: read-only, never an entity.
    Object.freeze(app.settings);
    const entry = { app: Object.freeze(app), settings: this.settingsOf(app) };
    if (this.appRecords.size >= KEY_CACHE_MAX) this.appRecords.clear();
    this.appRecords.set(appId, entry);
    return entry;
  }

  settingsOf(app: AppRecord): AppSettings {
    const stamp = app.updatedAt.getTime();
    const cached = this.settingsCache.get(app.id);
    if (cached && cached.stamp === stamp) return cached.settings;
    const settings = readAppSettings(app.settings);
    this.settingsCache.set(app.id, { stamp, settings });
    return settings;
  }

  async requireApp(em: EntityManager, appId: string): Promise<App> {
    const app = isUuid(appId) ? await em.findOne(App, { id: appId }) : null;
    if (!app) throw new AppError('BAD_USER_INPUT', `no app with id ${appId}`, { field: 'appId' });
    return app;
  }

  private newKey(em: EntityManager, app: App, kind: ApiKeyKind): IssuedKey {
    const key = KEY_PREFIX[kind] + randomSecret(KEY_BYTES);
    const id = newId();
    em.create(ApiKey, { id, app, kind, keyHash: sha256(key), prefix: key.slice(0, 10), createdAt: this.clock.now(), revokedAt: null });
    return { id, kind, key };
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
