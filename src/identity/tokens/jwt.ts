import jwt from 'jsonwebtoken';
import type { User } from '../../db/entities';
import type { Clock } from '../clock';
import { newId, sha256 } from '../secrets';
import type { SigningKeys } from './signing-keys';

export interface AccessClaims {
  iss: string;
  sub: string;
  aud: string;
  /** RFC 9068: the client the token was issued to; here the app, as `aud`. */
  client_id: string;
  iat: number;
  exp: number;
  jti: string;
  sid: string;
  scope: string;
}

/** Outcome of checking a presented access token; `reason` is UNAUTHENTICATED's (SPEC §1). */
export type AccessCheck = { ok: true; claims: AccessClaims } | { ok: false; reason: 'invalid_token' | 'token_expired' };

/** RFC 9068 §4: the `typ` of a JWT access token, compared case-insensitively, with or without `application/`. */
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);

/** What the tokens say of their session: a Session entity's fields, or the record the prepared path wrote or read. */
export interface SessionClaimsSource {
  id: string;
  appId: string;
  userId: string;
  scope: string;
  authTime: Date;
}

/** What the id token says of its user: an entity or a plain record (db/fast) alike. */
export type IdTokenUser = Pick<User, 'id' | 'firstName' | 'lastName' | 'email' | 'emailVerified' | 'phoneNumber' | 'phoneVerified'>;

/** Verified access tokens remembered at most (a digest and the claims each). */
const VERIFIED_CACHE_MAX = 20_000;

export interface SignedToken {
  token: string;
  expiresIn: number;
  expiresAt: Date;
}

/** Signs access and id tokens (SPEC §2) and verifies access tokens, with the stored keys. */
export class JwtService {
  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly issuer: () => string,
  ) {}

  async signAccess(session: SessionClaimsSource, ttlSeconds: number, at: Date): Promise<SignedToken> {
    const key = await this.keys.current();
    const iat = Math.floor(at.getTime() / 1000);
    const claims: AccessClaims = {
      iss: this.issuer(),
      sub: session.userId,
      aud: session.appId,
      client_id: session.appId,
      iat,
      exp: iat + ttlSeconds,
      jti: newId(),
      sid: session.id,
      scope: session.scope,
    };
    const token = jwt.sign(claims, key.privateKey, { algorithm: key.alg, keyid: key.kid, header: { typ: 'at+jwt', alg: key.alg } });
    return { token, expiresIn: ttlSeconds, expiresAt: new Date(claims.exp * 1000) };
  }

  /**
   * OpenID Connect id token: who the user is, for the client's display and its backend.
   * Without `contact` (participant sessions, SPEC §4.8) it names the user and nothing more:
   * no email or phone number.
   *
   * The claims are fixed now (the user as it is, issued `at`), the signature is
   * made when the token is first asked for, and once: most sign-ins and refreshes never select
   * `idToken`, and an ES256 signature through jsonwebtoken was ~8 % of a refresh's CPU
   * (bench/README.md).
   */
  idToken(session: SessionClaimsSource, user: IdTokenUser, ttlSeconds: number, at: Date, options: { contact?: boolean } = {}): () => Promise<string> {
    const contact = options.contact ?? true;
    const iat = Math.floor(at.getTime() / 1000);
    const name = [user.firstName, user.lastName].filter(Boolean).join(' ') || undefined;
    const claims = {
      iss: this.issuer(),
      sub: user.id,
      aud: session.appId,
      iat,
      exp: iat + ttlSeconds,
      auth_time: Math.floor(session.authTime.getTime() / 1000),
      sid: session.id,
      email: (contact && user.email) || undefined,
      email_verified: contact && user.email ? user.emailVerified : undefined,
      phone_number: (contact && user.phoneNumber) || undefined,
      phone_number_verified: contact && user.phoneNumber ? user.phoneVerified : undefined,
      given_name: user.firstName ?? undefined,
      family_name: user.lastName ?? undefined,
      name,
    };
    let signed: Promise<string> | undefined;
    // `typ: JWT`, never at+jwt: an id token must not pass for an access token (SPEC §2).
    const sign = async () => {
      const key = await this.keys.current();
      return jwt.sign(claims, key.privateKey, { algorithm: key.alg, keyid: key.kid, header: { typ: 'JWT', alg: key.alg } });
    };
    return () => (signed ??= sign());
  }

  /**
   * Checks a bearer token: header `typ` at+jwt (so an id token, or any other JWT of ours, is
   * refused: SPEC §2), signature by `kid` with only that key's algorithm (`none` and algorithm
   * confusion are refused), issuer and expiry. `ignoreExpiry` still checks everything else
   * (used to see whose token rides along with an API key).
   */
  async checkAccess(token: string, options: { ignoreExpiry?: boolean } = {}): Promise<AccessCheck> {
    const invalid = { ok: false, reason: 'invalid_token' } as const;
    if (token.length > 4096) return invalid;
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const digest = sha256(token);
    const known = this.verified.get(digest);
    if (known && known.issuer === this.issuer()) {
      if (known.claims.exp > now || options.ignoreExpiry) return { ok: true, claims: known.claims };
      this.verified.delete(digest);
      return { ok: false, reason: 'token_expired' };
    }
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded !== 'object') return invalid;
    const { kid, typ } = decoded.header;
    if (!kid || typeof typ !== 'string' || !ACCESS_TOKEN_TYPES.has(typ.toLowerCase())) return invalid;
    const key = await this.keys.forKid(kid);
    if (!key) return invalid;
    try {
      // jsonwebtoken checks the signature before the claims, so "expired" is said only of our own tokens.
      const claims = jwt.verify(token, key.publicKey, {
        algorithms: [key.alg],
        issuer: this.issuer(),
        clockTimestamp: now,
        ignoreExpiration: options.ignoreExpiry ?? false,
      }) as AccessClaims;
      const wellFormed = typeof claims.sid === 'string' && typeof claims.sub === 'string' && typeof claims.aud === 'string';
      if (!wellFormed) return invalid;
      if (typeof claims.exp === 'number' && claims.exp > now) this.remember(digest, claims);
      return { ok: true, claims };
    } catch (error) {
      return error instanceof jwt.TokenExpiredError ? { ok: false, reason: 'token_expired' } : invalid;
    }
  }

  /**
   * Verified access tokens by the SHA-256 of their text, until they expire. A client presents
   * the same token on every request for its 15 minutes, and the ES256 verify was ~22 % of a
   * bearer request's CPU (bench/README.md). Only the signature's answer is remembered: the
   * session and the user's state are still read on every request, so logout, revocation and
   * suspension stay immediate. Keyed by a digest (64 hex characters, ~1 µs to compute) rather than
   * the ~700-character token: ~0.6 KB less an entry, ~12 MB at the bound (bench/README.md
   * "RSS"). Bounded; the oldest entry goes first.
   */
  private readonly verified = new Map<string, { claims: AccessClaims; issuer: string }>();

  private remember(digest: string, claims: AccessClaims): void {
    if (this.verified.size >= VERIFIED_CACHE_MAX) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(digest, { claims, issuer: this.issuer() });
  }

  /** The claims of a valid access token, or null. */
  async verifyAccess(token: string): Promise<AccessClaims | null> {
    const checked = await this.checkAccess(token);
    return checked.ok ? checked.claims : null;
  }
}
