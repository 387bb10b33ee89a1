import type { EntityManager } from '@mikro-orm/core';
import type { IncomingMessage } from 'node:http';
import { AppError } from '../../errors';
import type { LoginInputData } from '../../identity/login';
import type { AuthResult } from '../../identity/sessions';
import type { TokenInspection } from '../../identity/token-inspection';
import type { Services } from '../../services';
import type { RequestInfo } from '../http-util';
import { authenticateClient, type OAuthClient } from './clients';
import type { OAuthCall } from './call';
import { limitCall } from './limits';
import { describeSafely, OAuthError, required, sendOAuthJson, type Params } from './protocol';

export const GRANT_TYPES = ['password', 'refresh_token'] as const;

/**
 * `POST /oauth/token` (SPEC §4.11, RFC 6749 §4.3 and §6): the password and refresh-token
 * grants, answered by the very LoginService and SessionService calls behind the GraphQL
 * `login` and `refresh` mutations — one lockout, one rotation, one reuse detection — and
 * counted against the same per-IP budgets (`login`, `refresh`).
 */
export async function tokenEndpoint({ services, inspection, em, req, res, info, params }: OAuthCall): Promise<void> {
  const grantType = required(params, 'grant_type');
  const client = await authenticateClient(em, services, req, params, info);
  let result: AuthResult;
  if (grantType === 'password') {
    result = await passwordGrant(services, em, req, info, client, params);
  } else if (grantType === 'refresh_token') {
    result = await refreshGrant(services, inspection, em, info, client, params);
  } else {
    throw new OAuthError('unsupported_grant_type', `grant_type must be one of: ${GRANT_TYPES.join(', ')}`);
  }
  sendOAuthJson(res, 200, {
    access_token: result.accessToken,
    token_type: 'Bearer',
    expires_in: result.expiresIn,
    refresh_token: result.refreshToken,
    refresh_expires_in: result.refreshExpiresIn,
    scope: result.scope,
    id_token: await result.idToken(),
    created_at: Math.floor(services.clock.now().getTime() / 1000),
  });
}

/** `username` (an email or an E.164 phone number) or `email`, `password`, optional `scope`. */
async function passwordGrant(services: Services, em: EntityManager, req: IncomingMessage, info: RequestInfo, client: OAuthClient, params: Params): Promise<AuthResult> {
  const username = params.get('username');
  const email = params.get('email');
  if (username !== undefined && email !== undefined) throw new OAuthError('invalid_request', 'give username or email, not both');
  const who = username ?? email;
  if (!who) throw new OAuthError('invalid_request', 'username (or email) is required');
  const password = required(params, 'password');
  const scope = params.get('scope') || undefined;
  const input: LoginInputData = who.includes('@') ? { email: who, password, scope } : { phoneNumber: who, password, scope };

  await limitCall(services, client, 'login', info.ip);
  const tenant = { app: client.app, settings: client.settings };
  const meta = { ip: info.ip, userAgent: req.headers['user-agent'] ?? null, scope };
  try {
    const result = await services.login.login(em, tenant, input, meta);
    services.metrics?.logins.inc({ result: 'success' });
    return result;
  } catch (error) {
    services.metrics?.logins.inc({ result: error instanceof AppError ? error.code : 'error' });
    throw error;
  }
}

/**
 * `refresh_token`, optional `scope`. Sessions do not narrow their scope, so a `scope` must be
 * within the session's (RFC 6749 §6) and the answer names the session's whole scope. The check
 * reads a current token only: a rotated one goes straight to SessionService, whose grace
 * interval or reuse detection must see it whatever else was sent.
 */
async function refreshGrant(services: Services, inspection: TokenInspection, em: EntityManager, info: RequestInfo, client: OAuthClient, params: Params): Promise<AuthResult> {
  const refreshToken = required(params, 'refresh_token');
  await limitCall(services, client, 'refresh', info.ip);
  const requested = params.get('scope')?.split(' ').filter(Boolean);
  if (requested?.length) {
    // Its own fork: SessionService's rotation must read the row fresh, not from this identity map.
    const view = await inspection.refreshToken(em.fork(), client.app.id, refreshToken);
    if (view && !view.rotated) {
      const granted = new Set(view.scope.split(' '));
      const extra = requested.filter((s) => !granted.has(s));
      if (extra.length) throw new OAuthError('invalid_scope', describeSafely(`scope beyond what this session was granted: ${extra.join(' ')}`));
    }
  }
  return services.sessions.refresh(em, { app: client.app, settings: client.settings }, refreshToken);
}
