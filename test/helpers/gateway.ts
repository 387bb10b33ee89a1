import { MikroORM } from '@mikro-orm/core';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, type Gateway } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { parsePostgresUrl, SCHEMA_DDL_LOCK } from '../../src/db/orm';
import { ShiftedClock } from '../../src/identity/clock';
import type { Logger } from '../../src/logger';

export interface TestApp {
  appId: string;
  publishableKey: string;
  secretKey: string;
  publishableKeyId: string;
  secretKeyId: string;
}

export interface TestGateway {
  url: string;
  gateway: Gateway;
  clock: ShiftedClock;
  createApp(name?: string, settings?: Record<string, unknown>): Promise<TestApp>;
  /**
   * Resolves once the courier has delivered what this gateway queued (it is woken by each
   * commit that queued a message, so after an answer this waits for that message's attempt).
   */
  delivered(): Promise<void>;
  /** Runs the courier now (e.g. after moving the clock to a retry's time) and waits for it. */
  drainOutbox(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions {
  /**
   * Another instance of the same deployment: this gateway uses its database (the same
   * PostgreSQL schema or SQLite file), its Redis and key prefix, its public URL (the issuer)
   * and its clock, so the two behave as one gateway behind a load balancer. The storage stays the first one's: close
   * this one first.
   */
  sameDeploymentAs?: TestGateway;
  /** The gateway's logger (default: one at TEST_LOG_LEVEL, silent); tests that read the log pass their own. */
  logger?: Logger;
}

/**
 * Where the suite's storage lives. By default each gateway gets a temporary SQLite file and
 * in-process counters. The PostgreSQL run (`scripts/test-postgres.sh`) sets
 * GATEHOUSE_TEST_DATABASE_URL (a PostgreSQL database; each gateway gets a fresh schema
 * `gh_<random>`, dropped on close) and GATEHOUSE_TEST_REDIS_URL (each gateway gets its own key
 * prefix, whose keys are deleted on close).
 */
export const TEST_DATABASE_URL = process.env.GATEHOUSE_TEST_DATABASE_URL || undefined;
export const TEST_REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL || undefined;

/** A real gateway on a free loopback port, on its own storage (see above). */
export async function startGateway(overrides: Partial<Config> = {}, options: StartOptions = {}): Promise<TestGateway> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const shared = options.sameDeploymentAs?.gateway.config;
  const storage: Partial<Config> = {};
  if (shared) {
    Object.assign(storage, {
      databaseUrl: shared.databaseUrl,
      redisUrl: shared.redisUrl,
      redisKeyPrefix: shared.redisKeyPrefix,
      // One deployment has one PUBLIC_URL (the load balancer's): the issuer of every token.
      publicUrl: shared.publicUrl,
      publicUrlExplicit: true,
    });
  } else {
    const id = `gh_${randomBytes(6).toString('hex')}`;
    if (TEST_DATABASE_URL && overrides.databaseUrl === undefined) {
      const url = new URL(TEST_DATABASE_URL);
      url.searchParams.set('schema', id);
      storage.databaseUrl = url.toString();
      cleanups.push(() => dropSchema(storage.databaseUrl!));
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
      storage.databaseUrl = `sqlite:${join(dir, 'gatehouse.db')}`;
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    }
    if (TEST_REDIS_URL && overrides.redisUrl === undefined) {
      storage.redisUrl = TEST_REDIS_URL;
      storage.redisKeyPrefix = `${id}:`;
      cleanups.push(() => deleteRedisKeys(TEST_REDIS_URL!, `${id}:`));
    }
  }
  const config = loadConfig({}, {
    host: '127.0.0.1',
    port: 0,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...storage,
    ...overrides,
  });
  const clock = options.sameDeploymentAs?.clock ?? new ShiftedClock();
  const cleanUp = async () => {
    for (const step of cleanups.reverse()) await step();
  };
  let gateway: Gateway;
  try {
    gateway = await createGateway(config, { clock, logger: options.logger });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const url = await gateway.listen();
  let counter = 0;
  return {
    url,
    gateway,
    clock,
    async createApp(name = `App ${++counter}`, settings = {}) {
      const { app, publishable, secret } = await gateway.services.apps.createApp(gateway.orm.em.fork(), name, settings);
      return { appId: app.id, publishableKey: publishable.key, secretKey: secret.key, publishableKeyId: publishable.id, secretKeyId: secret.id };
    },
    delivered: () => gateway.services.courier.settled(),
    drainOutbox: () => gateway.services.courier.drain(),
    async close() {
      await gateway.close();
      await cleanUp();
    },
  };
}

/**
 * Drops a test schema (only ever a `gh_…` one; never `public`), holding SCHEMA_DDL_LOCK
 * exclusively so that no gateway starting meanwhile (in this run or another one on the same
 * database) has its migrator trip over a half-dropped schema.
 */
export async function dropSchema(databaseUrl: string): Promise<void> {
  const { clientUrl, schema } = parsePostgresUrl(databaseUrl);
  if (!/^gh_[0-9a-f]+$/.test(schema)) throw new Error(`refusing to drop schema ${schema}`);
  const { PostgreSqlDriver } = await import('@mikro-orm/postgresql');
  const orm = await MikroORM.init({
    driver: PostgreSqlDriver,
    clientUrl,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: 1 },
    debug: false,
  });
  try {
    const connection = orm.em.getConnection();
    await connection.transactional(async (trx) => {
      await connection.execute('select pg_advisory_xact_lock(hashtext(?))', [SCHEMA_DDL_LOCK], 'all', trx);
      await connection.execute(`drop schema if exists "${schema}" cascade`, [], 'all', trx);
    });
  } finally {
    await orm.close(true);
  }
}

/** Deletes this gateway's counters (they would expire anyway, within 15 minutes). */
async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
