import type { EntityManager } from '@mikro-orm/core';
import type { IncomingMessage } from 'node:http';
import type { AppSettings } from '../../config/app-settings';
import { ApiKey, App } from '../../db/entities';
import type { AppRecord } from '../../db/fast';
import { isUuid } from '../../identity/apps';
import type { Services } from '../../services';
import type { RequestInfo } from '../http-util';
import { OAuthError, type Params } from './protocol';

/** The OAuth client of a request: always an app (client_id = app id, the `aud` of its tokens). */
export interface OAuthClient {
  /** The key cache's plain record (confidential) or the app entity (public): only its id and settings are used. */
  app: AppRecord;
  settings: AppSettings;
  /** Authenticated with one of the app's secret keys: may do what a secret key may. */
  confidential: boolean;
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;

const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="gatehouse", charset="UTF-8"' };

/**
 * Client authentication (RFC 6749 §2.3):
 * - `client_secret_basic` (Authorization: Basic of client_id:client_secret, each form-encoded)
 *   or `client_secret_post` (both in the body): the secret must be a live secret key (`sk_…`)
 *   of the app named by client_id. One method per request.
 * - `none` (a public client: client_id only) stands where a publishable key would. The app id
 *   is no secret (it is every token's `aud`), so a public client is accepted only while the app
 *   has a live publishable key — revoking an app's last publishable key turns its public OAuth
 *   client off too — and a browser request's Origin must be on the app's `allowedOrigins` when
 *   the app lists any (SPEC §1's INVALID_DOMAIN rule for publishable keys).
 * A publishable key is never a client secret: it is public by design.
 */
export async function authenticateClient(em: EntityManager, services: Services, req: IncomingMessage, params: Params, info: RequestInfo): Promise<OAuthClient> {
  const authorization = req.headers.authorization;
  const basic = authorization !== undefined && /^basic\s/i.test(authorization) ? parseBasic(authorization) : undefined;
  const postedId = params.get('client_id');
  const postedSecret = params.get('client_secret');

  if (basic) {
    if (postedSecret !== undefined) throw new OAuthError('invalid_request', 'use one client authentication method: Basic or client_secret in the body, not both');
    if (postedId !== undefined && postedId !== basic.id) throw new OAuthError('invalid_request', 'client_id in the body differs from the one in Authorization');
    return confidential(em, services, basic.id, basic.secret, 'client_secret_basic');
  }
  if (postedId === undefined || postedId.length === 0) throw new OAuthError('invalid_client', 'client_id is required (the app id)', 401);
  if (postedSecret !== undefined) return confidential(em, services, postedId, postedSecret, 'client_secret_post');
  return publicClient(em, services, postedId, info);
}

async function confidential(em: EntityManager, services: Services, clientId: string, secret: string, method: OAuthClient['method']): Promise<OAuthClient> {
  const challenge = method === 'client_secret_basic' ? BASIC_CHALLENGE : {};
  const owner = isUuid(clientId) && secret.startsWith('sk_') ? await services.apps.authenticateKey(em, secret) : null;
  if (!owner || owner.kind !== 'secret' || owner.app.id !== clientId) {
    throw new OAuthError('invalid_client', 'unknown client, or client_secret is not a live secret key of this app', 401, challenge);
  }
  return { app: owner.app, settings: owner.settings, confidential: true, method };
}

async function publicClient(em: EntityManager, services: Services, clientId: string, info: RequestInfo): Promise<OAuthClient> {
  const app = isUuid(clientId) ? await em.findOne(App, { id: clientId }) : null;
  if (!app) throw new OAuthError('invalid_client', 'unknown client_id', 401);
  const publishable = await em.count(ApiKey, { app: app.id, kind: 'publishable', revokedAt: null });
  if (publishable === 0) throw new OAuthError('invalid_client', 'this app has no live publishable key, so its public client is off; authenticate with client_secret', 401);
  const settings = services.apps.settingsOf(app);
  if (info.origin && settings.allowedOrigins.length > 0 && !settings.allowedOrigins.includes(info.origin)) {
    throw new OAuthError('invalid_client', 'this origin is not allowed for this app', 401, {}, 'INVALID_DOMAIN');
  }
  return { app, settings, confidential: false, method: 'none' };
}

/** `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1). */
function parseBasic(header: string): { id: string; secret: string } {
  const encoded = header.slice(header.indexOf(' ') + 1).trim();
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) throw new OAuthError('invalid_client', 'malformed Basic credentials', 401, BASIC_CHALLENGE);
  try {
    const decode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
    return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_client', 'malformed Basic credentials', 401, BASIC_CHALLENGE);
  }
}
