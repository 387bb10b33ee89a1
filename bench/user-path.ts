/**
 * What the pieces of a user(email) answer cost on their own, in one process (CPU µs per call, median of 5 × 20,000):
 * the request's EntityManager fork, normalizeEmail, the prepared checkEmail and userByEmail reads, UserType.from.
 * The figures behind bench/README.md, "Lookups without a fork, rows by position, a pool of cores + 1".
 *
 *   npx tsx bench/user-path.ts
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOrm } from '../src/db/orm';
import { HotStore } from '../src/db/fast';
import { normalizeEmail } from '../src/identity/validation';
import { UserType } from '../src/graphql/types/user.type';
import { DEFAULT_APP_SETTINGS } from '../src/config/app-settings';
import { createSchemaAndApp, emailOf, seedUsers } from './lib/seed';

const USERS = 10000;
const N = 20000;
const rnd = () => emailOf(Math.floor(Math.random() * USERS));
async function measure(label: string, call: () => unknown): Promise<void> {
  for (let i = 0; i < 2000; i++) await call();
  const per: number[] = [];
  for (let r = 0; r < 5; r++) {
    const s = process.cpuUsage();
    for (let i = 0; i < N; i++) await call();
    const u = process.cpuUsage(s);
    per.push((u.user + u.system) / N);
  }
  per.sort((a, b) => a - b);
  console.log(`${label.padEnd(40)} ${per[2].toFixed(2).padStart(7)} µs  (${per.map((v) => v.toFixed(1)).join(' / ')})`);
}
async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'user-path-'));
  const file = join(dir, 'db.sqlite');
  const app = await createSchemaAndApp(file);
  await seedUsers(file, app.appId, USERS, '$argon2id$v=19$m=19456,t=2,p=1$abcdefghijklmnop$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq');
  const orm = await openOrm({ databaseUrl: `sqlite:${file}` } as never);
  const store = HotStore.of(orm.em);
  const em = orm.em.fork();
  const rec = (await store.userByEmail(em, app.appId, rnd()))!;
  await measure('em.fork()', () => orm.em.fork());
  await measure('normalizeEmail', () => normalizeEmail(rnd(), 'email'));
  await measure('HotStore.checkEmail', () => store.checkEmail(em, app.appId, rnd()));
  await measure('HotStore.userByEmail', () => store.userByEmail(em, app.appId, rnd()));
  await measure('UserType.from', () => UserType.from(rec, DEFAULT_APP_SETTINGS as never));
  await measure('rnd() alone', () => rnd());
  await orm.close(true);
  rmSync(dir, { recursive: true, force: true });
}
main();
