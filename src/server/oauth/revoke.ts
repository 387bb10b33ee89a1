import { authenticateClient } from './clients';
import type { OAuthCall } from './call';
import { limitCall } from './limits';
import { NO_STORE, required } from './protocol';

/**
 * `POST /oauth/revoke` (RFC 7009): `token` (a refresh or an access token; `token_type_hint` is
 * not needed, the shape tells them apart) ends its session, as `logout` does. Any client of
 * the app may revoke (public clients too: a signed-out SPA must be able to). An unknown,
 * expired or another app's token answers 200 as well (RFC 7009 §2.2), so the endpoint tells
 * nothing about tokens it did not issue to this client. Counts against the `logout` budget.
 */
export async function revokeEndpoint({ services, inspection, em, req, res, info, params }: OAuthCall): Promise<void> {
  const client = await authenticateClient(em, services, req, params, info);
  await limitCall(services, client, 'logout', info.ip);
  const token = required(params, 'token');
  await inspection.revoke(em, client.app.id, token);
  res.writeHead(200, { ...NO_STORE, 'content-length': 0 });
  res.end();
}
