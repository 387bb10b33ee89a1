/**
 * The bench's data: a fresh SQLite file migrated by the gateway's own code, one app with a
 * publishable and a secret key (created by AppService, as the CLI does), N users inserted
 * directly, and a pool of live sessions with known refresh tokens for the refresh scenario.
 *
 * Users all share ONE argon2id hash (of BENCH_PASSWORD, with the gateway's parameters):
 * hashing 100k passwords would take ~15 minutes here and measure nothing we need. Rows go in
 * with one prepared multi-row INSERT per batch, inside transactions.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import sqlite3 from 'sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { loadConfig } from '../../src/config';
import { migrate, openOrm } from '../../src/db/orm';
import { AppService } from '../../src/identity/apps';
import { systemClock } from '../../src/identity/clock';
import { PasswordHasher } from '../../src/identity/passwords/hasher';
import { sha256 } from '../../src/identity/secrets';

export const BENCH_PASSWORD = 'Bench-password-1';

export interface BenchApp {
  appId: string;
  publishableKey: string;
  secretKey: string;
}

export function emailOf(index: number): string {
  return `user${index}@bench.example`;
}

/** Migrates a fresh file and creates the app. Per-IP limits are raised to their maximum: this is a load test from one address. */
export async function createSchemaAndApp(file: string): Promise<BenchApp> {
  const config = loadConfig({}, { databaseUrl: `sqlite:${file}`, logLevel: 'silent' });
  const orm = await openOrm(config);
  try {
    await migrate(orm);
    const apps = new AppService(systemClock);
    let created;
    try {
      created = await apps.createApp(orm.em.fork(), 'Bench', { ipRateLimitPerMinute: 1_000_000 });
    } catch {
      created = await apps.createApp(orm.em.fork(), 'Bench'); // a tree without that setting
    }
    return { appId: created.app.id, publishableKey: created.publishable.key, secretKey: created.secret.key };
  } finally {
    await orm.close(true);
  }
}

export async function hashBenchPassword(): Promise<string> {
  return new PasswordHasher().hash(BENCH_PASSWORD);
}

class Db {
  private constructor(readonly raw: sqlite3.Database) {}

  static async open(file: string): Promise<Db> {
    const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
      const db = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(db)));
    });
    const db = new Db(raw);
    // Seeding only: the gateway opens the file with its own (durable) settings afterwards.
    await db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536;');
    return db;
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.raw.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  prepare(sql: string): Promise<sqlite3.Statement> {
    return new Promise((resolve, reject) => {
      const statement = this.raw.prepare(sql, (err) => (err ? reject(err) : resolve(statement)));
    });
  }

  all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => this.raw.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.raw.close(() => resolve()));
  }
}

function run(statement: sqlite3.Statement, params: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => statement.run(params, (err) => (err ? reject(err) : resolve())));
}

function finalize(statement: sqlite3.Statement): Promise<void> {
  return new Promise((resolve) => statement.finalize(() => resolve()));
}

/**
 * Inserts `count` rows: `rowSql` is one row's "(?, ?, …)" with `perRow` placeholders, `values(i)`
 * the parameters of row i. One prepared statement for full batches (and one for the tail),
 * `batchesPerTransaction` batches per transaction.
 */
async function bulkInsert(
  db: Db,
  head: string,
  rowSql: string,
  count: number,
  values: (i: number) => unknown[],
  batch = 500,
  batchesPerTransaction = 40,
  onProgress?: (done: number) => void,
): Promise<void> {
  const prepared = new Map<number, sqlite3.Statement>();
  const statementFor = async (rows: number) => {
    let statement = prepared.get(rows);
    if (!statement) {
      statement = await db.prepare(`${head} values ${Array.from({ length: rows }, () => rowSql).join(', ')}`);
      prepared.set(rows, statement);
    }
    return statement;
  };
  let done = 0;
  while (done < count) {
    await db.exec('begin');
    for (let b = 0; b < batchesPerTransaction && done < count; b++) {
      const rows = Math.min(batch, count - done);
      const params: unknown[] = [];
      for (let i = done; i < done + rows; i++) params.push(...values(i));
      await run(await statementFor(rows), params);
      done += rows;
    }
    await db.exec('commit');
    onProgress?.(done);
  }
  for (const statement of prepared.values()) await finalize(statement);
}

/** Inserts users 0..count-1 (emails user<i>@bench.example), all with `passwordHash`. */
export async function seedUsers(file: string, appId: string, count: number, passwordHash: string, onProgress?: (done: number) => void): Promise<void> {
  const db = await Db.open(file);
  try {
    const now = Date.now();
    const constants = `'${appId}', 0, 0, '${passwordHash}', '[]', 0, 'PENDING', 'PENDING', 'PENDING', 1, 0, 0, 0, 'good', '[]', '[]', '[]'`;
    if (/'/.test(appId + passwordHash)) throw new Error('unexpected quote in app id or hash');
    await bulkInsert(
      db,
      'insert into "user" (id, email, email_key, first_name, last_name, name_key, referrer_code, registered_at, created_at, updated_at, ' +
        'app_id, email_verified, phone_verified, password_hash, identifiers, opted_in, opt_in_email, opt_in_sms, opt_in_push, activated, ' +
        'suspended, test_account, is_social, account_status, proxy_ids, tier_levels, phone_numbers)',
      `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${constants})`,
      count,
      (i) => {
        const email = emailOf(i);
        const t = now - (count - i); // time-ordered like real sign-ups
        return [uuidv7({ msecs: t }), email, email, `First${i}`, `Last${i}`, `first${i} last${i}`, `BENCH-${i.toString(36).toUpperCase()}`, t, t, t];
      },
      500,
      40,
      onProgress,
    );
  } finally {
    await db.close();
  }
}

/**
 * Live sessions with known refresh tokens, as `signIn` would have written them (one session
 * and one unused refresh token each), for users firstUser.. (wrapping around). Returns the tokens.
 */
export async function seedSessions(file: string, appId: string, users: number, firstUser: number, count: number): Promise<string[]> {
  const db = await Db.open(file);
  try {
    const ids = await db.all<{ id: string; email_key: string }>('select id, email_key from "user" where app_id = ? and email_key in (' +
      Array.from({ length: Math.min(count, users, 500) }, () => '?').join(',') + ')', [
      appId,
      ...Array.from({ length: Math.min(count, users, 500) }, (_, k) => emailOf((firstUser + k) % users)),
    ]);
    const userIds = ids.map((r) => r.id);
    if (userIds.length === 0) throw new Error('no users to give sessions to');
    const now = Date.now();
    const expires = now + 30 * 24 * 3600 * 1000;
    const tokens: string[] = [];
    const sessionIds: string[] = [];
    for (let i = 0; i < count; i++) {
      tokens.push(`rt_${randomBytes(32).toString('base64url')}`);
      sessionIds.push(uuidv7());
    }
    const scope = 'openid profile email phone';
    await bulkInsert(
      db,
      'insert into "session" (id, app_id, user_id, scope, auth_time, registration_required, created_at, expires_at, ip)',
      `(?, '${appId}', ?, '${scope}', ?, 0, ?, ?, '127.0.0.1')`,
      count,
      (i) => [sessionIds[i], userIds[i % userIds.length], now, now, expires],
    );
    await bulkInsert(
      db,
      'insert into "refresh_token" (id, session_id, token_hash, created_at, expires_at)',
      '(?, ?, ?, ?, ?)',
      count,
      (i) => [uuidv7(), sessionIds[i], sha256(tokens[i]), now, expires],
    );
    return tokens;
  } finally {
    await db.close();
  }
}

/** The newest development-outbox message per recipient (OTP scenario), or null when there is no outbox table. */
export async function readOutbox(file: string, appId: string): Promise<Map<string, string> | null> {
  const db = await Db.open(file);
  try {
    const tables = await db.all<{ name: string }>("select name from sqlite_master where type = 'table' and name = 'outbox_message'");
    if (tables.length === 0) return null;
    const rows = await db.all<{ to: string; body: string }>('select "to", body from outbox_message where app_id = ? order by created_at', [appId]);
    const byRecipient = new Map<string, string>();
    for (const row of rows) byRecipient.set(row.to.toLowerCase(), row.body);
    return byRecipient;
  } finally {
    await db.close();
  }
}
