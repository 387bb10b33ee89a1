import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../../errors';
import { TokenInspection } from '../../identity/token-inspection';
import type { Services } from '../../services';
import { BodyTooLarge, PUBLIC_CORS, sendJson } from '../http-util';
import type { RouteHandler } from '../http';
import type { OAuthCall } from './call';
import { introspectEndpoint } from './introspect';
import { serverMetadata } from './metadata';
import { fromAppError, OAuthError, readParams, sendOAuthError } from './protocol';
import { revokeEndpoint } from './revoke';
import { tokenEndpoint } from './token';
import { userinfoEndpoint } from './userinfo';

type Endpoint = (call: OAuthCall) => Promise<void>;

/**
 * The OAuth 2.0 endpoints of SPEC §4.11 and the two discovery documents, as routes for the
 * HTTP front. Each endpoint is a thin translation: parameters in, a domain call (LoginService,
 * SessionService, TokenInspection), an OAuth answer out; errors become RFC 6749 error bodies
 * here and nowhere else.
 */
export function oauthRoutes(services: Services): Record<string, RouteHandler> {
  const inspection = new TokenInspection(services.clock, services.jwt, services.sessions);
  const route = (endpoint: Endpoint): RouteHandler => async (req, res, info) => {
    try {
      const params = req.method === 'POST' ? await readParams(req, services.config.bodyLimitBytes) : new Map<string, string>();
      await endpoint({ services, inspection, em: services.orm.em.fork(), req, res, info, params });
    } catch (error) {
      if (error instanceof OAuthError) return sendOAuthError(res, error);
      if (error instanceof AppError) return sendOAuthError(res, fromAppError(error));
      if (error instanceof BodyTooLarge) {
        return sendOAuthError(res, new OAuthError('invalid_request', `the request body is larger than ${services.config.bodyLimitBytes} bytes`, 413, { connection: 'close' }));
      }
      services.logger.error({ requestId: info.requestId, path: info.path, err: error }, 'oauth endpoint failed');
      sendOAuthError(res, new OAuthError('server_error', `Internal error (request id ${info.requestId})`, 500));
    }
  };
  const userinfo = route(userinfoEndpoint);
  const metadata = (_req: IncomingMessage, res: ServerResponse) => sendJson(res, 200, serverMetadata(services.config.publicUrl), { 'cache-control': 'public, max-age=300', ...PUBLIC_CORS });
  return {
    'POST /oauth/token': route(tokenEndpoint),
    'GET /oauth/userinfo': userinfo,
    'POST /oauth/userinfo': userinfo,
    'POST /oauth/revoke': route(revokeEndpoint),
    'POST /oauth/introspect': route(introspectEndpoint),
    'GET /.well-known/openid-configuration': metadata,
    'GET /.well-known/oauth-authorization-server': metadata,
  };
}
