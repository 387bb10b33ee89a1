import type { MikroORM } from '@mikro-orm/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { User } from '../src/db/entities';
import { migrate, openOrm } from '../src/db/orm';

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
