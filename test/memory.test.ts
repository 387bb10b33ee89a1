import type { MikroORM } from '@mikro-orm/core';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { User } from '../src/db/entities';
import { migrate, openOrm } from '../src/db/orm';
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

// bin/server-runtime.js: `gatehouse serve` gives itself a small young generation and libuv's 4
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

  it('runs with the young generation and thread pool of server-runtime.js, in the same process', async () => {
    const served = await serve(join(dir, 'serve.db'), {}, children);
    const pid = served.child.pid!;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(argv).toContain('--max-semi-space-size=8');
    // An operator's UV_THREADPOOL_SIZE wins; else libuv's 4, or one per core up to 8.
    const pool = process.env.UV_THREADPOOL_SIZE ?? String(Math.min(8, Math.max(4, availableParallelism())));
    expect(environ).toContain(`UV_THREADPOOL_SIZE=${pool}`);
    // The pid we started is the server: it exec'd itself, no second process in between.
    expect((await fetch(`${served.url}/healthz`)).status).toBe(200);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('serve');
  });
});
