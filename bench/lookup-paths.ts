/**
 * What one user lookup by (app_id, email_key) costs by each path to storage, in one process
 * (CPU µs per call, process-wide, so the SQLite/pg work on other threads counts too).
 * The numbers behind the "two doors to storage" decision in bench/README.md.
 *
 *   npx tsx bench/lookup-paths.ts [--users 10000] [--pg postgres://postgres@127.0.0.1:5432/test]
 *
 * Each path runs `calls` lookups of random existing emails, `inFlight` at a time (as requests
 * would), 4 times; the median is printed.
 */
import 'reflect-metadata';
import { MikroORM, type EntityManager, type Options } from '@mikro-orm/core';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { User } from '../src/db/entities';
import { migrate, openOrm, ormOptions } from '../src/db/orm';
import { HotStore } from '../src/db/fast';
import { AppService } from '../src/identity/apps';
import { systemClock } from '../src/identity/clock';
import { createSchemaAndApp, emailOf, seedUsers } from './lib/seed';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const USERS = Number(flag('users') ?? 10_000);
const CALLS = 3000;
const IN_FLIGHT = 50;
const ROUNDS = 4;

const randomEmail = () => emailOf(Math.floor(Math.random() * USERS));

async function measure(label: string, call: () => Promise<unknown> | unknown): Promise<void> {
  // warm-up (JIT, statement caches, pool)
  for (let i = 0; i < 300; i++) await call();
  const perCall: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.cpuUsage();
    for (let done = 0; done < CALLS; done += IN_FLIGHT) {
      await Promise.all(Array.from({ length: IN_FLIGHT }, () => call()));
    }
    const used = process.cpuUsage(start);
    perCall.push((used.user + used.system) / CALLS);
  }
  perCall.sort((a, b) => a - b);
  const median = (perCall[1] + perCall[2]) / 2;
  console.log(`${label.padEnd(72)} ${median.toFixed(1).padStart(7)} µs  (${perCall.map((v) => v.toFixed(0)).join(' / ')})`);
}

async function sqlitePaths(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-paths-'));
  const file = join(dir, 'paths.db');
  try {
    const app = await createSchemaAndApp(file);
    await seedUsers(file, app.appId, USERS, 'x');
    const sql = 'select id, is_social from "user" where app_id = ? and email_key = ? limit 1';

    // Before: MikroORM on the asynchronous sqlite3 driver (what `main` runs).
    const { SqliteDriver } = await import('@mikro-orm/sqlite');
    const old = await MikroORM.init({
      ...(await ormOptions({ databaseUrl: `sqlite:${file}` })),
      driver: SqliteDriver,
      pool: { min: 1, max: 1, afterCreate: (conn: { exec(s: string, cb: (e: Error | null) => void): void }, done: (e: Error | null, c: unknown) => void) => conn.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000', (e) => done(e, conn)) },
    } as Options);
    await measure('sqlite3 driver: em.fork().findOne(User, { app, emailKey })', () => old.em.fork().findOne(User, { app: app.appId, emailKey: randomEmail() }));
    await measure('sqlite3 driver: em.getConnection().execute(sql, params, "get")', () => old.em.fork().getConnection().execute(sql, [app.appId, randomEmail()], 'get'));
    await old.close(true);

    // After: MikroORM on better-sqlite3 (src/db/orm.ts), and the prepared path on its connection.
    const orm = await openOrm({ databaseUrl: `sqlite:${file}` });
    await measure('better-sqlite3 driver: em.fork().findOne(User, { app, emailKey })', () => orm.em.fork().findOne(User, { app: app.appId, emailKey: randomEmail() }));
    await measure('better-sqlite3 driver: em.getConnection().execute(sql, params, "get")', () => orm.em.fork().getConnection().execute(sql, [app.appId, randomEmail()], 'get'));
    const store = HotStore.of(orm.em);
    const em = orm.em.fork();
    await measure('HotStore.checkEmail (prepared, shared connection, no await inside)', () => store.checkEmail(em, app.appId, randomEmail()));
    await measure('HotStore.userByEmail (prepared, select *, row -> plain object)', () => store.userByEmail(em, app.appId, randomEmail()));
    await measure('HotStore.checkEmail inside em.transactional (same connection)', () =>
      orm.em.fork().transactional((tx) => store.checkEmail(tx, app.appId, randomEmail())),
    );
    await orm.close(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresPaths(baseUrl: string): Promise<void> {
  const url = new URL(baseUrl);
  const schema = `gh_${randomBytes(6).toString('hex')}`;
  url.searchParams.set('schema', schema);
  const orm = await openOrm({ databaseUrl: url.toString() });
  try {
    await migrate(orm);
    const { app } = await new AppService(systemClock).createApp(orm.em.fork(), 'Paths');
    await orm.em.getConnection().execute(
      `insert into "user" (id, app_id, email, email_key, identifiers, proxy_ids, tier_levels, phone_numbers, referrer_code, created_at, updated_at)
       select gen_random_uuid(), ?, 'user' || i || '@bench.example', 'user' || i || '@bench.example', '[]', '[]', '[]', '[]', 'R' || i, now(), now()
       from generate_series(0, ? - 1) i`,
      [app.id, USERS],
    );
    const sql = 'select id, is_social from "user" where app_id = ? and email_key = ? limit 1';
    await measure('postgresql: em.fork().findOne(User, { app, emailKey })', () => orm.em.fork().findOne(User, { app: app.id, emailKey: randomEmail() }));
    await measure('postgresql: em.getConnection().execute(sql, params, "get")', () => orm.em.fork().getConnection().execute(sql, [app.id, randomEmail()], 'get'));
    const store = HotStore.of(orm.em);
    const em: EntityManager = orm.em.fork();
    await measure('postgresql: HotStore.checkEmail (named prepared, pool connection)', () => store.checkEmail(em, app.id, randomEmail()));
    await measure('postgresql: HotStore.userByEmail (named prepared, select *)', () => store.userByEmail(em, app.id, randomEmail()));
    await measure('postgresql: HotStore.checkEmail inside em.transactional (its connection)', () =>
      orm.em.fork().transactional((tx) => store.checkEmail(tx, app.id, randomEmail())),
    );
  } finally {
    await orm.em.getConnection().execute(`drop schema if exists "${schema}" cascade`);
    await orm.close(true);
  }
}

async function main(): Promise<void> {
  console.log(`Node ${process.version}, ${USERS} users, ${CALLS} calls × ${ROUNDS}, ${IN_FLIGHT} in flight; CPU µs per call (median; the 4 rounds)`);
  await sqlitePaths();
  const pg = flag('pg');
  if (pg) await postgresPaths(pg);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
