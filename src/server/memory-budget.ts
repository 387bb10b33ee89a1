import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../logger';

/**
 * A ceiling for the server process's resident memory (issue 13: RSS < 250 MB at peak).
 *
 * Node 24's V8 keeps the pages a garbage collection frees in a pool instead of giving them back,
 * and empties the pool only in a *memory-reducing* collection, which a loaded server never gets
 * (V8's memory reducer waits for a quiet moment). So the process stays at the highest heap it
 * ever had: after a burst of hostile documents, 649 MB of RSS over a 146 MB heap
 * (bench/README.md, "RSS, second pass"). JavaScript cannot send V8 the memory-pressure
 * notification that would do it, but the `gc` function of `--expose-gc` can run the collection
 * V8 itself runs before giving up on memory ("last resort"), which empties the pool: 894 → 82 MB
 * in 96 ms on a dropped 800 MB heap.
 *
 * That collection stops the event loop (80–130 ms here, up to 340 during logins, when the
 * argon2 threads hold the cores), so it runs only when RSS is over the budget *and* more than
 * 10 % above what the last collection left (or the lowest RSS since): what a collection
 * cannot give back (live data, the argon2 buffers of logins in flight) is not collected again
 * and again. And at most one pause per 15 pauses' worth of time (6 % of the time, only while
 * RSS is over the budget and growing; never closer than `minGapMs`). Collecting more often
 * than that did not lower the peaks (bench/README.md, "RSS, third pass"): the heap regrows to
 * its working size for the load within a second or two. On Node 20 and 22, where V8 unmaps
 * freed pages on its own, the collection is merely early.
 *
 * `gc` is taken from a context of its own, so the process's main context never has a global
 * `gc` (contexts a library might create later would, as `--expose-gc` is now on).
 */
export interface MemoryBudgetOptions {
  /** RSS in MB above which free memory is given back; 0 turns the budget off. */
  budgetMb: number;
  logger: Logger;
  /** How often RSS is read (a /proc read: microseconds). */
  checkEveryMs?: number;
  /** The shortest time between two collections. */
  minGapMs?: number;
  /** Time between two collections, in pauses: 15 keeps the pauses to 6 % of the time. */
  pausesPerGap?: number;
}

export interface Reduction {
  beforeMb: number;
  afterMb: number;
  pauseMs: number;
}

export interface MemoryBudget {
  /** Reads RSS once and collects if it is over the budget and the gap allows; the reduction, or null. */
  check(): Reduction | null;
  stop(): void;
}

export function startMemoryBudget({ budgetMb, logger, checkEveryMs = 500, minGapMs = 1000, pausesPerGap = 15 }: MemoryBudgetOptions): MemoryBudget {
  if (budgetMb <= 0) return { check: () => null, stop: () => undefined };
  const collect = lastResortGc();
  let gap = minGapMs;
  let last = -Infinity;
  /** RSS right after the last collection, or the lowest since (in bytes). */
  let floor = 0;

  const check = (): Reduction | null => {
    const before = process.memoryUsage.rss();
    const now = performance.now();
    floor = Math.min(floor, before);
    if (before <= budgetMb * 1048576 || before <= floor * 1.1 || now - last < gap) return null;
    collect();
    last = performance.now();
    const after = process.memoryUsage.rss();
    const pause = last - now;
    const reduction = { beforeMb: mb(before), afterMb: mb(after), pauseMs: Math.round(pause) };
    floor = after;
    gap = Math.max(minGapMs, pause * pausesPerGap);
    logger.info({ ...reduction, budgetMb, nextGapMs: Math.round(gap) }, 'memory over budget: ran a last-resort collection to give free pages back');
    return reduction;
  };

  const timer = setInterval(check, checkEveryMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}

/** V8's `gc`, from a fresh context so the main context's global scope never gets one. */
function lastResortGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
  return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

function mb(bytes: number): number {
  return Math.round(bytes / 1048576);
}
