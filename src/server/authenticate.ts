import type { EntityManager } from '@mikro-orm/core';
import type { IncomingHttpHeaders } from 'node:http';
import type { Caller } from '../identity/caller';
import type { Services } from '../services';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Decides who is calling, once per request: a bearer token (it names its app) or an API key.
 * Any credential that was sent but does not check out makes the caller `invalid`, which the
 * shield answers with UNAUTHENTICATED, never a fallback to anonymous.
 */
export async function authenticate(headers: IncomingHttpHeaders, em: EntityManager, services: Services): Promise<Caller> {
  const authorization = header(headers, 'authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return { kind: 'invalid', reason: 'malformed Authorization header' };
    const caller = await services.sessions.authenticateBearer(em, match[1]);
    // A key sent alongside must belong to the token's app: one app's token never acts in another's.
    const alongside = header(headers, 'x-api-key');
    if (caller.kind === 'bearer' && alongside !== undefined) {
      const owner = await services.apps.authenticateKey(em, alongside.trim());
      if (!owner || owner.app.id !== caller.app.id) return { kind: 'invalid', reason: 'API key and token belong to different apps' };
    }
    return caller;
  }
  const apiKey = header(headers, 'x-api-key');
  if (apiKey !== undefined) {
    const owner = await services.apps.authenticateKey(em, apiKey.trim());
    if (!owner) return { kind: 'invalid', reason: 'unknown or revoked API key' };
    return { kind: owner.kind, app: owner.app, settings: owner.settings, keyId: owner.keyId };
  }
  return { kind: 'none' };
}
