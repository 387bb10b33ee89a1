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
  /** The request's own EntityManager (identity map, transactions, record edits): forked on first use. */
  em: EntityManager;
  /**
   * For the prepared path's reads only (db/fast: API key, bearer check, lookups, `me`): the
   * request's fork once it has one, so such a read inside its transaction sees its writes; until
   * then the ORM's root EntityManager, which those reads use only for its connection and which
   * builds no entity. A lookup then costs no fork (bench/README.md,
   * "Lookups without a fork, rows by position, a pool of cores + 1").
   * Anything that builds, edits or flushes entities takes `em`: the root refuses such use.
   */
  reader: EntityManager;
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

/** What a request reaches storage through: the root EntityManager, and the request's fork once made. */
export class RequestStorage {
  #fork: EntityManager | undefined;

  constructor(private readonly root: EntityManager) {}

  get em(): EntityManager {
    return (this.#fork ??= this.root.fork());
  }

  get reader(): EntityManager {
    return this.#fork ?? this.root;
  }
}

/**
 * `em` and `reader` as getters on the prototype, over a RequestStorage the context holds:
 * Apollo gives each operation a copy of the context made with Object.assign (own properties
 * only, into an object of the same prototype), so a copy neither forks while being made nor
 * makes a second fork: every copy shares the one storage.
 */
const storageAccessors = Object.create(Object.prototype, {
  em: { get(this: { storage: RequestStorage }) { return this.storage.em; }, enumerable: false },
  reader: { get(this: { storage: RequestStorage }) { return this.storage.reader; }, enumerable: false },
}) as object;

export function requestContext(fields: Omit<RequestContext, 'em' | 'reader'>, storage: RequestStorage): RequestContext {
  return Object.assign(Object.create(storageAccessors) as object, fields, { storage }) as unknown as RequestContext;
}

/** The app the caller acts for. The shield guarantees a tenant before any resolver runs. */
export function tenantOf(ctx: RequestContext): Tenant {
  const { caller } = ctx;
  if (caller.kind === 'publishable' || caller.kind === 'secret' || caller.kind === 'bearer') {
    return { app: caller.app, settings: caller.settings };
  }
  throw new AppError('UNAUTHENTICATED', undefined, { reason: 'missing_credentials' });
}
