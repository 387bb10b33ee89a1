import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { OutboxMessage } from '../db/entities';
import { HotStore, type NewOutboxMessage, type OutboxClaim, type OutboxRecord } from '../db/fast';
import { inTransaction } from '../db/transaction';
import type { Clock } from '../identity/clock';
import type { Logger } from '../logger';
import { killCarrier } from './carriers';
import type { OutboxChannel, Transport } from './transport';

export interface WorkerOptions {
  /** How often to look for due messages when nothing woke the worker. */
  pollMs: number;
  /** Deliver nothing for this long after start (COURIER_START_DELAY_MS). */
  startDelayMs: number;
  /** Attempts before a message is marked failed. */
  maxAttempts: number;
  /** Another number of attempts for a channel (webhooks: a partner's receiver may be down for longer than a mail server). */
  channelMaxAttempts?: Partial<Record<OutboxChannel, number>>;
  /** Messages claimed per pass, delivered in parallel. */
  batchSize?: number;
  /** A claim's lease: a message still `sending` past it (its worker died) is taken again. */
  leaseMs?: number;
}

export interface WorkerEvents {
  delivered(channel: OutboxChannel): void;
  retried(channel: OutboxChannel): void;
  failed(channel: OutboxChannel): void;
}

/** Wait before attempt n + 1 after n failed ones: 5 s, 20 s, 80 s, 320 s, then 15 min. */
/** Messages claimed at their write and waiting in memory (handOff) before new ones are left to the passes. */
const HAND_OFF_LIMIT = 1_000;

export function retryDelayMs(failedAttempts: number): number {
  return Math.min(5_000 * 4 ** (failedAttempts - 1), 15 * 60_000);
}

/**
 * The courier's worker, one per gateway process. A pass reads the due messages (`pending`
 * whose time has come, or `sending` whose claim's lease ran out), claims each with a
 * conditional UPDATE on the state it read (`… WHERE id = ? AND status = ? AND attempts = ?`;
 * `attempts` goes up with every claim, so of several workers or instances exactly one wins),
 * delivers it and records the outcome under the same condition. Delivery is at least once: a
 * worker that dies after the provider accepted a message but before recording it leaves the
 * claim to expire, and the message is sent again.
 *
 * A message this process writes is usually claimed in the same commit (Courier.compose asks
 * handOffLease): it is written `sending`, its first attempt counted and leased, and handed to
 * the worker after the commit (handOff) to be delivered from memory — no pass reads it and no
 * claim is written, two statements fewer per code sent. Should the process die first, the lease
 * runs out and any worker's pass takes it, as it would a claim whose worker died.
 *
 * Time (due, leases, backoff) is the injected clock's, like everything stored; the timers that
 * schedule passes are real. The worker is woken right after a commit that queued a message in
 * this process, and polls every `pollMs` for the rest (retries, other instances' messages,
 * what a crashed process left).
 */
export class OutboxWorker {
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private started = false;
  private closing = false;
  private readyAt = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** A pass is wanted (woken, polled, or a full batch last time): the loop reads the outbox again. */
  private again = false;
  /** Claimed at their write, committed, not yet attempted (handOff). */
  private readonly handed: OutboxRecord[] = [];
  /** A turn of the event loop is scheduled (wakeSoon, handOff). */
  private soon = false;
  /**
   * The pass, the claim and the delivered mark — what every message costs (a handed one only
   * the mark) — are prepared statements (db/fast) run with this EntityManager, never in a transaction; the rare outcomes
   * (a retry, a failure that kills its code) stay on the ORM.
   */
  private readonly em: EntityManager;
  private readonly store: HotStore;

  constructor(
    private readonly transports: Partial<Record<OutboxChannel, Transport>>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly orm: MikroORM,
    private readonly options: WorkerOptions,
    private readonly events: WorkerEvents,
  ) {
    this.batchSize = options.batchSize ?? 20;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.em = orm.em.fork();
    this.store = HotStore.of(this.em);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.readyAt = Date.now() + this.options.startDelayMs;
    // The first pass picks up what is left from before (a crash, a shutdown, another instance).
    this.schedule(this.options.startDelayMs);
  }

  wake(): void {
    if (!this.delivering()) return;
    this.again = true;
    this.kick();
  }

  /** Started (never in the CLI), past its start delay, not closing. */
  private delivering(): boolean {
    return this.started && !this.closing && Date.now() >= this.readyAt;
  }

  /**
   * The lease for a message to be claimed in the commit that writes it and then handed to this
   * worker, or null when it should be written pending for a pass to take: the worker is not
   * delivering (not started — the CLI —, within its start delay, closing) or enough are waiting.
   */
  handOffLease(now: Date): Date | null {
    if (!this.delivering() || this.handed.length >= HAND_OFF_LIMIT) return null;
    return new Date(now.getTime() + this.leaseMs);
  }

  /**
   * A message written claimed (handOffLease), once its commit is done: attempted on the next
   * turn of the event loop (the answer being written goes out first), without a pass.
   */
  handOff(message: NewOutboxMessage): void {
    // As a pass would have read it before claiming it (attempt() counts the claim's attempt from there).
    this.handed.push({ ...message, status: 'pending', attempts: 0, deliveredAt: null, via: null, lastError: null });
    this.onNextTurn();
  }

  /** Wakes the worker for a pass on the next turn of the event loop: the answer being written goes out first. */
  wakeSoon(): void {
    if (!this.delivering()) return;
    this.again = true;
    this.onNextTurn();
  }

  /** One turn of the loop for any number of handOff and wakeSoon calls (a pass if one of them asked for it). */
  private onNextTurn(): void {
    if (this.soon) return;
    this.soon = true;
    setImmediate(() => {
      this.soon = false;
      if (this.delivering()) this.kick();
    });
  }

  async drain(): Promise<void> {
    this.wake();
    await this.settled();
  }

  async settled(): Promise<void> {
    while (this.running || this.soon) {
      if (this.running) await this.running;
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    await this.settled(); // a wake scheduled by the last answers still runs
    this.closing = true;
    clearTimeout(this.timer);
    await this.settled();
    // Messages this process queued while the last pass ran (answers already given): send them now.
    while (this.handed.length) await this.attemptHanded();
    if (this.again && Date.now() >= this.readyAt) {
      this.again = false;
      await this.pass().catch((error: unknown) => this.logger.error({ err: error }, 'courier: last pass failed'));
    }
  }

  /** Runs the loop unless it is running (it looks at `again` and the handed messages before it ends). */
  private kick(): void {
    if (this.running) return;
    clearTimeout(this.timer);
    this.running = this.loop().finally(() => {
      this.running = undefined;
      this.schedule(this.options.pollMs);
    });
  }

  private async loop(): Promise<void> {
    while ((this.again || this.handed.length) && !this.closing) {
      if (this.handed.length) {
        await this.attemptHanded();
        continue;
      }
      this.again = false;
      try {
        // A full batch means there may be more due at once.
        if ((await this.pass()) >= this.batchSize) this.again = true;
      } catch (error) {
        this.logger.error({ err: error }, 'courier: could not read the outbox');
      }
    }
  }

  private schedule(ms: number): void {
    if (this.closing || !this.started) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.again = true;
      this.kick();
    }, ms);
    this.timer.unref();
  }

  /** One pass: claim and deliver what is due; answers how many messages were due. */
  private async pass(): Promise<number> {
    const due = await this.store.dueOutbox(this.em, this.clock.now(), this.batchSize);
    await Promise.all(due.map((message) => this.attempt(message)));
    return due.length;
  }

  /**
   * Up to a batch of the messages handed over, in parallel. One whose lease ran out while it
   * waited is left alone: a pass may have taken it already, and will if not.
   */
  private async attemptHanded(): Promise<void> {
    const now = this.clock.now();
    const batch = this.handed.splice(0, this.batchSize).filter((message) => message.lockedUntil! > now);
    await Promise.all(batch.map((message) => this.attempt(message, true)));
  }

  /** One attempt at a message read by a pass (claimed here first) or handed over (`claimed`: at its write). */
  private async attempt(message: OutboxRecord, claimed = false): Promise<void> {
    const now = this.clock.now();
    const attempt = message.attempts + 1;
    try {
      if (!claimed && !(await this.store.claimOutbox(this.em, message, new Date(now.getTime() + this.leaseMs)))) return; // another worker took it
      // Our claim: outcomes are recorded only while it is still ours.
      const mine: OutboxClaim = { id: message.id, status: 'sending', attempts: attempt };
      const meta = { messageId: message.id, appId: message.appId, channel: message.channel, template: message.template, attempt };

      if (message.expiresAt && message.expiresAt <= now) {
        return await this.fail(message, mine, 'expired before it could be sent', meta);
      }
      const transport = this.transports[message.channel];
      if (!transport) {
        return await this.retryOrFail(message, mine, `no ${message.channel} channel configured on this instance`, meta);
      }
      try {
        await transport.deliver({
          appId: message.appId,
          channel: message.channel,
          to: message.to,
          template: message.template,
          fromName: message.fromName,
          subject: message.subject ?? null,
          body: message.body,
        });
      } catch (error) {
        return await this.retryOrFail(message, mine, describe(error), { ...meta, via: transport.name });
      }
      // A provider has it now: the code or link need not stay in the database (the development outbox keeps it to be read).
      await this.store.markOutboxDelivered(this.em, mine, this.clock.now(), transport.name, transport.keepsBody === true);
      this.logger.info({ ...meta, via: transport.name }, 'message delivered');
      this.events.delivered(message.channel);
    } catch (error) {
      // The database failed us: the claim's lease runs out and the message is tried again.
      this.logger.error({ err: error, messageId: message.id }, 'courier: could not record a delivery attempt');
    }
  }

  private async retryOrFail(message: OutboxRecord, mine: OutboxClaim, reason: string, meta: object): Promise<void> {
    const attempt = message.attempts + 1;
    if (attempt >= (this.options.channelMaxAttempts?.[message.channel] ?? this.options.maxAttempts)) return this.fail(message, mine, reason, meta);
    const next = new Date(this.clock.now().getTime() + retryDelayMs(attempt));
    await this.orm.em.fork().nativeUpdate(OutboxMessage, mine, { status: 'pending', nextAttemptAt: next, lockedUntil: null, lastError: reason });
    this.logger.warn({ ...meta, cause: reason, retryAt: next.toISOString() }, 'message delivery failed; will retry');
    this.events.retried(message.channel);
  }

  /** Marks the message failed and kills the code or token it carried, in one commit. */
  private async fail(message: OutboxRecord, mine: OutboxClaim, reason: string, meta: object): Promise<void> {
    const em = this.orm.em.fork();
    const now = this.clock.now();
    await inTransaction(em, async () => {
      const marked = await em.nativeUpdate(OutboxMessage, mine, { status: 'failed', lockedUntil: null, lastError: reason, body: '' });
      if (marked === 1) await killCarrier(em, message, now);
    });
    this.logger.warn({ ...meta, cause: reason }, 'message delivery failed for good; its code is dead');
    this.events.failed(message.channel);
  }
}

/** The provider's reason, for the log and `gatehouse outbox --failed`: a message and a code, never a stack or a message body. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300);
  const code = (error as { code?: unknown; responseCode?: unknown }).responseCode ?? (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `; ${error.cause.message}` : '';
  return `${code ? `${String(code)} ` : ''}${error.message}${cause}`.slice(0, 300);
}
