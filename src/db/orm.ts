import { MikroORM, type IMigrator, type Options } from '@mikro-orm/core';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Config } from '../config';
import { ENTITIES } from './entities';
import { MIGRATION_NAMES } from './migrations/names';
import { ImmediateBetterSqliteDialect } from './sqlite-begin-immediate';
import { afterCommitSubscriber } from './transaction';

export type Dialect = 'sqlite' | 'postgresql';

export function dialectOf(databaseUrl: string): Dialect {
  return databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'postgresql';
}

/**
 * Per-connection SQLite settings. WAL lets readers run beside the writer; synchronous=NORMAL
 * in WAL mode loses nothing on a process crash (kill -9), only possibly the last commits on
 * power loss, and commits ~6x faster than FULL. busy_timeout covers the CLI writing to the
 * file while a server runs.
 */
const SQLITE_PRAGMAS =
  'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;';

const MIGRATIONS_TABLE = 'gatehouse_migrations';

export async function ormOptions(config: Pick<Config, 'databaseUrl'>): Promise<Options> {
  const dialect = dialectOf(config.databaseUrl);
  const common: Options = {
    entities: ENTITIES,
    // No migrator here: it is loaded when something is pending (see migratorOf).
    discovery: { warnWhenNoEntities: false },
    migrations: {
      tableName: MIGRATIONS_TABLE,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    // Never let the ORM print SQL with bound values (emails, hashes) to stdout.
    debug: false,
    allowGlobalContext: false,
    subscribers: [afterCommitSubscriber],
  };
  if (dialect === 'sqlite') {
    // better-sqlite3 (synchronous) rather than sqlite3: the ORM and the prepared hot path
    // (db/fast) share its one connection, so both see the same rows inside one transaction,
    // and a prepared statement runs without a thread-pool round trip (bench/README.md).
    const { BetterSqliteDriver } = await import('@mikro-orm/better-sqlite');
    const file = resolve(config.databaseUrl.slice('sqlite:'.length));
    mkdirSync(dirname(file), { recursive: true });
    return {
      ...common,
      driver: BetterSqliteDriver,
      dbName: file,
      // One connection, for the life of the process: SQLite has one writer anyway, and the
      // hot path's prepared statements belong to it.
      // Write transactions begin IMMEDIATE: a concurrent writer waits for busy_timeout (SPEC §8).
      driverOptions: { client: ImmediateBetterSqliteDialect },
      pool: {
        min: 1,
        max: 1,
        idleTimeoutMillis: 2 ** 31 - 1,
        afterCreate: (conn: { exec(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          try {
            conn.exec(SQLITE_PRAGMAS);
            done(null, conn);
          } catch (error) {
            done(error as Error, conn);
          }
        },
      },
    } as Options;
  }
  const { PostgreSqlDriver } = await import('@mikro-orm/postgresql');
  const { clientUrl, schema } = parsePostgresUrl(config.databaseUrl);
  // Every pooled connection resolves unqualified names (the checked-in migrations' DDL, raw
  // SQL) in our schema only, so nothing of ours lands in `public` or another schema.
  const searchPath = `set search_path to ${quoteIdent(schema)}`;
  return {
    ...common,
    driver: PostgreSqlDriver,
    clientUrl,
    schema,
    pool: {
      min: 0,
      max: 10,
      idleTimeoutMillis: 30_000,
      afterCreate: (conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) =>
        conn.query(searchPath, (err) => done(err, conn)),
    },
  } as Options;
}

/**
 * `postgres://user:pass@host:port/db?schema=NAME`: the connection URL without our `schema`
 * parameter, and the schema (default `public`). The schema name is checked, not escaped
 * away: it becomes an identifier in DDL.
 */
export function parsePostgresUrl(databaseUrl: string): { clientUrl: string; schema: string } {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema') || 'public';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`DATABASE_URL: schema must be letters, digits and _ (at most 63), got "${schema}"`);
  }
  url.searchParams.delete('schema');
  return { clientUrl: url.toString(), schema };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function openOrm(config: Pick<Config, 'databaseUrl'>): Promise<MikroORM> {
  return MikroORM.init(await ormOptions(config));
}

/**
 * Applies every pending checked-in migration; returns the names applied.
 *
 * PostgreSQL: a fresh `?schema=NAME` is created first, and the whole run holds a transaction
 * advisory lock on the schema's name, so instances starting at once (a rolling deploy) apply
 * the migrations exactly once: the others wait, then find nothing pending. It also holds
 * SCHEMA_DDL_LOCK shared: the migrator lists the tables of every schema in the database,
 * which fails if one is dropped meanwhile, so whoever drops a schema of ours (the tests, see
 * test/helpers/gateway.ts) takes that lock exclusively.
 */
/** Advisory lock (hashtext of this) that migrations hold shared and schema drops exclusively. */
export const SCHEMA_DDL_LOCK = 'gatehouse-schema-ddl';

export async function migrate(orm: MikroORM): Promise<string[]> {
  if (await isCurrent(orm)) return [];
  const migrator = await migratorOf(orm);
  const schema = orm.config.get('schema');
  if (!schema) {
    const applied = await migrator.up();
    return applied.map((m) => m.name);
  }
  const connection = orm.em.getConnection();
  if (schema !== 'public') {
    // IF NOT EXISTS can still fail on a concurrent create in PostgreSQL; a second try settles it.
    const sql = `create schema if not exists ${quoteIdent(schema)}`;
    await connection.execute(sql).catch(() => connection.execute(sql));
  }
  return connection.transactional(async (trx) => {
    await connection.execute('select pg_advisory_xact_lock_shared(hashtext(?))', [SCHEMA_DDL_LOCK], 'all', trx);
    await connection.execute('select pg_advisory_xact_lock(hashtext(?))', [`gatehouse-migrate:${schema}`], 'all', trx);
    const applied = await migrator.up({ transaction: trx });
    return applied.map((m) => m.name);
  });
}

/**
 * True when the database has applied every checked-in migration, by name, in one read of the
 * migrations table (absent: a new database, so not current). It decides only whether the
 * migrator is needed; on PostgreSQL the locked run above is what keeps concurrent starts safe.
 */
async function isCurrent(orm: MikroORM): Promise<boolean> {
  const expected = MIGRATION_NAMES[dialectOfOrm(orm)];
  const rows = (await orm.em
    .getConnection()
    .execute(`select name from ${MIGRATIONS_TABLE}`)
    .catch(() => null)) as { name: string }[] | null;
  if (!rows) return false;
  const applied = new Set(rows.map((row) => row.name));
  return expected.every((name) => applied.has(name));
}

/**
 * The migrator, with the checked-in migrations, loaded and registered on first use: a server
 * that starts on a current schema never loads it (see migrations/names.ts).
 */
export async function migratorOf(orm: MikroORM): Promise<IMigrator> {
  // Migrator.register keeps the migrator as this extension of the ORM's configuration.
  if (!orm.config.getExtension(MIGRATOR_EXTENSION)) {
    const [{ Migrator }, { migrationsFor }] = await Promise.all([import('@mikro-orm/migrations'), loadMigrations()]);
    orm.config.set('migrations', { ...orm.config.get('migrations'), migrationsList: migrationsFor(dialectOfOrm(orm)) });
    Migrator.register(orm);
  }
  return orm.getMigrator();
}

const MIGRATOR_EXTENSION = '@mikro-orm/migrator';

/** The checked-in migrations' module (its classes load @mikro-orm/migrations). */
async function loadMigrations(): Promise<typeof import('./migrations')> {
  try {
    return await import('./migrations/index.js');
  } catch (error) {
    // From source, bin/gatehouse.js runs under tsx's CommonJS hooks, which import() does not
    // go through: there is no .js file to find, and require() is the way to the .ts one.
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return require('./migrations') as typeof import('./migrations');
  }
}

/** ormOptions sets a schema for PostgreSQL only (`public` by default). */
function dialectOfOrm(orm: MikroORM): Dialect {
  return orm.config.get('schema') ? 'postgresql' : 'sqlite';
}
