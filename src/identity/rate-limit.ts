import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors';

/**
 * Attempt counters (login failures, code sends, per-IP calls) behind one small interface, on
 * rate-limiter-flexible: atomic in-process counters now, the same limiter on Redis when
 * several instances must share them (createStore below is the one place that decides).
 */
export interface AttemptLimiter {
  /** Counts one attempt; throws TOO_MANY_ATTEMPTS (with retryAfter) past the limit. */
  take(key: string): Promise<void>;
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

export function createLimiter(factory: LimiterFactory, spec: LimitSpec): AttemptLimiter {
  const limiter = factory(spec);
  return {
    async take(key) {
      try {
        await limiter.consume(key);
      } catch (error) {
        if (error instanceof RateLimiterRes) {
          const retryAfter = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
          throw new AppError('TOO_MANY_ATTEMPTS', `Too many attempts; try again in ${retryAfter} s`, { retryAfter });
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
