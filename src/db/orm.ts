import { MikroORM, type Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Config } from '../config';
import { ENTITIES } from './entities';
import { migrationsFor } from './migrations';

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

export async function ormOptions(config: Pick<Config, 'databaseUrl'>): Promise<Options> {
  const dialect = dialectOf(config.databaseUrl);
  const common: Options = {
    entities: ENTITIES,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: false },
    migrations: {
      migrationsList: migrationsFor(dialect),
      tableName: 'gatehouse_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    // Never let the ORM print SQL with bound values (emails, hashes) to stdout.
    debug: false,
    allowGlobalContext: false,
  };
  if (dialect === 'sqlite') {
    const { SqliteDriver } = await import('@mikro-orm/sqlite');
    const file = resolve(config.databaseUrl.slice('sqlite:'.length));
    mkdirSync(dirname(file), { recursive: true });
    return {
      ...common,
      driver: SqliteDriver,
      dbName: file,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (conn: { exec(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) =>
          conn.exec(SQLITE_PRAGMAS, (err) => done(err, conn)),
      },
    } as Options;
  }
  const { PostgreSqlDriver } = await import('@mikro-orm/postgresql');
  const url = new URL(config.databaseUrl);
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  return { ...common, driver: PostgreSqlDriver, clientUrl: url.toString(), schema, pool: { min: 1, max: 10 } } as Options;
}

export async function openOrm(config: Pick<Config, 'databaseUrl'>): Promise<MikroORM> {
  return MikroORM.init(await ormOptions(config));
}

/** Applies every pending checked-in migration; returns the names applied. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}
