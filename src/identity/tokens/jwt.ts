import jwt from 'jsonwebtoken';
import type { Session, User } from '../../db/entities';
import type { Clock } from '../clock';
import { newId } from '../secrets';
import type { SigningKeys } from './signing-keys';

export interface AccessClaims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  sid: string;
  scope: string;
}

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

  async signAccess(session: Session, ttlSeconds: number): Promise<SignedToken> {
    const key = await this.keys.current();
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const claims: AccessClaims = {
      iss: this.issuer(),
      sub: session.user.id,
      aud: session.app.id,
      iat,
      exp: iat + ttlSeconds,
      jti: newId(),
      sid: session.id,
      scope: session.scope,
    };
    const token = jwt.sign({ ...claims, client_id: claims.aud }, key.privateKey, { algorithm: key.alg, keyid: key.kid, header: { typ: 'at+jwt', alg: key.alg } });
    return { token, expiresIn: ttlSeconds, expiresAt: new Date(claims.exp * 1000) };
  }

  /** OpenID Connect id token: who the user is, for the client's display and its backend. */
  async signId(session: Session, user: User, ttlSeconds: number): Promise<string> {
    const key = await this.keys.current();
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const name = [user.firstName, user.lastName].filter(Boolean).join(' ') || undefined;
    const claims = {
      iss: this.issuer(),
      sub: user.id,
      aud: session.app.id,
      iat,
      exp: iat + ttlSeconds,
      auth_time: Math.floor(session.authTime.getTime() / 1000),
      sid: session.id,
      email: user.email ?? undefined,
      email_verified: user.email ? user.emailVerified : undefined,
      phone_number: user.phoneNumber ?? undefined,
      phone_number_verified: user.phoneNumber ? user.phoneVerified : undefined,
      given_name: user.firstName ?? undefined,
      family_name: user.lastName ?? undefined,
      name,
    };
    return jwt.sign(claims, key.privateKey, { algorithm: key.alg, keyid: key.kid });
  }

  /**
   * Verifies signature (by `kid`, with only that key's algorithm: `none` and algorithm
   * confusion are refused), issuer and expiry. Returns null for any invalid token.
   */
  async verifyAccess(token: string): Promise<AccessClaims | null> {
    if (token.length > 4096) return null;
    const decoded = jwt.decode(token, { complete: true });
    const kid = decoded && typeof decoded === 'object' ? decoded.header.kid : undefined;
    if (!kid) return null;
    const key = await this.keys.forKid(kid);
    if (!key) return null;
    try {
      const claims = jwt.verify(token, key.publicKey, {
        algorithms: [key.alg],
        issuer: this.issuer(),
        clockTimestamp: Math.floor(this.clock.now().getTime() / 1000),
      }) as AccessClaims;
      return typeof claims.sid === 'string' && typeof claims.sub === 'string' && typeof claims.aud === 'string' ? claims : null;
    } catch {
      return null;
    }
  }
}
