import type { EntityManager } from '@mikro-orm/core';
import type { IncomingHttpHeaders } from 'node:http';
import type { Caller } from '../graphql/context';
import type { Services } from '../services';

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function credentialsSent(headers: IncomingHttpHeaders): boolean {
  return header(headers, 'x-api-key') !== undefined || header(headers, 'authorization') !== undefined;
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
    return services.bearer ? services.bearer(em, match[1]) : { kind: 'invalid', reason: 'bearer tokens are not enabled' };
  }
  const apiKey = header(headers, 'x-api-key');
  if (apiKey !== undefined) {
    const owner = await services.apps.authenticateKey(em, apiKey.trim());
    if (!owner) return { kind: 'invalid', reason: 'unknown or revoked API key' };
    return { kind: owner.kind, app: owner.app, settings: owner.settings, keyId: owner.keyId };
  }
  return { kind: 'none', origin: header(headers, 'origin') ?? null };
}
