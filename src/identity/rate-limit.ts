import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors';
import type { Logger } from '../logger';

/**
 * Attempt counters (login failures, code sends, per-IP calls) behind one small interface, on
 * rate-limiter-flexible: atomic in-process counters by default, the same limiters on Redis when
 * several instances must share them (REDIS_URL; app.ts picks the one factory every limiter
 * is built with), falling back to in-process counters while Redis is away (RedisLink).
 */
export interface AttemptLimiter {
  /** Counts one attempt and answers how many are left; throws TOO_MANY_ATTEMPTS (with retryAfter) past the limit. */
  take(key: string): Promise<number>;
  /** Gives an attempt back (a successful login does not count as a failure). */
  giveBack(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

export interface LimitSpec {
  name: string;
  points: number;
  durationSeconds: number;
}

export type LimiterFactory = (spec: LimitSpec) => RateLimiterAbstract;

export const memoryLimiterFactory: LimiterFactory = (spec) =>
  new RateLimiterMemory({ keyPrefix: spec.name, points: spec.points, duration: spec.durationSeconds });

/**
 * How long a counter call waits for Redis before it is answered by the per-instance
 * fallback (SPEC §8: no request waits more than a second for Redis). A call takes well under
 * a millisecond on a healthy Redis; this leaves room for a busy one. When a call runs out of
 * time the connection is dropped and made again, and until it is back every call falls back
 * at once (no offline queue), so a request with several counter calls in a row (the per-call
 * limit, then per IP and per account on a login) waits about this long in all, not per call.
 */
const REDIS_TIMEOUT_MS = 500;
/** Reconnect attempts run in the background (no request waits on them): a bound for black-holed addresses. */
const CONNECT_TIMEOUT_MS = 1_000;
/** A dropped connection that does not close by itself (a peer that no longer answers) is destroyed after this. */
const DISCONNECT_TIMEOUT_MS = 200;
/** Reconnects back off to once a second, so the shared counters return within about a second of Redis. */
const reconnectDelay = (attempt: number) => Math.min(100 * attempt, 1_000);
/** How long start() waits for the first connection before serving with per-instance counters. */
const START_WAIT_MS = 1_000;

class RedisTimeoutError extends Error {
  constructor() {
    super(`no answer from Redis within ${REDIS_TIMEOUT_MS} ms`);
  }
}

/**
 * `promise`, or a RedisTimeoutError after REDIS_TIMEOUT_MS. Not ioredis's commandTimeout:
 * under load the gateway's own event loop can be busy past the deadline, and then a plain
 * timer runs before the reply already waiting in the socket is read — a false alarm that
 * would send counts to the fallback. So when the timer fires, pending I/O runs once
 * (setImmediate comes after the poll phase) before the call is given up.
 */
function withDeadline<T>(promise: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => setImmediate(() => settle(() => reject(new RedisTimeoutError()))), REDIS_TIMEOUT_MS);
    promise.then(
      (value) => settle(() => resolve(value)),
      (error) => settle(() => reject(error)),
    );
  });
}

/**
 * The Redis connection of the shared counters and what the gateway knows of its health.
 *
 * Redis is a dependency that can fail (SPEC §8). While it is away every limiter counts in
 * this process instead (rate-limiter-flexible's insurance limiter), so the gateway keeps
 * answering with the limits enforced per instance — N instances then allow up to N times the
 * attempts, which is the price of not refusing every login. The outage is logged once when it
 * starts and once when it ends (not per request), shown by `gatehouse_redis_up` and counted
 * per limit by `gatehouse_rate_limit_fallback_total` (onFallback), and `/readyz` says
 * "degraded". ioredis reconnects by itself; the counters are shared again from the first
 * call after it is back. Counts made in process during the outage are not copied to Redis.
 */
export class RedisLink {
  readonly client: Redis;
  /** Called each time a counter call is answered by the per-instance fallback (app.ts feeds the metric). */
  onFallback?: (limit: string) => void;
  /** undefined until the first connection or failure; then whether counter calls reach Redis. */
  private available: boolean | undefined;
  private downSince = 0;
  private lastError: string | undefined;
  private closing = false;

  constructor(
    url: string,
    private readonly keyPrefix: string,
    private readonly logger?: Pick<Logger, 'warn' | 'info' | 'debug'>,
  ) {
    // ioredis is loaded here, not at import: a gateway without REDIS_URL never needs it, and
    // it costs ~6 MB of RSS loaded (bench/README.md, "RSS").
    const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis');
    this.client = new RedisClient(url, {
      // Nothing connects until start() (the CLI builds services and never counts).
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
      retryStrategy: reconnectDelay,
      // While not connected, a call fails at once (and falls back) instead of queueing for
      // a connection that may be minutes away.
      enableOfflineQueue: false,
      // Calls in flight when the connection drops fail at once rather than wait for a reconnect…
      maxRetriesPerRequest: 0,
      // …and are not sent again after it: the fallback already counted them.
      autoResendUnfulfilledCommands: false,
    });
    this.client.on('ready', () => this.markUp());
    this.client.on('close', () => this.markDown(this.lastError ?? 'connection closed'));
    // Every failed reconnect emits an error; the outage is logged once (markDown), these only
    // at debug, and never on stderr ("Unhandled error event").
    this.client.on('error', (error: Error) => {
      this.lastError = error.message;
      this.logger?.debug({ err: { message: error.message } }, 'redis: connection error');
    });
  }

  /** Whether counter calls currently reach Redis (the gauge, /readyz). */
  get up(): boolean {
    return this.available === true && this.client.status === 'ready';
  }

  /**
   * Connects, waiting up to a second so that the first requests already share their counts.
   * An instance whose Redis is away at start serves anyway, on per-instance counters.
   */
  async start(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, START_WAIT_MS)));
    // A failed first connection is reported by the 'close' handler; ioredis keeps retrying.
    await Promise.race([this.client.connect().catch(() => undefined), waited]);
    clearTimeout(timer);
  }

  /**
   * Checks that counter calls reach Redis, within REDIS_TIMEOUT_MS: a write like theirs
   * (a PING answers even when writes fail), on a key that expires by itself. When the
   * connection is not up it answers at once without asking.
   */
  async check(): Promise<boolean> {
    if (this.client.status !== 'ready') return false;
    try {
      await this.call(() => this.client.set(`${this.keyPrefix}health`, '1', 'PX', 10_000));
      return true;
    } catch {
      this.markDown(this.lastError ?? 'health check failed');
      return false;
    }
  }

  /**
   * Every Redis call of the counters goes through here: bounded in time, and its outcome is
   * what the gateway knows of Redis's health (a success after failures ends the outage, e.g.
   * once a Redis that answered errors answers again).
   */
  async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      const result = await withDeadline(send());
      this.markUp();
      return result;
    } catch (error) {
      this.lastError = (error as Error).message;
      // No answer: drop the connection so that later calls fall back at once instead of
      // waiting too, until a new connection is ready.
      if (error instanceof RedisTimeoutError && this.client.status === 'ready') this.client.disconnect(true);
      throw error;
    }
  }

  /** Limiters on Redis with an in-process insurance limiter each (see the class comment). */
  limiterFactory(): LimiterFactory {
    return (spec) => {
      const insuranceLimiter = new FallbackLimiter(
        { keyPrefix: spec.name, points: spec.points, duration: spec.durationSeconds },
        () => this.fellBack(spec.name),
      );
      return new SharedRedisLimiter(this, {
        storeClient: this.client,
        keyPrefix: `${this.keyPrefix}${spec.name}`,
        points: spec.points,
        duration: spec.durationSeconds,
        insuranceLimiter,
      });
    };
  }

  /** Closes the connection (quit when open, so calls in flight finish). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /** The insurance limiter is only ever asked when a Redis call failed. */
  private fellBack(limit: string): void {
    this.onFallback?.(limit);
    this.markDown(this.lastError ?? 'counter call failed', limit);
  }

  private markUp(): void {
    if (this.available === true || this.client.status !== 'ready') return;
    const wasDown = this.available === false;
    this.available = true;
    this.lastError = undefined;
    if (wasDown) {
      this.logger?.info({ downForMs: Date.now() - this.downSince }, 'redis: reachable again; rate limits are shared across instances again');
    }
  }

  private markDown(reason: string, limit?: string): void {
    if (this.available === false || this.closing) return;
    this.available = false;
    this.downSince = Date.now();
    this.logger?.warn({ reason, limit }, 'redis: unreachable; rate limits fall back to per-instance counters until it returns');
  }
}

// What rate-limiter-flexible's store limiters implement and call for each Redis round trip
// (RateLimiterStoreAbstract's extension points; not in its typings).
declare module 'rate-limiter-flexible' {
  interface RateLimiterRedis {
    _upsert(rlKey: string, points: number, msDuration: number, forceExpire?: boolean, options?: object): Promise<unknown>;
    _get(rlKey: string, options?: object): Promise<unknown>;
    _delete(rlKey: string, options?: object): Promise<boolean>;
  }
}

/**
 * Counters in Redis, shared by every gateway instance that uses the same Redis and prefix
 * (SPEC §8: several instances behave as one). Each take is one atomic Lua call (INCRBY with
 * the window's expiry), so concurrent attempts on any instances never exceed the limit.
 * Each round trip goes through RedisLink.call (time bound, health); a failed one is answered
 * by the insurance limiter.
 *
 * Keys are `<prefix><limit name>:<sha256 of the counted key>`: the counted keys hold app ids,
 * emails, phone numbers and client IPs, which have no business sitting in Redis in clear.
 * Windows run on Redis's clock (key expiry), not the gateway's.
 */
class SharedRedisLimiter extends RateLimiterRedis {
  constructor(
    private readonly link: RedisLink,
    options: ConstructorParameters<typeof RateLimiterRedis>[0],
  ) {
    super(options);
  }

  override getKey(key: string | number): string {
    return super.getKey(createHash('sha256').update(String(key)).digest('base64url'));
  }

  override _upsert(...args: Parameters<RateLimiterRedis['_upsert']>) {
    return this.link.call(() => super._upsert(...args));
  }

  override _get(...args: Parameters<RateLimiterRedis['_get']>) {
    return this.link.call(() => super._get(...args));
  }

  override _delete(...args: Parameters<RateLimiterRedis['_delete']>) {
    return this.link.call(() => super._delete(...args));
  }
}

/**
 * The per-instance counters used while Redis is away: rate-limiter-flexible calls its
 * insurance limiter with the same arguments when a Redis call fails, and only then, so each
 * call here is one fallback to count.
 */
class FallbackLimiter extends RateLimiterMemory {
  constructor(
    options: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly used: () => void,
  ) {
    super(options);
  }

  override consume(...args: Parameters<RateLimiterMemory['consume']>) {
    this.used();
    return super.consume(...args);
  }

  override penalty(...args: Parameters<RateLimiterMemory['penalty']>) {
    this.used();
    return super.penalty(...args);
  }

  override reward(...args: Parameters<RateLimiterMemory['reward']>) {
    this.used();
    return super.reward(...args);
  }

  override get(...args: Parameters<RateLimiterMemory['get']>) {
    this.used();
    return super.get(...args);
  }

  override set(...args: Parameters<RateLimiterMemory['set']>) {
    this.used();
    return super.set(...args);
  }

  override block(...args: Parameters<RateLimiterMemory['block']>) {
    this.used();
    return super.block(...args);
  }

  override delete(...args: Parameters<RateLimiterMemory['delete']>) {
    this.used();
    return super.delete(...args);
  }
}

export function createLimiter(factory: LimiterFactory, spec: LimitSpec): AttemptLimiter {
  const limiter = factory(spec);
  return {
    async take(key) {
      try {
        return (await limiter.consume(key)).remainingPoints;
      } catch (error) {
        if (error instanceof RateLimiterRes) {
          throw tooManyAttempts(error.msBeforeNext, 'Too many attempts');
        }
        throw error;
      }
    },
    async giveBack(key) {
      await limiter.reward(key, 1);
    },
    async reset(key) {
      await limiter.delete(key);
    },
  };
}

/**
 * Per-IP calls per operation per minute (SPEC §3: generous by default, per-app setting
 * `ipRateLimitPerMinute`). One counter with a ceiling far above any app's limit, compared with
 * the calling app's own limit, so apps can differ without one limiter each.
 */
export class CallLimiter {
  private readonly limiter: RateLimiterAbstract;

  constructor(factory: LimiterFactory) {
    this.limiter = factory({ name: 'calls', points: 1_000_000_000, durationSeconds: 60 });
  }

  async take(appId: string, operation: string, ip: string, perMinute: number): Promise<void> {
    const res = await this.limiter.consume(`${appId}:${operation}:${ip}`);
    if (res.consumedPoints > perMinute) {
      throw tooManyAttempts(res.msBeforeNext, `Too many ${operation} calls from this address`);
    }
  }
}

/** TOO_MANY_ATTEMPTS with `retryAfter` in whole seconds (at least 1). */
export function tooManyAttempts(msBeforeNext: number, what: string): AppError {
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new AppError('TOO_MANY_ATTEMPTS', `${what}; try again in ${retryAfter} s`, { retryAfter });
}

