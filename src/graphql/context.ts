import type { EntityManager } from '@mikro-orm/core';
import type { AppSettings } from '../config/app-settings';
import type { App } from '../db/entities';
import { AppError } from '../errors';
import type { Services } from '../services';

/** Who is calling, decided once per request from the headers (server/authenticate.ts). */
export type Caller =
  | { kind: 'none' }
  /** A credential was sent but is unknown, revoked, expired or malformed. */
  | { kind: 'invalid'; reason: string }
  | { kind: 'publishable' | 'secret'; app: App; settings: AppSettings; keyId: string }
  | { kind: 'bearer'; app: App; settings: AppSettings; userId: string; sessionId: string; scope: string };

export interface RequestContext {
  requestId: string;
  ip: string;
  /** The Origin header, for client-side autologin and CORS. */
  origin: string | null;
  userAgent: string | null;
  caller: Caller;
  em: EntityManager;
  services: Services;
  /**
   * Users this request just proved to be (login, register, validateOtp…): their own profile
   * may be shown in the payload though the caller holds only a publishable key.
   */
  revealedUserIds: Set<string>;
  /**
   * What the Apollo plugins tell the HTTP front about the answer (server/graphql-handler.ts).
   * An object, so that it is shared: Apollo hands plugins a shallow copy of the context.
   */
  reply: { requestError: boolean };
}

export interface TenantCaller {
  app: App;
  settings: AppSettings;
}

/** The app the caller acts for. The shield guarantees a tenant before any resolver runs. */
export function tenantOf(ctx: RequestContext): TenantCaller {
  const { caller } = ctx;
  if (caller.kind === 'publishable' || caller.kind === 'secret' || caller.kind === 'bearer') {
    return { app: caller.app, settings: caller.settings };
  }
  throw new AppError('UNAUTHENTICATED');
}
