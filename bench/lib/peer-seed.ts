/**
 * The peer's data: its own SQLite file (its tables are called "user" and "session" too),
 * migrated by better-auth's own `runMigrations`, with the same N users as the gateway's
 * (same emails, same password). Its scrypt (N=16384 r=16, ~60 ms) would take hours for 100k
 * sign-ups, so ONE user signs up through its API and the others are copies of that user's
 * rows ("user" + its credential "account"), with new ids and emails — as the gateway's seed
 * shares one argon2 hash.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPeerAuth } from './peer-auth';

interface UserRow {
  id: string;
  emailVerified: number;
  image: string | null;
  createdAt: string;
  updatedAt: string;
}

interface AccountRow {
  providerId: string;
  password: string;
  createdAt: string;
  updatedAt: string;
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A 32-character alphanumeric id, the shape better-auth generates. */
function peerId(): string {
  const bytes = randomBytes(32);
  let id = '';
  for (const b of bytes) id += ALPHANUMERIC[b % ALPHANUMERIC.length];
  return id;
}

/** Opens the peer's file with the settings its server uses: WAL, synchronous NORMAL (the gateway's). */
export function openPeerDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Seeds the peer and returns the one password hash all its users share (for its hash bound). */
export async function seedPeer(file: string, users: number, emailOf: (i: number) => string, password: string): Promise<string> {
  const db = openPeerDatabase(file);
  try {
    const auth = createPeerAuth(db, 'http://127.0.0.1');
    await (await auth.$context).runMigrations();
    const first = await auth.api.signUpEmail({ body: { email: emailOf(0), password, name: 'First0 Last0' } });
    const user = db.prepare('select id, emailVerified, image, createdAt, updatedAt from "user" where id = ?').get(first.user.id) as UserRow;
    const account = db
      .prepare('select providerId, password, createdAt, updatedAt from account where userId = ? and providerId = \'credential\'')
      .get(user.id) as AccountRow;
    const insertUser = db.prepare('insert into "user" (id, name, email, emailVerified, image, createdAt, updatedAt) values (?, ?, ?, ?, ?, ?, ?)');
    const insertAccount = db.prepare('insert into account (id, accountId, providerId, userId, password, createdAt, updatedAt) values (?, ?, ?, ?, ?, ?, ?)');
    const copy = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const id = peerId();
        insertUser.run(id, `First${i} Last${i}`, emailOf(i), user.emailVerified, user.image, user.createdAt, user.updatedAt);
        insertAccount.run(peerId(), id, account.providerId, id, account.password, account.createdAt, account.updatedAt);
      }
    });
    for (let from = 1; from < users; from += 20_000) copy(from, Math.min(users, from + 20_000));
    db.pragma('wal_checkpoint(TRUNCATE)');
    return account.password;
  } finally {
    db.close();
  }
}

/** The peer's versions as installed (for the results file). */
export function peerVersions(repo: string): Record<string, string> {
  const versionOf = (name: string) => {
    try {
      return (JSON.parse(readFileSync(join(repo, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return { 'better-auth': versionOf('better-auth'), 'better-sqlite3': versionOf('better-sqlite3') };
}
