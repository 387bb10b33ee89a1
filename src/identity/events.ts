import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { App, SecurityEvent } from '../db/entities';
import { appSettingsRows } from '../db/lifecycle';
import type { HotSecurityEvent } from '../db/fast';
import { insertSecurityEvent, type SecurityEventRow } from '../db/security-events';
import { inTransaction } from '../db/transaction';
import { readAppSettings } from '../config/app-settings';
import { badInput } from '../errors';
import { isUuid } from './apps';
import type { Clock } from './clock';
import { newId } from './secrets';
import type { Tenant } from './users';

/**
 * The security events of SPEC §4.10, by the name stored, returned by `securityEvents` and
 * POSTed to the app's webhook. A public contract: add names, never rename one.
 */
export const SECURITY_EVENT_TYPES = [
  'user.signed_up',
  'login.succeeded',
  'login.failed',
  'login.locked',
  'password.changed',
  'password.reset',
  'email.changed',
  'phone.changed',
  'identity.linked',
  'identity.unlinked',
  'user.suspended',
  'user.reinstated',
  'user.deleted',
  'refresh_token.reused',
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

/** What a flow says about what happened. `detail` holds no secret and no contact data (no email, phone, code, token, hash). */
export interface SecurityEventInput {
  type: SecurityEventType;
  userId?: string | null;
  ip?: string | null;
  detail?: Record<string, string | number | boolean | null>;
}

/** Where a recorded event goes next: the app's webhook, through the outbox (lifecycle/webhooks.ts). */
export interface EventSink {
  /** Adds the delivery to `em`'s unit of work (flushed with the event). */
  stage(em: EntityManager, tenant: Tenant, event: SecurityEventRow): void;
  /** Writes the delivery now, in `em`'s transaction (the caller holds one). */
  insert(em: EntityManager, tenant: Tenant, event: SecurityEventRow): Promise<void>;
}

export interface SecurityEventFilterData {
  userId?: string | null;
  type?: string | null;
  /** Events at or after this time. */
  after?: Date | null;
}

export interface SecurityEventPage {
  events: SecurityEvent[];
  hasNextPage: boolean;
  totalCount: number;
}

/**
 * Records security events in the transaction of what they record, and reads them back.
 *
 * - `stage`: for an event that belongs to a flush about to happen (a new session, a password
 *   set, an account created): the event, and its webhook delivery, join that flush's unit of
 *   work, so they commit or roll back with it. Call it right before that flush, after every
 *   check that could still refuse.
 * - `write`: for an event that is the only write (a failed login, a lockout), or inside an
 *   explicit transaction: raw inserts, one for the event (the login path stays one statement
 *   when the app has no webhook), joined by the delivery's in one transaction when it has one.
 */
export class SecurityEvents {
  /** The app's webhook (set in app.ts once the webhook module is built). */
  sink?: EventSink;

  constructor(private readonly clock: Clock) {}

  stage(em: EntityManager, tenant: Tenant, input: SecurityEventInput): SecurityEventRow {
    const row = this.row(tenant, input);
    em.persist(em.create(SecurityEvent, { id: row.id, app: em.getReference(App, row.appId), type: row.type, userId: row.userId, ip: row.ip, at: row.at, detail: row.detail }));
    if (this.sink && tenant.settings.webhookUrl) this.sink.stage(em, tenant, row);
    return row;
  }

  /**
   * For a flow on the prepared path that writes the event with its own rows (a new session:
   * HotStore.createSession): the row to insert there, or — the app has a webhook — undefined,
   * the event and its delivery then staged in `em`'s unit of work, which commits with those rows.
   */
  forHotPath(em: EntityManager, tenant: Tenant, input: SecurityEventInput): HotSecurityEvent | undefined {
    if (this.sink && tenant.settings.webhookUrl) {
      this.stage(em, tenant, input);
      return undefined;
    }
    const row = this.row(tenant, input);
    return { ...row, detail: JSON.stringify(row.detail) };
  }

  async write(em: EntityManager, tenant: Tenant, input: SecurityEventInput): Promise<SecurityEventRow> {
    const row = this.row(tenant, input);
    if (!this.sink || !tenant.settings.webhookUrl) {
      await insertSecurityEvent(em, row);
      return row;
    }
    const sink = this.sink;
    const both = async (tx: EntityManager) => {
      await insertSecurityEvent(tx, row);
      await sink.insert(tx, tenant, row);
    };
    if (em.getTransactionContext()) {
      await both(em);
    } else {
      const tx = em.fork();
      await inTransaction(tx, () => both(tx));
    }
    return row;
  }

  /** `securityEvents(filter, first, after)`: newest last, cursor paging over time-ordered ids (like `users`). */
  async list(em: EntityManager, tenant: Tenant, filter: SecurityEventFilterData, first: number, after?: string | null): Promise<SecurityEventPage> {
    if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput('first', 'first must be between 1 and 100');
    const where: Record<string, unknown> = { app: tenant.app.id };
    if (filter.userId != null) {
      if (!isUuid(filter.userId)) throw badInput('filter.userId', 'userId must be a user id');
      where.userId = filter.userId;
    }
    if (filter.type != null) {
      if (!(SECURITY_EVENT_TYPES as readonly string[]).includes(filter.type)) {
        throw badInput('filter.type', `type must be one of ${SECURITY_EVENT_TYPES.join(', ')}`);
      }
      where.type = filter.type;
    }
    if (filter.after != null) where.at = { $gte: filter.after };
    const totalCount = await em.count(SecurityEvent, where as FilterQuery<SecurityEvent>);
    const page = { ...where };
    if (after) page.id = { $gt: decodeEventCursor(after) };
    const events = await em.find(SecurityEvent, page as FilterQuery<SecurityEvent>, { orderBy: { id: 'asc' }, limit: first + 1 });
    return { events: events.slice(0, first), hasNextPage: events.length > first, totalCount };
  }

  /**
   * Deletes events past their app's retention (`securityEventRetentionDays`, default 90): one
   * delete per distinct retention. Returns how many went. Run by the gateway's timer.
   */
  async purge(em: EntityManager): Promise<number> {
    const apps = await appSettingsRows(em);
    const byDays = new Map<number, string[]>();
    for (const app of apps) {
      const settings = readAppSettings(typeof app.settings === 'string' ? JSON.parse(app.settings) : app.settings);
      byDays.set(settings.securityEventRetentionDays, [...(byDays.get(settings.securityEventRetentionDays) ?? []), app.id]);
    }
    let deleted = 0;
    const now = this.clock.now().getTime();
    for (const [days, appIds] of byDays) {
      for (let i = 0; i < appIds.length; i += 500) {
        deleted += await em.nativeDelete(SecurityEvent, { app: { $in: appIds.slice(i, i + 500) }, at: { $lt: new Date(now - days * 86_400_000) } });
      }
    }
    return deleted;
  }

  private row(tenant: Tenant, input: SecurityEventInput): SecurityEventRow {
    return {
      id: newId(),
      appId: tenant.app.id,
      type: input.type,
      userId: input.userId ?? null,
      ip: input.ip?.slice(0, 64) ?? null,
      at: this.clock.now(),
      detail: input.detail ?? {},
    };
  }
}

/**
 * Runs the purge every `intervalMs` in this process (SPEC §4.10: retention applies on its own).
 * Unref'd, so it never keeps a process alive; a failed run is logged and the next one retries.
 */
export function startEventPurge(events: SecurityEvents, fork: () => EntityManager, intervalMs: number, onError: (error: unknown) => void): () => Promise<void> {
  if (intervalMs <= 0) return async () => undefined;
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = events
      .purge(fork())
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

export function encodeEventCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

function decodeEventCursor(cursor: string): string {
  const id = cursor.length <= 64 ? Buffer.from(cursor, 'base64url').toString() : '';
  if (!isUuid(id)) throw badInput('after', 'after is not a cursor this API returned');
  return id;
}
