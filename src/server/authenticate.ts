import type { EntityManager } from '@mikro-orm/core';
import type { Caller, KeyCaller } from '../identity/caller';
import type { Services } from '../services';

/** The credentials a request carries, as sent (`x-api-key`, `Authorization`). */
export interface Credentials {
  apiKey?: string;
  authorization?: string;
}

/**
 * Which credential an operation acts with: `key` for the operations that take an API key
 * (login, refresh, user…), `bearer` for the signed-in customer's (me, logout…). Clients attach
 * both to every request, so the operation decides (graphql/permissions.ts, credentialUse).
 */
export type CredentialUse = 'key' | 'bearer';

/**
 * Decides who is calling, once per operation (SPEC §1).
 * - Nothing sent: `none` (UNAUTHENTICATED, `missing_credentials`).
 * - A key that does not check out always makes the caller `invalid` (`invalid_key`,
 *   `revoked_key`), never a fallback to anonymous or to the token.
 * - A key operation with a key: the key decides. A token riding along is ignored, expired or
 *   not (an expired access token must never block the `refresh` that renews it), unless it is
 *   a genuine token of *another* app: then `invalid_token`, one app's token never rides in
 *   another's request. A token that is not ours at all (garbage) is ignored.
 * - Otherwise the bearer decides (`invalid_token`, `token_expired`, `session_ended`), and a key
 *   sent alongside must belong to the token's app.
 */
export async function authenticate(credentials: Credentials, use: CredentialUse, em: EntityManager, services: Services): Promise<Caller> {
  const { apiKey, authorization } = credentials;
  if (apiKey === undefined && authorization === undefined) return { kind: 'none' };

  let key: KeyCaller | undefined;
  if (apiKey !== undefined) {
    const checked = await services.apps.checkKey(em, apiKey.trim());
    if (!checked.ok) return { kind: 'invalid', reason: checked.reason, detail: 'API key does not check out' };
    key = checked.owner;
  }
  // undefined: no Authorization header; null: one that is not `Bearer <token>`.
  const token = authorization === undefined ? undefined : (/^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? null);

  if (key && (use === 'key' || token === undefined)) {
    if (use === 'key' && token) {
      const tokenApp = await services.sessions.appOfToken(token);
      if (tokenApp !== null && tokenApp !== key.app.id) {
        return { kind: 'invalid', reason: 'invalid_token', detail: 'bearer token of another app than the API key' };
      }
    }
    return key;
  }
  if (!token) return { kind: 'invalid', reason: 'invalid_token', detail: 'malformed Authorization header' };
  const bearer = await services.sessions.authenticateBearer(em, token);
  if (bearer.kind === 'bearer' && key && key.app.id !== bearer.app.id) {
    return { kind: 'invalid', reason: 'invalid_token', detail: 'API key and token belong to different apps' };
  }
  return bearer;
}
