import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { OutboxMessage } from '../db/entities';
import type { Clock } from '../identity/clock';
import type { Logger } from '../logger';
import type { OutgoingMessage } from './transport';

/** What the sender needs of a channel (WebhookTransport). */
export interface WebhookChannel {
  deliver(em: EntityManager, message: Pick<OutgoingMessage, 'appId' | 'to' | 'body'>): Promise<void>;
}

/** Outbox template names of webhook deliveries: waiting, and given up. */
export const WEBHOOK_PENDING = 'security-event';
export const WEBHOOK_FAILED = 'security-event:failed';

export interface WebhookSenderOptions {
  /** How often the outbox is looked at (a new event also wakes the sender). */
  pollMs?: number;
  /** Attempts before a delivery is marked failed. */
  maxAttempts?: number;
  /** Wait before the 2nd attempt; doubled each time, at most `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export interface WebhookHooks {
  delivered?: () => void;
  retried?: () => void;
  failed?: () => void;
}

export interface WebhookDelivery {
  id: string;
  appId: string;
  to: string;
  state: 'pending' | 'failed';
  lastError: string | null;
  createdAt: string;
  payload: unknown;
}

/**
 * Delivers the webhook rows of the outbox (SPEC §4.10, §6) — the interim sender, until the
 * durable courier (branch `courier`) takes webhooks as one more channel of its worker:
 * - a row is written in the transaction of its event (WebhookOutbox), so it survives a crash
 *   between commit and send; any gateway process sharing the database sends it on start;
 * - each attempt signs and POSTs it (WebhookTransport); a 2xx deletes the row (the payload is
 *   in security_event anyway), anything else is retried with exponential backoff on the
 *   injected clock; after `maxAttempts` the row is kept as failed (`template` marks it,
 *   `subject` holds the last error) for `gatehouse webhooks --failed` and counted in /metrics.
 * What the interim sender cannot do without the courier's columns (status, attempts, next
 * attempt, lock): remember attempts across restarts (a restart starts the count again) and
 * keep two instances from sending the same row at once. Both only ever add a duplicate
 * delivery, which receivers drop by the event `id`.
 */
export class WebhookSender {
  private readonly attempts = new Map<string, { count: number; nextAt: number }>();
  private timer?: NodeJS.Timeout;
  private wakeTimer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly pollMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly orm: MikroORM,
    private readonly transport: WebhookChannel,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: WebhookSenderOptions = {},
    private readonly hooks: WebhookHooks = {},
  ) {
    this.pollMs = options.pollMs ?? 5_000;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.baseDelayMs = options.baseDelayMs ?? 10_000;
    this.maxDelayMs = options.maxDelayMs ?? 3_600_000;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.run(), this.pollMs);
    this.timer.unref();
    this.wake();
  }

  /** Looks at the outbox soon (a new event was just written). */
  wake(): void {
    if (!this.timer || this.stopped || this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      void this.run();
    }, 5);
    this.wakeTimer.unref();
  }

  /** One pass over what is due now; resolves when it is done (tests use it instead of waiting). */
  async drain(): Promise<void> {
    await this.running;
    await this.run();
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.wakeTimer);
    await this.running;
  }

  private run(): Promise<void> {
    if (this.running) return this.running;
    if (this.stopped) return Promise.resolve();
    this.running = this.pass()
      .catch((error: unknown) => this.logger.warn({ err: { message: (error as Error).message } }, 'webhook sender: pass failed'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    const em = this.orm.em.fork();
    const rows = await em.find(OutboxMessage, { channel: 'WEBHOOK', template: WEBHOOK_PENDING }, { orderBy: { id: 'asc' }, limit: 100 });
    for (const row of rows) {
      if (this.stopped) return;
      const state = this.attempts.get(row.id) ?? { count: 0, nextAt: 0 };
      if (state.nextAt > this.clock.now().getTime()) continue;
      await this.attempt(em, row, state);
    }
  }

  private async attempt(em: EntityManager, row: OutboxMessage, state: { count: number; nextAt: number }): Promise<void> {
    state.count++;
    const meta = { appId: row.app.id, eventId: row.id, attempt: state.count };
    try {
      await this.transport.deliver(em, { appId: row.app.id, to: row.to, body: row.body });
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).slice(0, 255);
      if (state.count >= this.maxAttempts) {
        this.attempts.delete(row.id);
        await em.nativeUpdate(OutboxMessage, { id: row.id, template: WEBHOOK_PENDING }, { template: WEBHOOK_FAILED, subject: `${reason} (after ${state.count} attempts)`.slice(0, 255) });
        this.logger.warn({ ...meta, cause: reason }, 'webhook delivery failed for good');
        this.hooks.failed?.();
        return;
      }
      state.nextAt = this.clock.now().getTime() + Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (state.count - 1));
      this.attempts.set(row.id, state);
      this.logger.info({ ...meta, cause: reason }, 'webhook delivery failed; will retry');
      this.hooks.retried?.();
      return;
    }
    this.attempts.delete(row.id);
    await em.nativeDelete(OutboxMessage, { id: row.id });
    this.logger.info(meta, 'webhook delivered');
    this.hooks.delivered?.();
  }
}

/** `gatehouse webhooks [--app] [--failed]`: deliveries still waiting, or given up (oldest first). */
export async function listWebhookDeliveries(em: EntityManager, filter: { appId?: string; failed?: boolean } = {}): Promise<WebhookDelivery[]> {
  const where: Record<string, unknown> = { channel: 'WEBHOOK', template: filter.failed ? WEBHOOK_FAILED : { $in: [WEBHOOK_PENDING, WEBHOOK_FAILED] } };
  if (filter.appId) where.app = filter.appId;
  const rows = await em.find(OutboxMessage, where, { orderBy: { id: 'asc' }, limit: 500 });
  return rows.map((row) => ({
    id: row.id,
    appId: row.app.id,
    to: row.to,
    state: row.template === WEBHOOK_FAILED ? 'failed' : 'pending',
    lastError: row.subject ?? null,
    createdAt: row.createdAt.toISOString(),
    payload: JSON.parse(row.body),
  }));
}
