import { authenticateClient } from './clients';
import type { OAuthCall } from './call';
import { limitCall } from './limits';
import { OAuthError, required, sendOAuthJson } from './protocol';

/**
 * `POST /oauth/introspect` (RFC 7662), for partner servers: confidential clients only (a secret
 * key), since the answer describes a user's session. `active` is true only for a token the
 * gateway would accept right now; inactive, unknown and other apps' tokens all answer just
 * `{ "active": false }`. Counts against its own `introspect` budget.
 */
export async function introspectEndpoint({ services, inspection, em, req, res, info, params }: OAuthCall): Promise<void> {
  const client = await authenticateClient(em, services, req, params, info);
  if (!client.confidential) {
    throw new OAuthError('invalid_client', 'introspection needs client authentication with a secret key (client_secret)', 401);
  }
  await limitCall(services, client, 'introspect', info.ip);
  const token = required(params, 'token');
  const found = await inspection.describe(em, client.app.id, token);
  if (!found.active) return sendOAuthJson(res, 200, { active: false });
  const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
  sendOAuthJson(res, 200, {
    active: true,
    token_type: found.kind === 'access_token' ? 'Bearer' : 'refresh_token',
    scope: found.scope,
    client_id: found.appId,
    sub: found.userId,
    aud: found.appId,
    iss: services.config.publicUrl,
    exp: seconds(found.expiresAt),
    iat: seconds(found.issuedAt),
    sid: found.sessionId,
    ...(found.claims ? { jti: found.claims.jti } : {}),
  });
}
