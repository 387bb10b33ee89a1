import type { EntityManager } from '@mikro-orm/core';
import { RefreshToken } from '../db/entities';
import type { Caller } from './caller';
import type { Clock } from './clock';
import { sha256 } from './secrets';
import type { SessionService } from './sessions';
import type { AccessClaims, JwtService } from './tokens/jwt';

/** What introspection (RFC 7662) may say about a token of the asking app. */
export type TokenDescription =
  | { active: false }
  | {
      active: true;
      kind: 'access_token' | 'refresh_token';
      appId: string;
      userId: string;
      sessionId: string;
      scope: string;
      issuedAt: Date;
      expiresAt: Date;
      /** Access tokens only: the claims as signed. */
      claims?: AccessClaims;
    };

/** The refresh token's row as far as the caller's app may know it; null when unknown or another app's. */
interface RefreshTokenView {
  sessionId: string;
  userId: string;
  scope: string;
  rotated: boolean;
  live: boolean;
  issuedAt: Date;
  expiresAt: Date;
}

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/**
 * Reads and revokes tokens for the OAuth endpoints (RFC 7009 revocation, RFC 7662
 * introspection, the refresh grant's scope check). Nothing here issues or rotates a token:
 * that stays in SessionService, so OAuth and GraphQL share one rotation and reuse detection.
 * Every answer is scoped to one app: a token of another app is "unknown", never described.
 */
export class TokenInspection {
  constructor(
    private readonly clock: Clock,
    private readonly jwt: JwtService,
    private readonly sessions: SessionService,
  ) {}

  /** Access tokens are our JWTs; anything else is taken for an (opaque) refresh token. */
  static looksLikeJwt(token: string): boolean {
    return JWT_SHAPE.test(token);
  }

  /**
   * Whether a JWT says it is an access token (header `typ: at+jwt`, RFC 9068): an ID token,
   * though signed with the same keys, must never pass for one (SPEC §2). Read before any
   * verification; the signature check follows.
   */
  static isAccessTokenJwt(token: string): boolean {
    if (!JWT_SHAPE.test(token) || token.length > 4096) return false;
    try {
      const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8')) as { typ?: unknown };
      return typeof header.typ === 'string' && header.typ.toLowerCase() === 'at+jwt';
    } catch {
      return false;
    }
  }

  /** A refresh token of `appId`, read only: introspecting a rotated token is not a reuse. */
  async refreshToken(em: EntityManager, appId: string, presented: string): Promise<RefreshTokenView | null> {
    if (presented.length === 0 || presented.length > 128) return null;
    const row = await em.findOne(RefreshToken, { tokenHash: sha256(presented) }, { populate: ['session', 'session.user'] });
    const session = row?.session;
    if (!row || !session || session.app.id !== appId) return null;
    const now = this.clock.now();
    const live = !row.usedAt && !session.revokedAt && row.expiresAt > now && session.expiresAt > now && !session.user.suspended;
    return {
      sessionId: session.id,
      userId: session.user.id,
      scope: session.scope,
      rotated: Boolean(row.usedAt),
      live,
      issuedAt: row.createdAt,
      expiresAt: row.expiresAt < session.expiresAt ? row.expiresAt : session.expiresAt,
    };
  }

  /**
   * RFC 7662: active only when the token would be accepted right now — an access token whose
   * signature, expiry and session check out (the same check as a bearer request), or a refresh
   * token that is current (not rotated), unexpired, of a live session and an active user.
   */
  async describe(em: EntityManager, appId: string, token: string): Promise<TokenDescription> {
    if (TokenInspection.looksLikeJwt(token)) {
      const claims = TokenInspection.isAccessTokenJwt(token) ? await this.jwt.verifyAccess(token) : null;
      if (!claims || claims.aud !== appId) return { active: false };
      const caller: Caller = await this.sessions.authenticateBearer(em, token);
      if (caller.kind !== 'bearer' || caller.app.id !== appId) return { active: false };
      return {
        active: true,
        kind: 'access_token',
        appId,
        userId: claims.sub,
        sessionId: claims.sid,
        scope: claims.scope,
        issuedAt: new Date(claims.iat * 1000),
        expiresAt: new Date(claims.exp * 1000),
        claims,
      };
    }
    const view = await this.refreshToken(em, appId, token);
    if (!view?.live) return { active: false };
    return { active: true, kind: 'refresh_token', appId, ...view };
  }

  /**
   * RFC 7009: a refresh token (current or already rotated) or a still-valid access token of
   * `appId` ends its session — the refresh-token family and, through the live-session check,
   * every access token of it. Returns whether a session was found; the endpoint answers 200
   * either way.
   */
  async revoke(em: EntityManager, appId: string, token: string): Promise<boolean> {
    if (TokenInspection.looksLikeJwt(token)) {
      const claims = TokenInspection.isAccessTokenJwt(token) ? await this.jwt.verifyAccess(token) : null;
      if (!claims || claims.aud !== appId) return false;
      await this.sessions.logout(em, claims.sub, claims.sid, false);
      return true;
    }
    const view = await this.refreshToken(em, appId, token);
    if (!view) return false;
    await this.sessions.logout(em, view.userId, view.sessionId, false);
    return true;
  }
}
