import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors';
import type { Logger } from '../logger';

/**
 * Attempt counters (login failures, code sends, per-IP calls) behind one small interface, on
 * rate-limiter-flexible: atomic in-process counters by default, the same limiters on Redis when
 * several instances must share them (REDIS_URL; app.ts picks the one factory every limiter
 * is built with).
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
 * Counters in Redis, shared by every gateway instance that uses the same Redis and prefix
 * (SPEC §8: several instances behave as one). Each take is one atomic Lua call (INCRBY with
 * the window's expiry), so concurrent attempts on any instances never exceed the limit.
 *
 * Keys are `<prefix><limit name>:<sha256 of the counted key>`: the counted keys hold app ids,
 * emails, phone numbers and client IPs, which have no business sitting in Redis in clear.
 * Windows run on Redis's clock (key expiry), not the gateway's.
 */
export function redisLimiterFactory(client: Redis, prefix = 'gatehouse:'): LimiterFactory {
  return (spec) =>
    new HashedKeyRedisLimiter({ storeClient: client, keyPrefix: `${prefix}${spec.name}`, points: spec.points, duration: spec.durationSeconds });
}

class HashedKeyRedisLimiter extends RateLimiterRedis {
  override getKey(key: string | number): string {
    return super.getKey(createHash('sha256').update(String(key)).digest('base64url'));
  }
}

/**
 * The Redis connection for shared counters. Lazy: nothing connects until a limiter is used
 * (the CLI builds services and never counts). A request waits through a short Redis outage
 * (offline queue, one retry) and then fails (INTERNAL) rather than fall back to per-instance
 * counters that would let N instances allow N times the attempts.
 */
export function connectRedis(url: string, logger?: Pick<Logger, 'warn'>): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  // ioredis reconnects by itself; say so in our log, not on stderr ("Unhandled error event").
  client.on('error', (error: Error) => logger?.warn({ err: { message: error.message } }, 'redis: connection failed; retrying'));
  return client;
}

/** Closes a connection made by connectRedis (quit when open, so queued commands finish). */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status !== 'ready') {
    // Never connected, or Redis is away: a QUIT would wait in the offline queue.
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
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
function tooManyAttempts(msBeforeNext: number, what: string): AppError {
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new AppError('TOO_MANY_ATTEMPTS', `${what}; try again in ${retryAfter} s`, { retryAfter });
}

