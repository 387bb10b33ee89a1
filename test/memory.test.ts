import type { MikroORM } from '@mikro-orm/core';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { User } from '../src/db/entities';
import { migrate, openOrm } from '../src/db/orm';
import { createLogger } from '../src/logger';
import { loadMallocTrim } from '../src/server/malloc-trim';
import { startMemoryBudget } from '../src/server/memory-budget';
import { serve } from './helpers/served';

/**
 * What keeps the gateway's memory bounded (issue 13: RSS < 250 MB at peak; bench/README.md,
 * "RSS"), checked on the real parts.
 */
describe('memory', () => {
  let orm: MikroORM;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-memory-'));
    orm = await openOrm({ databaseUrl: `sqlite:${join(dir, 'memory.db')}` });
    await migrate(orm);
  });

  afterAll(async () => {
    await orm?.close(true);
    rmSync(dir, { recursive: true, force: true });
  });

  // patches/knex+3.2.10.patch: knex builds a whole knex instance per transaction; unpatched,
  // each carried ~100 closures of its own (one per query method), ~15 KB of heap that the
  // young generation promoted under load (otp: old space +130 MB in 10 s).
  it('a transaction of the ORM shares the query methods of knex instead of copying them', async () => {
    const seen = await orm.em.fork().transactional(async (em) => {
      const trx = em.getTransactionContext<Record<string, unknown> & object>()!;
      // It still works as a knex instance: the methods resolve, and queries run in the transaction.
      const count = await em.count(User, {});
      return { own: ['select', 'where', 'insert', 'count'].filter((m) => Object.hasOwn(trx, m)), types: typeof trx.select, count };
    });
    expect(seen).toEqual({ own: [], types: 'function', count: 0 });
  });
});

// src/server/memory-budget.ts, on this test process's own memory.
describe('the memory budget', () => {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
  const rssMb = () => process.memoryUsage.rss() / 1048576;
  /** ~150 MB of small objects, dropped on return: garbage in the old generation. */
  const makeGarbage = (): number => {
    const held: unknown[][] = [];
    for (let i = 0; i < 15; i++) held.push(Array.from({ length: 100_000 }, (_, j) => ({ j, s: `x${j}` })));
    return held.length;
  };

  // Node 24's page pool is what the budget is for; on 20 and 22 V8 unmaps freed pages on its own.
  it.runIf(Number(process.versions.node.split('.')[0]) >= 24)(
    'gives back the pages an ordinary collection keeps, once RSS is over the budget, and logs it',
    async () => {
      makeGarbage();
      // An ordinary full collection frees the objects but keeps their pages resident (pooled).
      const { setFlagsFromString } = await import('node:v8');
      setFlagsFromString('--expose-gc');
      (await import('node:vm')).runInNewContext('gc')({ type: 'major', execution: 'sync' });
      const pooled = rssMb();
      const budget = startMemoryBudget({ budgetMb: Math.floor(pooled) - 10, logger, checkEveryMs: 3_600_000, trim: null });
      try {
        const reduction = budget.check();
        expect(reduction).not.toBeNull();
        expect(reduction!.afterMb).toBeLessThan(pooled - 50);
        expect(rssMb()).toBeLessThan(pooled - 50);
        const line = JSON.parse(lines.at(-1)!);
        expect(line).toMatchObject({ msg: 'memory over budget: ran a last-resort collection to give free pages back', beforeMb: expect.any(Number), afterMb: reduction!.afterMb, collected: true });
      } finally {
        budget.stop();
      }
    },
  );

  it('collects only over the budget, at most once per gap, and not at all when it is 0', () => {
    const off = startMemoryBudget({ budgetMb: 0, logger });
    expect(off.check()).toBeNull();
    const high = startMemoryBudget({ budgetMb: Math.ceil(rssMb()) + 1024, logger, checkEveryMs: 3_600_000, trim: null });
    expect(high.check()).toBeNull();
    high.stop();
    const low = startMemoryBudget({ budgetMb: 1, logger, checkEveryMs: 3_600_000, minGapMs: 60_000, trim: null });
    try {
      const first = low.check();
      expect(first).toMatchObject({ beforeMb: expect.any(Number), afterMb: expect.any(Number), pauseMs: expect.any(Number), collected: true });
      // Still over 1 MB, but inside the gap: no second pause.
      expect(low.check()).toBeNull();
    } finally {
      low.stop();
    }
  });
});

// src/server/malloc-trim.ts: free memory inside glibc's arenas (argon2's buffers, in the
// server), which no V8 collection can give back. Made here on the main thread with koffi: small
// blocks (below the mmap threshold, so they come from the main arena), written so their pages
// are resident, then freed under one more block taken after them: it keeps them from merging
// into the arena's top, which free() would trim on its own.
describe.runIf(loadMallocTrim() !== null)("malloc's arenas", () => {
  const koffi = require('koffi') as typeof import('koffi');
  const libc = koffi.load(null);
  const malloc = libc.func('void *malloc(size_t size)');
  const memset = libc.func('void *memset(void *s, int c, size_t n)');
  const free = libc.func('void free(void *p)');
  const block = 100 * 1024;
  const rssMb = () => process.memoryUsage.rss() / 1048576;
  /** ~80 MB of freed blocks under one live one; returns the live one. */
  const freedUnderOne = (): unknown => {
    const blocks = Array.from({ length: 800 }, () => malloc(block));
    for (const p of blocks) memset(p, 1, block);
    const live = malloc(block);
    for (const p of blocks) free(p);
    return live;
  };

  it('are trimmed over the budget before any collection, and a trim that is enough is all it does', () => {
    const lines: string[] = [];
    const logger = createLogger('debug', { write: (line: string) => void lines.push(line) });
    const live = freedUnderOne();
    const held = rssMb();
    const budget = startMemoryBudget({ budgetMb: Math.floor(held) - 40, logger, checkEveryMs: 3_600_000, trim: loadMallocTrim() });
    try {
      const reduction = budget.check();
      expect(reduction).toMatchObject({ collected: false });
      expect(reduction!.afterMb).toBeLessThan(held - 60);
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ msg: 'memory over budget: gave the free pages of malloc arenas back', collected: false });
      // Under the budget now: nothing more to do.
      expect(budget.check()).toBeNull();
    } finally {
      budget.stop();
      free(live);
    }
  });

  it('are trimmed at most once a trimEveryMs', () => {
    let trims = 0;
    const counted = () => void trims++;
    const budget = startMemoryBudget({ budgetMb: 1, logger: createLogger('warn'), checkEveryMs: 3_600_000, minGapMs: 60_000, trim: counted });
    try {
      budget.check(); // a trim, a collection and the trim after it
      expect(trims).toBe(2);
      budget.check(); // inside both gaps
      expect(trims).toBe(2);
    } finally {
      budget.stop();
    }
  });
});

// bin/server-runtime.js: `gatehouse serve` gives itself a small young generation, a 512 MB old one, two malloc arenas and libuv's 4
// pool threads (one per core on bigger machines, up to 8) before any JavaScript of the gateway runs (Linux: /proc).
describe.runIf(process.platform === 'linux' && typeof (process as { execve?: unknown }).execve === 'function')('the serve process', () => {
  const children: ChildProcess[] = [];
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
  });
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs with the young generation, thread pool and malloc arenas of server-runtime.js, in the same process', async () => {
    const served = await serve(join(dir, 'serve.db'), {}, children);
    const pid = served.child.pid!;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(argv).toContain('--max-semi-space-size=8');
    expect(argv).toContain('--max-old-space-size=512');
    expect(argv).toContain('--no-allocation-site-pretenuring');
    // An operator's UV_THREADPOOL_SIZE wins; else one thread per core, 2 to 8.
    const pool = process.env.UV_THREADPOOL_SIZE ?? String(Math.max(2, Math.min(8, availableParallelism())));
    expect(environ).toContain(`UV_THREADPOOL_SIZE=${pool}`);
    expect(environ).toContain(`MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? 2}`);
    // The pid we started is the server: it exec'd itself, no second process in between.
    expect((await fetch(`${served.url}/healthz`)).status).toBe(200);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('serve');
  });

  it("keeps the operator's own value of a flag and of MALLOC_ARENA_MAX", async () => {
    const served = await serve(join(dir, 'own.db'), { NODE_OPTIONS: '--max-semi-space-size=16', MALLOC_ARENA_MAX: '4' }, children);
    const pid = served.child.pid!;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    // Ours would come after NODE_OPTIONS and override it: it is left out; the other flag is still given.
    expect(argv.filter((arg) => arg.startsWith('--max-semi-space-size'))).toEqual([]);
    expect(argv).toContain('--max-old-space-size=512');
    expect(environ).toContain('MALLOC_ARENA_MAX=4');
    expect(environ).toContain('NODE_OPTIONS=--max-semi-space-size=16');
    expect((await fetch(`${served.url}/healthz`)).status).toBe(200);
  });
});
