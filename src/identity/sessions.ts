import type { EntityManager } from '@mikro-orm/core';
import { createHmac } from 'node:crypto';
import { App, RefreshToken, Session, User } from '../db/entities';
import { sqlBool } from '../db/sql';
import { AppError } from '../errors';
import type { Caller } from '../graphql/context';
import type { AppService } from './apps';
import type { Clock } from './clock';
import { newId, randomSecret, sha256 } from './secrets';
import type { ServerSecrets } from './server-secrets';
import type { JwtService } from './tokens/jwt';
import type { Tenant } from './users';

export interface AuthResult {
  accessToken: string;
  expiresIn: number;
  expiresAt: Date;
  refreshToken: string;
  refreshExpiresIn: number;
  idToken: string;
  scope: string;
  registrationRequired: boolean;
  user: User;
}

export interface SignInMeta {
  ip?: string | null;
  userAgent?: string | null;
  scope?: string | null;
  registrationRequired?: boolean;
}

/** A session written but not yet answered: `sign()` issues its tokens (after the commit). */
export interface OpenedSession {
  sign(): Promise<AuthResult>;
}

/** Refresh tokens presented again within this interval get the same child back (a client racing itself). */
export const REFRESH_GRACE_MS = 10_000;
const DEFAULT_SCOPE = 'openid profile email phone';
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
  constructor(
    private readonly clock: Clock,
    private readonly jwt: JwtService,
    private readonly secrets: ServerSecrets,
    private readonly apps: AppService,
  ) {}

  /** Starts a session for a user who just proved who they are. */
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
    const ttl = tenant.settings.refreshTokenTtlSeconds;
    const scope = normalizeScope(meta.scope);
    const session = em.create(Session, {
      id: newId(),
      app: tenant.app,
      user,
      scope,
      authTime: now,
      registrationRequired: meta.registrationRequired ?? false,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttl * 1000),
      revokedAt: null,
      ip: meta.ip?.slice(0, 64) ?? null,
      userAgent: meta.userAgent?.slice(0, 255) ?? null,
    });
    const refreshToken = REFRESH_PREFIX + randomSecret(32);
    em.create(RefreshToken, { id: newId(), session, tokenHash: sha256(refreshToken), createdAt: now, expiresAt: session.expiresAt, usedAt: null });
    await em.flush();
    return { sign: () => this.payload(session, user, refreshToken, session.expiresAt, tenant) };
  }

  /** `refresh`: rotate, return the same child within the grace interval, revoke the family on reuse. */
  async refresh(em: EntityManager, tenant: Tenant, presented: string): Promise<AuthResult> {
    if (!presented.startsWith(REFRESH_PREFIX) || presented.length > 128) throw new AppError('INVALID_REFRESH_TOKEN');
    const child = REFRESH_PREFIX + (await this.childSuffix(em, presented));
    const outcome = await em.transactional(async (tx) => {
      const now = this.clock.now();
      const row = await tx.findOne(RefreshToken, { tokenHash: sha256(presented) }, { populate: ['session', 'session.user'] });
      const session = row?.session;
      if (!row || !session || session.app.id !== tenant.app.id) return { kind: 'invalid' as const };
      if (session.revokedAt || row.expiresAt <= now || session.expiresAt <= now) return { kind: 'invalid' as const };

      if (!row.usedAt) {
        // Claim the rotation with a conditional update: of two racing calls exactly one wins.
        const won = await tx.nativeUpdate(RefreshToken, { id: row.id, usedAt: null }, { usedAt: now });
        if (won === 1) {
          const expiresAt = new Date(now.getTime() + tenant.settings.refreshTokenTtlSeconds * 1000);
          tx.create(RefreshToken, { id: newId(), session, tokenHash: sha256(child), createdAt: now, expiresAt, usedAt: null });
          session.expiresAt = expiresAt;
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
      return { kind: 'reused' as const };
    });
    if (outcome.kind === 'invalid') throw new AppError('INVALID_REFRESH_TOKEN');
    if (outcome.kind === 'reused') throw new AppError('REFRESH_TOKEN_REUSED');
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
   * not suspended (one joined query), so logout and revocation take effect at once.
   */
  async authenticateBearer(em: EntityManager, token: string): Promise<Caller> {
    const claims = await this.jwt.verifyAccess(token);
    if (!claims) return { kind: 'invalid', reason: 'invalid or expired access token' };
    // The same joined row em.findOne(Session, …, { populate: ['user', 'app'] }) read, as raw SQL
    // with the app mapped by em.map: the ORM's query building and hydration of three entities
    // cost several times the query itself on every bearer request (bench/README.md).
    const row = await em.getConnection().execute<Record<string, unknown> | undefined>(
      'select s.user_id as s_user_id_, s.revoked_at as s_revoked_at_, s.expires_at as s_expires_at_, u.suspended as u_suspended_, a.* ' +
        'from session s join "user" u on u.id = s.user_id join app a on a.id = s.app_id where s.id = ? limit 1',
      [claims.sid],
      'get',
      em.getTransactionContext(),
    );
    const now = this.clock.now();
    if (!row || row.s_revoked_at_ != null || new Date(row.s_expires_at_ as number | string | Date) <= now) return { kind: 'invalid', reason: 'session ended' };
    const { s_user_id_: userId, s_revoked_at_: _revoked, s_expires_at_: _expires, u_suspended_: suspended, ...appRow } = row;
    if (userId !== claims.sub || appRow.id !== claims.aud) return { kind: 'invalid', reason: 'token does not match its session' };
    if (sqlBool(suspended)) return { kind: 'invalid', reason: 'account suspended' };
    const app = em.map(App, appRow);
    return {
      kind: 'bearer',
      app,
      settings: this.apps.settingsOf(app),
      userId: claims.sub,
      sessionId: claims.sid,
      scope: claims.scope,
    };
  }

  private async payload(session: Session, user: User, refreshToken: string, refreshExpiresAt: Date, tenant: Tenant): Promise<AuthResult> {
    const ttl = tenant.settings.accessTokenTtlSeconds;
    const [access, idToken] = await Promise.all([this.jwt.signAccess(session, ttl), this.jwt.signId(session, user, ttl)]);
    return {
      accessToken: access.token,
      expiresIn: access.expiresIn,
      expiresAt: access.expiresAt,
      refreshToken,
      refreshExpiresIn: Math.max(0, Math.round((refreshExpiresAt.getTime() - this.clock.now().getTime()) / 1000)),
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

function normalizeScope(scope: string | null | undefined): string {
  if (!scope) return DEFAULT_SCOPE;
  const parts = [...new Set(scope.split(/\s+/).filter(Boolean))];
  if (parts.length > 20 || parts.some((p) => !/^[A-Za-z0-9:._-]{1,64}$/.test(p))) {
    throw new AppError('BAD_USER_INPUT', 'scope must be space-separated words of letters, digits and : . _ -', { field: 'scope' });
  }
  return parts.join(' ');
}
