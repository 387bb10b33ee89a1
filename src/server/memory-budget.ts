import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../logger';
import { loadMallocTrim, type MallocTrim } from './malloc-trim';

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
 *
 * Memory outside V8 is the other half: the 19 MiB buffers of argon2 hashes that glibc keeps in
 * its arenas once freed (src/server/malloc-trim.ts). Over the budget, before any collection, the
 * arenas' free pages are given back with `malloc_trim(0)` (1–6 ms, no V8 pause), at most once a
 * `trimEveryMs`; the collection then judges what is left, and is followed by a trim of its own
 * (what V8 freed outside its heap goes back to the arenas).
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
  /** The shortest time between two trims of malloc's arenas. */
  trimEveryMs?: number;
  /** glibc's malloc_trim; loaded when not given, null where there is none (tests pass their own). */
  trim?: MallocTrim | null;
}

export interface Reduction {
  beforeMb: number;
  afterMb: number;
  pauseMs: number;
  /** Whether V8 collected (else malloc's arenas alone were trimmed). */
  collected: boolean;
}

export interface MemoryBudget {
  /** Reads RSS once and collects if it is over the budget and the gap allows; the reduction, or null. */
  check(): Reduction | null;
  stop(): void;
}

export function startMemoryBudget({
  budgetMb,
  logger,
  checkEveryMs = 500,
  minGapMs = 1000,
  pausesPerGap = 15,
  trimEveryMs = 1000,
  trim = loadMallocTrim(),
}: MemoryBudgetOptions): MemoryBudget {
  if (budgetMb <= 0) return { check: () => null, stop: () => undefined };
  const collect = lastResortGc();
  const budget = budgetMb * 1048576;
  let gap = minGapMs;
  let last = -Infinity;
  let lastTrim = -Infinity;
  /** RSS right after the last collection, or the lowest since (in bytes). */
  let floor = 0;

  const check = (): Reduction | null => {
    const start = performance.now();
    const before = process.memoryUsage.rss();
    if (before <= budget) {
      floor = Math.min(floor, before);
      return null;
    }
    // The arenas first: cheap, and what they give back is no reason to pause the event loop.
    const trimmed = trim !== null && start - lastTrim >= trimEveryMs;
    let rss = before;
    if (trimmed) {
      trim();
      lastTrim = performance.now();
      rss = process.memoryUsage.rss();
    }
    floor = Math.min(floor, rss);
    if (rss <= budget || rss <= floor * 1.1 || start - last < gap) {
      if (!trimmed) return null;
      const reduction = { beforeMb: mb(before), afterMb: mb(rss), pauseMs: round(lastTrim - start), collected: false };
      logger.debug({ ...reduction, budgetMb }, 'memory over budget: gave the free pages of malloc arenas back');
      return reduction;
    }
    const collectedAt = performance.now();
    collect();
    trim?.();
    last = performance.now();
    const after = process.memoryUsage.rss();
    const reduction = { beforeMb: mb(before), afterMb: mb(after), pauseMs: round(last - start), collected: true };
    floor = after;
    gap = Math.max(minGapMs, (last - collectedAt) * pausesPerGap);
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

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
