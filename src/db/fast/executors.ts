import type { EntityManager } from '@mikro-orm/core';
import type { StatementName, StatementTexts } from './statements';
import type { Row } from './rows';

/**
 * One step of a plan: a named statement and its parameters. `get` answers the first row (or
 * undefined), `values` the same row as an array of its values in select order (no object with a
 * property per column: for the whole-row reads, which rows.ts maps by position), `all` every
 * row, `run` the number of rows changed.
 */
export type Op =
  | { mode: 'get'; name: StatementName; params: unknown[] }
  | { mode: 'values'; name: StatementName; params: unknown[] }
  | { mode: 'all'; name: StatementName; params: unknown[] }
  | { mode: 'run'; name: StatementName; params: unknown[] };

/**
 * What the hot path runs: a generator that yields statements and receives their results.
 * Written once, it runs synchronously on SQLite (so a multi-statement write is one
 * uninterrupted transaction on the shared connection) and asynchronously on PostgreSQL.
 */
export type Plan<T> = Generator<Op, T, unknown>;

export const get = (name: StatementName, ...params: unknown[]): Op => ({ mode: 'get', name, params });
export const values = (name: StatementName, ...params: unknown[]): Op => ({ mode: 'values', name, params });
export const all = (name: StatementName, ...params: unknown[]): Op => ({ mode: 'all', name, params });
export const run = (name: StatementName, ...params: unknown[]): Op => ({ mode: 'run', name, params });

export interface Executor {
  /**
   * Runs a plan on the connection `em` is on: inside `em`'s transaction when it has one (so the
   * plan and the ORM see each other's writes), else on its own. `atomic`: the plan's writes
   * commit together (a transaction of its own, or a savepoint inside the caller's).
   */
  execute<T>(em: EntityManager, plan: Plan<T>, atomic: boolean): Promise<T>;
}

/** The parts of knex's client we use: its pool of raw driver connections. */
interface KnexClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
}

/** The knex transaction MikroORM keeps as an EntityManager's transaction context. */
interface KnexTransaction {
  client: KnexClient;
}

type ConvertError = (error: unknown) => unknown;

// ------------------------------------------------------------------------------------------
// SQLite: better-sqlite3, the ORM's one connection
// ------------------------------------------------------------------------------------------

interface BetterStatement {
  get(...params: unknown[]): unknown;
  raw(on: boolean): BetterStatement;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}

interface BetterDatabase {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(sql: string): BetterStatement;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): { (...args: A): R; immediate(...args: A): R };
}

/** SQLite stores what the ORM stores: datetimes as epoch ms, booleans as 0/1. */
function sqliteParam(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/**
 * better-sqlite3 is synchronous and MikroORM's pool holds exactly one connection (db/orm.ts),
 * so the ORM and this executor share it, and its prepared statements live as long as it does.
 *
 * Which transaction a statement lands in is decided by the connection's state, not by luck:
 * - not in a transaction: the plan runs at once; being synchronous, nothing can interleave,
 *   so it is its own autocommit statement (or its own `BEGIN IMMEDIATE … COMMIT`);
 * - in a transaction that is `em`'s (em has a transaction context; SQLite has only the one):
 *   the plan runs inside it, seeing and being seen by the ORM's writes of that transaction;
 * - in another request's transaction: the plan waits for the pool, i.e. for that transaction
 *   to end, exactly as an ORM query would, and never joins a transaction it does not own.
 */
export class SqliteExecutor implements Executor {
  private db?: BetterDatabase;
  private statements = new Map<StatementName, BetterStatement>();
  /** The same statements in raw mode (rows as arrays), for `values` steps. */
  private rawStatements = new Map<StatementName, BetterStatement>();
  private atomically?: (plan: Plan<unknown>) => unknown;

  constructor(
    private readonly client: KnexClient,
    private readonly texts: StatementTexts,
    private readonly convert: ConvertError,
  ) {}

  execute<T>(em: EntityManager, plan: Plan<T>, atomic: boolean): Promise<T> {
    const db = this.db;
    if (db?.open && (!db.inTransaction || em.getTransactionContext() !== undefined)) {
      try {
        return Promise.resolve(this.runNow(db, plan, atomic));
      } catch (error) {
        return Promise.reject(this.convert(error));
      }
    }
    return this.viaPool(em, plan, atomic);
  }

  /**
   * First use, a replaced connection, or another request's open transaction: take the pool's
   * turn. Inside em's own transaction the connection comes from that transaction (the pool's
   * only connection is the one it holds: waiting for the pool would wait for ourselves).
   */
  private async viaPool<T>(em: EntityManager, plan: Plan<T>, atomic: boolean): Promise<T> {
    const owner = em.getTransactionContext<KnexTransaction>()?.client ?? this.client;
    const connection = (await owner.acquireConnection()) as BetterDatabase;
    try {
      if (connection !== this.db) this.adopt(connection);
      return this.runNow(connection, plan, atomic);
    } catch (error) {
      throw this.convert(error);
    } finally {
      await owner.releaseConnection(connection);
    }
  }

  private adopt(db: BetterDatabase): void {
    this.db = db;
    this.statements.clear();
    this.rawStatements.clear();
    // better-sqlite3 nests a transaction function called inside an open transaction as a
    // savepoint; at top level `.immediate` takes the write lock at BEGIN (SPEC §8).
    const tx = db.transaction((plan: Plan<unknown>) => this.drive(db, plan));
    this.atomically = (plan) => (db.inTransaction ? tx(plan) : tx.immediate(plan));
  }

  private runNow<T>(db: BetterDatabase, plan: Plan<T>, atomic: boolean): T {
    return atomic ? (this.atomically!(plan) as T) : this.drive(db, plan);
  }

  private drive<T>(db: BetterDatabase, plan: Plan<T>): T {
    let step = plan.next();
    while (!step.done) {
      const op = step.value;
      const params = op.params.map(sqliteParam);
      let result: unknown;
      if (op.mode === 'values') {
        result = this.rawStatement(db, op.name).get(...params);
      } else {
        const statement = this.statement(db, op.name);
        result = op.mode === 'get' ? statement.get(...params) : op.mode === 'all' ? statement.all(...params) : statement.run(...params).changes;
      }
      step = plan.next(result);
    }
    return step.value;
  }

  private statement(db: BetterDatabase, name: StatementName): BetterStatement {
    let statement = this.statements.get(name);
    if (!statement) {
      statement = db.prepare(this.texts[name]);
      this.statements.set(name, statement);
    }
    return statement;
  }

  private rawStatement(db: BetterDatabase, name: StatementName): BetterStatement {
    let statement = this.rawStatements.get(name);
    if (!statement) {
      statement = db.prepare(this.texts[name]).raw(true);
      this.rawStatements.set(name, statement);
    }
    return statement;
  }
}

// ------------------------------------------------------------------------------------------
// PostgreSQL: pg named prepared statements on the ORM's pool
// ------------------------------------------------------------------------------------------

interface PgClient {
  query(config: { name: string; text: string; values: unknown[]; types?: unknown; rowMode?: 'array' }): Promise<{ rows: Row[]; rowCount: number | null }>;
  query(text: string): Promise<unknown>;
}

/**
 * Named prepared statements (`{ name, text, values }`): pg parses and plans each once per
 * connection and keeps it for the connection's life; later calls send only Bind/Execute.
 * The connection is `em`'s transaction's when it has one (a knex transaction's client hands
 * out its own connection), else one borrowed from the ORM's pool for the plan.
 *
 * `types`: pg's default parsers (timestamptz → Date, jsonb → value), per query, so rows need
 * no string-to-Date step; the ORM's connections keep timestamps as strings for its own mapper.
 */
export class PostgresExecutor implements Executor {
  private readonly names: Record<StatementName, string>;

  constructor(
    private readonly client: KnexClient,
    private readonly texts: StatementTexts,
    private readonly types: unknown,
    private readonly convert: ConvertError,
  ) {
    this.names = Object.fromEntries(Object.keys(texts).map((name) => [name, `gh_${name}`])) as Record<StatementName, string>;
  }

  async execute<T>(em: EntityManager, plan: Plan<T>, atomic: boolean): Promise<T> {
    const trx = em.getTransactionContext<KnexTransaction>();
    try {
      if (trx) {
        // Inside the caller's transaction: a failed step fails (and aborts) that transaction,
        // which the caller rolls back, so the plan's writes still commit together or not at all.
        return await this.drive((await trx.client.acquireConnection()) as PgClient, plan);
      }
      const connection = (await this.client.acquireConnection()) as PgClient;
      try {
        if (!atomic) return await this.drive(connection, plan);
        await connection.query('begin');
        try {
          const result = await this.drive(connection, plan);
          await connection.query('commit');
          return result;
        } catch (error) {
          await connection.query('rollback').catch((rollbackError: unknown) => {
            // Never hand the pool a connection stuck in a transaction: knex destroys a disposed one.
            (connection as { __knex__disposed?: unknown }).__knex__disposed = rollbackError;
          });
          throw error;
        }
      } finally {
        await this.client.releaseConnection(connection);
      }
    } catch (error) {
      throw this.convert(error);
    }
  }

  private async drive<T>(connection: PgClient, plan: Plan<T>): Promise<T> {
    let step = plan.next();
    while (!step.done) {
      const op = step.value;
      const query = { name: this.names[op.name], text: this.texts[op.name], values: op.params, types: this.types };
      const result = await connection.query(op.mode === 'values' ? { ...query, rowMode: 'array' } : query);
      step = plan.next(op.mode === 'get' || op.mode === 'values' ? result.rows[0] : op.mode === 'all' ? result.rows : (result.rowCount ?? 0));
    }
    return step.value;
  }
}
