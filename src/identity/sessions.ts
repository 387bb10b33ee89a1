import type { EntityManager } from '@mikro-orm/core';
import { createHmac } from 'node:crypto';
import { RefreshToken, Session, User } from '../db/entities';
import { HotStore } from '../db/fast';
import { MAX_SCOPE_LENGTH, SCOPE_TOKEN, type AppSettings } from '../config/app-settings';
import { AppError, badInput } from '../errors';
import { PARTICIPANT_SCOPE, type BearerCaller, type InvalidCaller } from './caller';
import type { AppService } from './apps';
import type { Clock } from './clock';
import type { SecurityEvents } from './events';
import { newId, randomSecret, sha256 } from './secrets';
import type { ServerSecrets } from './server-secrets';
import type { JwtService } from './tokens/jwt';
import type { Tenant } from './users';

export interface AuthResult {
  accessToken: string;
  expiresIn: number;
  expiresAt: Date;
  /** Null for a participant session (client-side autologin): it cannot be renewed. */
  refreshToken: string | null;
  refreshExpiresIn: number | null;
  idToken: string;
  scope: string;
  registrationRequired: boolean;
  user: User;
}

export interface SignInMeta {
  ip?: string | null;
  userAgent?: string | null;
  /** Space-separated scopes the client asks for: a subset of the app's allowedScopes (SPEC §2). */
  scope?: string | null;
  registrationRequired?: boolean;
  /** A participant session (client-side autologin, SPEC §4.8): scope `participant`, no refresh token. */
  participant?: boolean;
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
   */
  async signIn(em: EntityManager, tenant: Tenant, user: User, meta: SignInMeta = {}): Promise<AuthResult> {
    return (await this.openSession(em, tenant, user, meta)).sign();
  }

  /**
   * signIn's writes only (the session and its first refresh token, flushed with `em`), for a
   * caller that commits them with other writes: call `sign()` once that transaction committed.
   * Tokens are signed outside the transaction, which must not wait on anything but its own
   * statements (on SQLite it holds the only connection).
   */
  async openSession(em: EntityManager, tenant: Tenant, user: User, meta: SignInMeta = {}): Promise<OpenedSession> {
    if (user.suspended) throw new AppError('ACCOUNT_SUSPENDED');
    const now = this.clock.now();
    const participant = meta.participant === true;
    const scope = participant ? PARTICIPANT_SCOPE : grantScope(tenant.settings, meta.scope);
    const ttl = participant ? tenant.settings.accessTokenTtlSeconds : tenant.settings.refreshTokenTtlSeconds;
    const session = em.create(Session, {
      id: newId(),
      app: tenant.app,
      user,
      scope,
      authTime: now,
      registrationRequired: meta.registrationRequired ?? false,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(now.getTime() + ttl * 1000),
      revokedAt: null,
      ip: meta.ip?.slice(0, 64) ?? null,
      userAgent: meta.userAgent?.slice(0, 255) ?? null,
    });
    this.events?.stage(em, tenant, { type: 'login.succeeded', userId: user.id, ip: meta.ip, detail: { sessionId: session.id, participant } });
    if (participant) {
      await em.flush();
      return { sign: () => this.payload(session, user, null, null, tenant) };
    }
    const refreshToken = REFRESH_PREFIX + randomSecret(32);
    em.create(RefreshToken, { id: newId(), session, tokenHash: sha256(refreshToken), createdAt: now, expiresAt: session.expiresAt, usedAt: null });
    await em.flush();
    return { sign: () => this.payload(session, user, refreshToken, session.expiresAt, tenant) };
  }

  /** `refresh`: rotate, return the same child within the grace interval, revoke the family on reuse. */
  async refresh(em: EntityManager, tenant: Tenant, presented: string, meta: SignInMeta = {}): Promise<AuthResult> {
    if (!presented.startsWith(REFRESH_PREFIX) || presented.length > 128) throw new AppError('INVALID_REFRESH_TOKEN');
    const child = REFRESH_PREFIX + (await this.childSuffix(em, presented));
    const outcome = await em.transactional(async (tx) => {
      const now = this.clock.now();
      const row = await tx.findOne(RefreshToken, { tokenHash: sha256(presented) }, { populate: ['session', 'session.user'] });
      const session = row?.session;
      if (!row || !session || session.app.id !== tenant.app.id) return { kind: 'invalid' as const };
      // A suspension ends the session; its refresh tokens then say why (SPEC §4.10).
      if (session.user.suspended) return { kind: 'suspended' as const };
      if (session.revokedAt || row.expiresAt <= now || session.expiresAt <= now) return { kind: 'invalid' as const };

      if (!row.usedAt) {
        // Claim the rotation with a conditional update: of two racing calls exactly one wins.
        const won = await tx.nativeUpdate(RefreshToken, { id: row.id, usedAt: null }, { usedAt: now });
        if (won === 1) {
          const expiresAt = new Date(now.getTime() + tenant.settings.refreshTokenTtlSeconds * 1000);
          tx.create(RefreshToken, { id: newId(), session, tokenHash: sha256(child), createdAt: now, expiresAt, usedAt: null });
          session.expiresAt = expiresAt;
          session.lastUsedAt = now;
          return { kind: 'rotated' as const, session, expiresAt };
        }
        await tx.refresh(row);
      }
      // Already rotated: the same child again within the grace interval, else theft.
      const usedAt = row.usedAt!;
      const issued = await tx.findOne(RefreshToken, { tokenHash: sha256(child) });
      if (issued && !issued.usedAt && now.getTime() - usedAt.getTime() <= REFRESH_GRACE_MS) {
        return { kind: 'rotated' as const, session, expiresAt: issued.expiresAt };
      }
      session.revokedAt = now;
      session.revokedReason = 'refresh_token_reused';
      this.events?.stage(tx, tenant, { type: 'refresh_token.reused', userId: session.user.id, ip: meta.ip, detail: { sessionId: session.id } });
      return { kind: 'reused' as const };
    });
    if (outcome.kind === 'invalid') throw new AppError('INVALID_REFRESH_TOKEN');
    if (outcome.kind === 'reused') throw new AppError('REFRESH_TOKEN_REUSED');
    if (outcome.kind === 'suspended') throw new AppError('ACCOUNT_SUSPENDED');
    const user = outcome.session.user;
    if (user.suspended) throw new AppError('ACCOUNT_SUSPENDED');
    return this.payload(outcome.session, user, child, outcome.expiresAt, tenant);
  }

  /** `logout`: this session, or every session of the user. */
  async logout(em: EntityManager, userId: string, sessionId: string, allSessions: boolean): Promise<void> {
    const where = allSessions ? { user: userId, revokedAt: null } : { id: sessionId, revokedAt: null };
    await em.nativeUpdate(Session, where, { revokedAt: this.clock.now(), revokedReason: 'logout' });
  }

  /** Revokes every live session of a user, but `keep` (password change keeps the current one). */
  async revokeAll(em: EntityManager, userId: string, reason: string, keep?: string): Promise<void> {
    const where = keep ? { user: userId, revokedAt: null, id: { $ne: keep } } : { user: userId, revokedAt: null };
    await em.nativeUpdate(Session, where, { revokedAt: this.clock.now(), revokedReason: reason });
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
    if (row.userId !== claims.sub || row.app.id !== claims.aud) return { kind: 'invalid', reason: 'invalid_token', detail: 'token does not match its session' };
    // Checked before the session's own state: the suspension ended it, and the client should learn why.
    if (row.userSuspended) return { kind: 'invalid', reason: 'session_ended', suspended: true, detail: 'account suspended' };
    if (row.revokedAt != null || row.expiresAt <= now) return { kind: 'invalid', reason: 'session_ended', detail: 'session ended' };
    return {
      kind: 'bearer',
      app: this.apps.managedApp(em, row.app),
      settings: this.apps.settingsOf(row.app),
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

  private async payload(session: Session, user: User, refreshToken: string | null, refreshExpiresAt: Date | null, tenant: Tenant): Promise<AuthResult> {
    const ttl = tenant.settings.accessTokenTtlSeconds;
    const participant = isParticipantScope(session.scope);
    const [access, idToken] = await Promise.all([this.jwt.signAccess(session, ttl), this.jwt.signId(session, user, ttl, { contact: !participant })]);
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

export function isParticipantScope(scope: string): boolean {
  return scope === PARTICIPANT_SCOPE;
}
