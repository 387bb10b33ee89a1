import type { AppSettings } from '../config/app-settings';
import type { AppRecord } from '../db/fast';

/**
 * Who is calling (SPEC §1), decided once per operation from the request's credentials
 * (server/authenticate.ts). Shared by the domain (sessions, which verify bearer tokens) and
 * the GraphQL layer (the shield, the resolvers), so it lives here: nothing in identity/
 * imports from graphql/.
 */

/** Why a credential did not check out: `extensions.reason` of UNAUTHENTICATED (SPEC §1). */
export const UNAUTHENTICATED_REASONS = ['missing_credentials', 'invalid_key', 'revoked_key', 'invalid_token', 'token_expired', 'session_ended'] as const;
export type UnauthenticatedReason = (typeof UNAUTHENTICATED_REASONS)[number];

/** An API key of an app: publishable (`pk_…`) or secret (`sk_…`). */
export interface KeyCaller {
  kind: 'publishable' | 'secret';
  /** A plain record shared by the key's requests (frozen), not an entity: em.getReference(App, app.id) for a relation. */
  app: AppRecord;
  settings: AppSettings;
  keyId: string;
}

/** The signed-in customer: a live session's access token. */
export interface BearerCaller {
  kind: 'bearer';
  /** The bearer check's row, a plain record, not an entity. */
  app: AppRecord;
  settings: AppSettings;
  userId: string;
  sessionId: string;
  scope: string;
  /**
   * A participant session (client-side autologin, SPEC §4.8): proves nothing about who the
   * customer is, so it sees only id, externalId and names, and may do nothing but end itself.
   */
  participant: boolean;
}

/** A credential was sent but is unknown, revoked, expired or malformed; `detail` is for the log. */
export interface InvalidCaller {
  kind: 'invalid';
  reason: UnauthenticatedReason;
  /** The token's account is suspended: answered ACCOUNT_SUSPENDED (SPEC §4.10), `reason` session_ended. */
  suspended?: boolean;
  detail: string;
}

export type Caller = { kind: 'none' } | InvalidCaller | KeyCaller | BearerCaller;

/** The scope of participant sessions; internal, never granted on request. */
export const PARTICIPANT_SCOPE = 'participant';
