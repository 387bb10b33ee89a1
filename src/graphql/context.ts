import type { EntityManager } from '@mikro-orm/core';
import { AppError } from '../errors';
import type { Caller } from '../identity/caller';
import type { Tenant } from '../identity/users';
import type { Services } from '../services';

export interface RequestContext {
  requestId: string;
  ip: string;
  /** The Origin header, for client-side autologin and the publishable key's origin check. */
  origin: string | null;
  /** An Origin header naming another site than the gateway itself (not the playground). */
  crossOrigin: boolean;
  userAgent: string | null;
  caller: Caller;
  em: EntityManager;
  services: Services;
  /**
   * Users this request just proved to be (login, register, validateOtp…): their own profile
   * may be shown in the payload though the caller holds only a publishable key.
   */
  revealedUserIds: Set<string>;
  /** Users this request just started a participant session for: id, externalId and names only. */
  participantUserIds: Set<string>;
  /**
   * What the Apollo plugins tell the HTTP front about the answer (server/graphql-handler.ts).
   * An object, so that it is shared: Apollo hands plugins a shallow copy of the context.
   */
  reply: { requestError: boolean };
}

/** The app the caller acts for. The shield guarantees a tenant before any resolver runs. */
export function tenantOf(ctx: RequestContext): Tenant {
  const { caller } = ctx;
  if (caller.kind === 'publishable' || caller.kind === 'secret' || caller.kind === 'bearer') {
    return { app: caller.app, settings: caller.settings };
  }
  throw new AppError('UNAUTHENTICATED', undefined, { reason: 'missing_credentials' });
}
