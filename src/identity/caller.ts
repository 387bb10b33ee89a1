import type { AppSettings } from '../config/app-settings';
import type { App } from '../db/entities';

/**
 * Who is calling (SPEC §1), decided once per request from the request's credentials
 * (server/authenticate.ts). Shared by the domain (sessions, which verify bearer tokens) and
 * the GraphQL layer (the shield, the resolvers), so it lives here: nothing in identity/
 * imports from graphql/.
 */

/** An API key of an app: publishable (`pk_…`) or secret (`sk_…`). */
export interface KeyCaller {
  kind: 'publishable' | 'secret';
  app: App;
  settings: AppSettings;
  keyId: string;
}

/** The signed-in customer: a live session's access token. */
export interface BearerCaller {
  kind: 'bearer';
  app: App;
  settings: AppSettings;
  userId: string;
  sessionId: string;
  scope: string;
}

/** A credential was sent but is unknown, revoked, expired or malformed. */
export interface InvalidCaller {
  kind: 'invalid';
  reason: string;
}

export type Caller = { kind: 'none' } | InvalidCaller | KeyCaller | BearerCaller;
