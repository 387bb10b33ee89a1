import type { EntityManager } from '@mikro-orm/core';
import { createHmac } from 'node:crypto';
import type { User } from '../db/entities';
import { HotStore, type HotSecurityEvent, type NewRefreshToken, type NewSession, type UserRecord, type VerifiedIdentity } from '../db/fast';
import { inTransaction } from '../db/transaction';
import { MAX_SCOPE_LENGTH, SCOPE_TOKEN, type AppSettings } from '../config/app-settings';
import { AppError, badInput } from '../errors';
import { PARTICIPANT_SCOPE, type BearerCaller, type InvalidCaller } from './caller';
import type { AppService } from './apps';
import type { Clock } from './clock';
import type { SecurityEvents } from './events';
import { newId, randomSecret, sha256 } from './secrets';
import type { ServerSecrets } from './server-secrets';
import type { JwtService, SessionClaimsSource } from './tokens/jwt';
import type { Tenant } from './users';

export interface AuthResult {
  accessToken: string;
  expiresIn: number;
  expiresAt: Date;
  /** Null for a participant session (client-side autologin): it cannot be renewed. */
  refreshToken: string | null;
  refreshExpiresIn: number | null;
  /** The OpenID Connect id token, signed when first called (the same token on every call): see JwtService.idToken. */
  idToken: () => Promise<string>;
  scope: string;
  registrationRequired: boolean;
  user: SignedInUser;
}

/** A user who just signed in: the entity a flow holds, or the record the prepared path read (db/fast). */
export type SignedInUser = User | UserRecord;

export interface SignInMeta {
  ip?: string | null;
  userAgent?: string | null;
  /** Space-separated scopes the client asks for: a subset of the app's allowedScopes (SPEC §2). */
  scope?: string | null;
  registrationRequired?: boolean;
  /** A participant session (client-side autologin, SPEC §4.8): scope `participant`, no refresh token. */
  participant?: boolean;
  /** What the code that proved this sign-in marks on the account (validateOtp): written with the session. */
  verified?: VerifiedIdentity;
}

/** A session written but not yet answered: `sign()` issues its tokens (after the commit). */
export interface OpenedSession {
  sign(): Promise<AuthResult>;
}

/** Refresh tokens presented again within this interval get the same child back (a client racing itself). */
export const REFRESH_GRACE_MS = 10_000;
const REFRESH_PREFIX = 'rt_';

/**
 * Sessions and their token families (SPEC §2).
 *
 * A refresh token's child is derived, not random: child = HMAC(server key, parent). So the
 * database keeps only hashes, yet a client that presents the same parent twice within the
 * grace interval can be handed the very same child again. After the grace interval a
 * rotated token presented again is theft: the whole family (session) is revoked.
 */
export class SessionService {
  /** Security events (SPEC §4.10): a new session is `login.succeeded`, a reused refresh token `refresh_token.reused`. Set in app.ts. */
  events?: SecurityEvents;

  constructor(
    private readonly clock: Clock,
    private readonly jwt: JwtService,
    private readonly secrets: ServerSecrets,
    private readonly apps: AppService,
  ) {}

  /**
   * Starts a session for a user who just proved who they are. A participant session (client-side
   * autologin) gets no refresh token and lives only as long as its access token.
   *
   * The session and its refresh token are written on the prepared path (db/fast), inside `em`'s
   * transaction when it has one (then they commit or roll back with the caller's writes; `em`
   * must be that transaction's, never the request's outer one: bench/README.md, "Two doors").
   * `user` is the entity a flow holds or the record the prepared path read; whatever the
   * request's unit of work still has to write (a password hash upgraded at login, anything a
   * caller edited) commits in the same transaction as the session, as one flush did, and so
   * does `meta.verified` (what a one-time code proved, on the prepared path).
   */
  async signIn(em: EntityManager, tenant: Tenant, user: SignedInUser, meta: SignInMeta = {}): Promise<AuthResult> {
    return (await this.openSession(em, tenant, user, meta)).sign();
  }

  /**
   * signIn's writes only (the session, its first refresh token and its `login.succeeded`, on the
   * prepared path, with what `em` still has pending), for a caller that commits them with other
   * writes: call `sign()` once that transaction committed. Tokens are signed outside the
   * transaction, which must not wait on anything but its own statements (on SQLite it holds the
   * only connection).
   */
  async openSession(em: EntityManager, tenant: Tenant, user: SignedInUser, meta: SignInMeta = {}): Promise<OpenedSession> {
    if (user.suspended) throw new AppError('ACCOUNT_SUSPENDED');
    const now = this.clock.now();
    const participant = meta.participant === true;
    const scope = participant ? PARTICIPANT_SCOPE : grantScope(tenant.settings, meta.scope);
    const ttl = participant ? tenant.settings.accessTokenTtlSeconds : tenant.settings.refreshTokenTtlSeconds;
    const session: NewSession = {
      id: newId(),
      appId: tenant.app.id,
      userId: user.id,
      scope,
      authTime: now,
      registrationRequired: meta.registrationRequired ?? false,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(now.getTime() + ttl * 1000),
      ip: meta.ip?.slice(0, 64) ?? null,
      userAgent: meta.userAgent?.slice(0, 255) ?? null,
    };
    const refreshToken = participant ? null : REFRESH_PREFIX + randomSecret(32);
    const refresh: NewRefreshToken | null = refreshToken === null ? null : { id: newId(), sessionId: session.id, tokenHash: sha256(refreshToken), createdAt: now, expiresAt: session.expiresAt };
    // The event commits with the session: one more prepared insert, or (the app has a webhook)
    // staged with its delivery in em's unit of work, which then commits with the session.
    const event = this.events?.forHotPath(em, tenant, { type: 'login.succeeded', userId: user.id, ip: meta.ip, detail: { sessionId: session.id, participant } });
    await writeSession(em, session, refresh, meta.verified, event);
    return { sign: () => this.payload(session, user, refreshToken, refresh && session.expiresAt, tenant) };
  }

  /**
   * `refresh`: rotate, return the same child within the grace interval, revoke the family on
   * reuse — one transaction on the prepared path (HotStore.rotateRefreshToken, which also moves
   * the session's lastUsedAt and reads the user with the token, for the answer). A reuse
   * revokes the family and records `refresh_token.reused` in one commit of its own.
   */
  async refresh(em: EntityManager, tenant: Tenant, presented: string, meta: SignInMeta = {}): Promise<AuthResult> {
    if (!presented.startsWith(REFRESH_PREFIX) || presented.length > 128) throw new AppError('INVALID_REFRESH_TOKEN');
    const child = REFRESH_PREFIX + (await this.childSuffix(em, presented));
    const store = HotStore.of(em);
    const now = this.clock.now();
    const outcome = await store.rotateRefreshToken(em, {
      appId: tenant.app.id,
      presentedHash: sha256(presented),
      child: { id: newId(), sessionId: '', tokenHash: sha256(child), createdAt: now, expiresAt: new Date(now.getTime() + tenant.settings.refreshTokenTtlSeconds * 1000) },
      now,
      graceMs: REFRESH_GRACE_MS,
      revokeOnReuse: false,
    });
    if (outcome.kind === 'invalid') throw new AppError('INVALID_REFRESH_TOKEN');
    // A suspension ends the session; its refresh tokens then say why (SPEC §4.10).
    if (outcome.kind === 'suspended') throw new AppError('ACCOUNT_SUSPENDED');
    if (outcome.kind === 'reused') {
      await this.revokeReused(em, tenant, outcome.sessionId, outcome.userId, now, meta);
      throw new AppError('REFRESH_TOKEN_REUSED');
    }
    return this.payload(outcome.session, outcome.user, child, outcome.expiresAt, tenant);
  }

  /**
   * A rotated refresh token presented again after the grace interval: its family (session) is
   * revoked and `refresh_token.reused` recorded in one commit, by whichever request revokes it.
   */
  private async revokeReused(em: EntityManager, tenant: Tenant, sessionId: string, userId: string, now: Date, meta: SignInMeta): Promise<void> {
    const store = HotStore.of(em);
    const record = async (tx: EntityManager) => {
      if (!(await store.revokeSession(tx, sessionId, now, 'refresh_token_reused'))) return;
      await this.events?.write(tx, tenant, { type: 'refresh_token.reused', userId, ip: meta.ip, detail: { sessionId } });
    };
    if (em.isInTransaction()) return record(em);
    const tx = em.fork();
    await inTransaction(tx, () => record(tx));
  }

  /** `logout`: this session, or every session of the user. */
  async logout(em: EntityManager, userId: string, sessionId: string, allSessions: boolean): Promise<void> {
    const store = HotStore.of(em);
    if (allSessions) await store.revokeUserSessions(em, userId, this.clock.now(), 'logout');
    else await store.revokeSession(em, sessionId, this.clock.now(), 'logout');
  }

  /** Revokes every live session of a user, but `keep` (password change keeps the current one). */
  async revokeAll(em: EntityManager, userId: string, reason: string, keep?: string): Promise<void> {
    await HotStore.of(em).revokeUserSessions(em, userId, this.clock.now(), reason, keep);
  }

  /**
   * A bearer request: the token must verify, and its session must still be live and its user
   * not suspended (one joined query), so logout, revocation and suspension take effect at once.
   * A failure says why (SPEC §1): `invalid_token`, `token_expired` (refresh), `session_ended`
   * (sign in again); a suspended account's token is refused as ACCOUNT_SUSPENDED (SPEC §4.10),
   * with `session_ended` as its reason, whether or not its session was already ended.
   */
  async authenticateBearer(em: EntityManager, token: string): Promise<BearerCaller | InvalidCaller> {
    const checked = await this.jwt.checkAccess(token);
    if (!checked.ok) return { kind: 'invalid', reason: checked.reason, detail: 'access token does not verify' };
    const { claims } = checked;
    // One prepared statement (db/fast): the row em.findOne(Session, …, { populate: ['user', 'app'] })
    // read, without the ORM's query building and hydration of three entities (bench/README.md).
    const row = await HotStore.of(em).bearerSession(em, claims.sid);
    const now = this.clock.now();
    if (!row) return { kind: 'invalid', reason: 'session_ended', detail: 'session ended' };
    if (row.userId !== claims.sub || row.appId !== claims.aud) return { kind: 'invalid', reason: 'invalid_token', detail: 'token does not match its session' };
    // Checked before the session's own state: the suspension ended it, and the client should learn why.
    if (row.userSuspended) return { kind: 'invalid', reason: 'session_ended', suspended: true, detail: 'account suspended' };
    if (row.revokedAt != null || row.expiresAt <= now) return { kind: 'invalid', reason: 'session_ended', detail: 'session ended' };
    const tenant = await this.apps.appAsOf(em, row.appId, row.appUpdatedAt);
    if (!tenant) return { kind: 'invalid', reason: 'session_ended', detail: 'session ended' };
    return {
      kind: 'bearer',
      // A plain record: where the ORM needs the app as a relation, em.getReference(App, id).
      app: tenant.app,
      settings: tenant.settings,
      userId: claims.sub,
      sessionId: claims.sid,
      scope: claims.scope,
      participant: isParticipantScope(claims.scope),
    };
  }

  /**
   * The app whose access token this is, checking only the signature, `typ` and issuer (not expiry,
   * not the session): for a token riding along with an API key, which must not be another app's.
   * Null when the token is not one of ours at all.
   */
  async appOfToken(token: string): Promise<string | null> {
    const checked = await this.jwt.checkAccess(token, { ignoreExpiry: true });
    return checked.ok ? checked.claims.aud : null;
  }

  private async payload(session: SessionClaimsSource & { registrationRequired: boolean }, user: SignedInUser, refreshToken: string | null, refreshExpiresAt: Date | null, tenant: Tenant): Promise<AuthResult> {
    const ttl = tenant.settings.accessTokenTtlSeconds;
    const participant = isParticipantScope(session.scope);
    // One instant for both tokens: the id token's iat and exp are the access token's.
    const at = this.clock.now();
    const idToken = this.jwt.idToken(session, user, ttl, at, { contact: !participant });
    const access = await this.jwt.signAccess(session, ttl, at);
    return {
      accessToken: access.token,
      expiresIn: access.expiresIn,
      expiresAt: access.expiresAt,
      refreshToken,
      refreshExpiresIn: refreshExpiresAt && Math.max(0, Math.round((refreshExpiresAt.getTime() - this.clock.now().getTime()) / 1000)),
      idToken,
      scope: session.scope,
      registrationRequired: session.registrationRequired,
      user,
    };
  }

  private async childSuffix(em: EntityManager, parent: string): Promise<string> {
    const key = await this.secrets.get(em, 'refresh-token-derivation');
    return createHmac('sha256', key).update(parent).digest('base64url');
  }
}

/**
 * The scope a sign-in gets (SPEC §2): what the client asked for, if every word of it is among
 * the app's allowedScopes, else BAD_USER_INPUT on `scope`; nothing asked, all of them. The
 * result always fits the session's column (allowedScopes is checked to fit).
 */
export function grantScope(settings: AppSettings, requested: string | null | undefined): string {
  const allowed = settings.allowedScopes;
  if (requested == null || requested.trim() === '') return allowed.join(' ');
  if (requested.length > MAX_SCOPE_LENGTH) throw badInput('scope', `scope must be at most ${MAX_SCOPE_LENGTH} characters`);
  const parts = [...new Set(requested.trim().split(/\s+/))];
  if (parts.some((p) => !SCOPE_TOKEN.test(p))) throw badInput('scope', 'scope must be space-separated words of letters, digits and : . _ -');
  const refused = parts.filter((p) => !allowed.includes(p));
  if (refused.length) {
    throw badInput('scope', `scope ${refused.join(' ')} is not allowed for this app; it allows ${allowed.join(' ')}`);
  }
  return parts.join(' ');
}

/**
 * A new session's rows on the prepared path. What `em`'s unit of work still has to write commits
 * with them: in the caller's transaction when `em` is in one, else in one of its own (the ORM's
 * flush and the store's inserts on the transaction's connection). Nothing pending, no
 * transaction of the ORM's: the store's two inserts commit together by themselves.
 */
async function writeSession(em: EntityManager, session: NewSession, refresh: NewRefreshToken | null, verified?: VerifiedIdentity, event?: HotSecurityEvent): Promise<void> {
  const store = HotStore.of(em);
  if (!hasPendingWrites(em)) return store.createSession(em, session, refresh, verified, event);
  if (em.isInTransaction()) {
    await em.flush();
    return store.createSession(em, session, refresh, verified, event);
  }
  await em.transactional(async (tx) => {
    await tx.flush();
    await store.createSession(tx, session, refresh, verified, event);
  });
}

/** Whether a flush of `em` would write anything (the same change-set computation flush starts with). */
function hasPendingWrites(em: EntityManager): boolean {
  const uow = em.getUnitOfWork();
  if (uow.getIdentityMap()[Symbol.iterator]().next().done && uow.getPersistStack().size === 0 && uow.getRemoveStack().size === 0) return false;
  uow.computeChangeSets();
  return uow.getChangeSets().length > 0 || uow.getCollectionUpdates().length > 0 || uow.getExtraUpdates().size > 0;
}

export function isParticipantScope(scope: string): boolean {
  return scope === PARTICIPANT_SCOPE;
}
