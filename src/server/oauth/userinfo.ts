import type { IncomingMessage } from 'node:http';
import { User } from '../../db/entities';
import { TokenInspection } from '../../identity/token-inspection';
import type { OAuthCall } from './call';
import { limitCall } from './limits';
import { OAuthError, sendOAuthJson, type Params } from './protocol';

const REALM = 'realm="gatehouse"';

/**
 * `GET|POST /oauth/userinfo` (OpenID Connect Core §5.3): the bearer's OIDC claims — the ones
 * the ID token carries — by the scopes of the session (`profile`: names, `email`, `phone`);
 * `sub` always. The token is checked exactly as a GraphQL bearer request is
 * (SessionService.authenticateBearer): signature, expiry, a live session, an active user.
 * The token comes in `Authorization: Bearer` or, on POST, as the form parameter
 * `access_token` (RFC 6750 §2.1–2.2), not both. Counts against the `me` budget.
 */
export async function userinfoEndpoint({ services, em, req, info, res, params }: OAuthCall): Promise<void> {
  const token = bearerToken(req, params);
  const caller = TokenInspection.isAccessTokenJwt(token) ? await services.sessions.authenticateBearer(em, token) : null;
  if (caller?.kind !== 'bearer') {
    throw new OAuthError('invalid_token', 'the access token is invalid or expired, or its session has ended', 401, {
      'www-authenticate': `Bearer ${REALM}, error="invalid_token"`,
    });
  }
  await limitCall(services, caller, 'me', info.ip);
  const scopes = new Set(caller.scope.split(' '));
  if (!scopes.has('openid')) {
    throw new OAuthError('insufficient_scope', 'userinfo needs the openid scope', 403, {
      'www-authenticate': `Bearer ${REALM}, error="insufficient_scope", scope="openid"`,
    });
  }
  const user = await em.findOne(User, { id: caller.userId, app: caller.app.id });
  if (!user) throw new OAuthError('invalid_token', 'no such user', 401, { 'www-authenticate': `Bearer ${REALM}, error="invalid_token"` });
  sendOAuthJson(res, 200, userinfoClaims(user, scopes));
}

/** The OIDC claims of the ID token (JwtService.idToken) that these scopes release. */
export function userinfoClaims(user: User, scopes: Set<string>): Record<string, unknown> {
  const claims: Record<string, unknown> = { sub: user.id };
  if (scopes.has('profile')) {
    const name = [user.firstName, user.lastName].filter(Boolean).join(' ');
    if (user.firstName) claims.given_name = user.firstName;
    if (user.lastName) claims.family_name = user.lastName;
    if (name) claims.name = name;
  }
  if (scopes.has('email') && user.email) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified;
  }
  if (scopes.has('phone') && user.phoneNumber) {
    claims.phone_number = user.phoneNumber;
    claims.phone_number_verified = user.phoneVerified;
  }
  return claims;
}

function bearerToken(req: IncomingMessage, params: Params): string {
  const header = req.headers.authorization;
  const posted = params.get('access_token');
  if (header !== undefined && posted !== undefined) throw new OAuthError('invalid_request', 'send the access token once: Authorization header or access_token, not both');
  if (posted !== undefined) return posted;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    // RFC 6750 §3.1: no error code when the request carried no token at all.
    throw new OAuthError('invalid_request', 'send Authorization: Bearer <access token>', 401, {
      'www-authenticate': header === undefined ? `Bearer ${REALM}` : `Bearer ${REALM}, error="invalid_request"`,
    });
  }
  return match[1];
}
