import { BetterSqliteKnexDialect } from '@mikro-orm/knex';
import { createRequire } from 'node:module';

/**
 * SQLite write transactions that take the write lock when they begin (SPEC §8).
 *
 * knex (under MikroORM 6) opens every transaction with a plain `BEGIN`, which is DEFERRED: the
 * transaction reads under a snapshot and asks for the write lock only at its first write. If
 * another connection (the CLI, a second process) committed meanwhile, that upgrade fails at
 * once with SQLITE_BUSY — busy_timeout is not consulted, because waiting could not help a
 * stale snapshot — and MikroORM reports LockWaitTimeoutException. `BEGIN IMMEDIATE` takes the
 * write lock first, so a concurrent writer makes it wait (busy_timeout) instead of failing.
 *
 * How it hooks in: MikroORM's SQLite connection builds its knex client from
 * `{ client: <dialect class>, ... }` merged with the ORM's `driverOptions`, so
 * `driverOptions: { client: ImmediateSqliteDialect }` (see ormOptions in orm.ts) swaps in this
 * subclass of MikroORM's own dialect. Its `transaction()` returns knex's SQLite transaction
 * with `begin()` overridden; nested transactions still use SAVEPOINT (knex calls `begin` only
 * for the outermost one), and a `readOnly` transaction stays deferred.
 *
 * The driver is `@mikro-orm/better-sqlite`: knex's better-sqlite3 client extends its sqlite3
 * one and uses the same transaction class, so the subclass is of MikroORM's
 * `BetterSqliteKnexDialect`. (The prepared hot path's own multi-statement writes, db/fast,
 * begin IMMEDIATE by themselves.)
 */
export function beginImmediate<T extends new (...args: any[]) => any>(Dialect: T): T {
  // The knex copy MikroORM itself loads (MonkeyPatchable does the same), not whichever is hoisted.
  const knexRequire = createRequire(require.resolve('@mikro-orm/knex'));
  const SqliteTransaction = knexRequire('knex/lib/dialects/sqlite3/execution/sqlite-transaction') as new (...args: any[]) => {
    readOnly?: boolean;
    query(conn: unknown, sql: string): Promise<unknown>;
  };

  class ImmediateTransaction extends SqliteTransaction {
    begin(conn: unknown): Promise<unknown> {
      return this.query(conn, this.readOnly ? 'BEGIN DEFERRED;' : 'BEGIN IMMEDIATE;');
    }
  }

  return class extends Dialect {
    transaction(...args: unknown[]) {
      return new ImmediateTransaction(this, ...args);
    }
  };
}

/** MikroORM's better-sqlite3 dialect with IMMEDIATE write transactions. */
export const ImmediateBetterSqliteDialect = beginImmediate(BetterSqliteKnexDialect);
