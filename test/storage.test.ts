import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsFor } from '../src/db/migrations';
import { MIGRATION_NAMES } from '../src/db/migrations/names';
import { migrate, migratorOf, openOrm, parsePostgresUrl } from '../src/db/orm';
import { apolloClient, run, type Client } from './helpers/client';
import { CREATE_USER } from './helpers/documents';
import { dropSchema, startGateway, TEST_DATABASE_URL, type TestGateway } from './helpers/gateway';
import { REGISTER } from './helpers/session-documents';

/**
 * Storage behaviour that differs between SQLite and PostgreSQL and must not show through the
 * API (SPEC §8: the same suite passes on both). Runs in both passes of `npm test`.
 */
let gw: TestGateway;
let partner: Client;
let frontend: Client;
let seq = 0;
const unique = () => `${Date.now()}${++seq}`;

beforeAll(async () => {
  gw = await startGateway();
  const app = await gw.createApp('Storage');
  partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
  frontend = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
});
afterAll(() => gw.close());

describe(`unique violations name the right field (${TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'})`, () => {
  // The database's error message starts with the failed INSERT, whose column list names every
  // unique column; only the violated constraint may decide the answer.
  it('answers PHONE_TAKEN, not EMAIL_TAKEN, for a duplicate phone of an account that also has an email', async () => {
    const phone = `+4479111${String(seq++).padStart(5, '0')}`;
    expect((await run(partner, CREATE_USER, { input: { email: `p1-${unique()}@example.com`, phoneNumber: phone } })).errors).toEqual([]);
    const again = await run(partner, CREATE_USER, { input: { email: `p2-${unique()}@example.com`, phoneNumber: phone } });
    expect(again.code).toBe('PHONE_TAKEN');
    expect(again.errors[0].extensions!.field).toBe('phoneNumber');
    const registered = await run(frontend, REGISTER, { input: { email: `p3-${unique()}@example.com`, password: 'correct horse battery', phoneNumber: phone } });
    expect(registered.code).toBe('PHONE_TAKEN');
  });

  it('answers BAD_USER_INPUT on externalId for a duplicate external id of an account with email and phone', async () => {
    const externalId = `ext-${unique()}`;
    expect((await run(partner, CREATE_USER, { input: { email: `e1-${unique()}@example.com`, externalId } })).errors).toEqual([]);
    const again = await run(partner, CREATE_USER, { input: { email: `e2-${unique()}@example.com`, phoneNumber: '+35799000111', externalId } });
    expect(again.code).toBe('BAD_USER_INPUT');
    expect(again.errors[0].extensions!.field).toBe('externalId');
  });

  it('answers EMAIL_TAKEN for the same email in another case, with a phone that is free', async () => {
    const address = `Mixed.Case-${unique()}@Example.com`;
    expect((await run(partner, CREATE_USER, { input: { email: address } })).errors).toEqual([]);
    const again = await run(partner, CREATE_USER, { input: { email: address.toLowerCase(), phoneNumber: '+35799000222' } });
    expect(again.code).toBe('EMAIL_TAKEN');
  });
});

describe('DATABASE_URL for PostgreSQL', () => {
  it('takes ?schema=NAME out of the connection URL, defaults to public, and refuses a name that is no plain identifier', () => {
    expect(parsePostgresUrl('postgres://u:p@db:5432/gh?schema=tenant_1&sslmode=require')).toEqual({
      clientUrl: 'postgres://u:p@db:5432/gh?sslmode=require',
      schema: 'tenant_1',
    });
    expect(parsePostgresUrl('postgresql://db/gh').schema).toBe('public');
    expect(() => parsePostgresUrl('postgres://db/gh?schema=x";drop')).toThrow(/schema must be/);
  });

  it.skipIf(!TEST_DATABASE_URL)('migrates a fresh schema once when instances start together (the others wait, then find nothing pending)', async () => {
    const url = new URL(TEST_DATABASE_URL!);
    url.searchParams.set('schema', `gh_${randomBytes(6).toString('hex')}`);
    const orms = await Promise.all([1, 2, 3].map(() => openOrm({ databaseUrl: url.toString() })));
    try {
      const applied = await Promise.all(orms.map((orm) => migrate(orm)));
      const counts = applied.map((names) => names.length).sort();
      expect(counts.slice(0, 2)).toEqual([0, 0]);
      expect(counts[2]).toBeGreaterThan(0);
    } finally {
      await Promise.all(orms.map((orm) => orm.close(true)));
      await dropSchema(url.toString());
    }
  });
});

describe(`migrations (${TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'})`, () => {
  it('names.ts lists the checked-in migrations of each dialect, in order (migrate compares them before it loads the migrator)', () => {
    expect(migrationsFor('sqlite').map((m) => m.name)).toEqual(MIGRATION_NAMES.sqlite);
    expect(migrationsFor('postgresql').map((m) => m.name)).toEqual(MIGRATION_NAMES.postgresql);
  });

  it('applies every migration to a new database and none to a current one', async () => {
    let databaseUrl: string;
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-migrations-'));
    if (TEST_DATABASE_URL) {
      const url = new URL(TEST_DATABASE_URL);
      url.searchParams.set('schema', `gh_${randomBytes(6).toString('hex')}`);
      databaseUrl = url.toString();
    } else {
      databaseUrl = `sqlite:${join(dir, 'm.db')}`;
    }
    const orm = await openOrm({ databaseUrl });
    try {
      expect(await migrate(orm)).toEqual(MIGRATION_NAMES[TEST_DATABASE_URL ? 'postgresql' : 'sqlite']);
      expect(await migrate(orm)).toEqual([]);
    } finally {
      await orm.close(true);
      if (TEST_DATABASE_URL) await dropSchema(databaseUrl);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(TEST_DATABASE_URL)('applies the one migration a database is behind by, though every table it reads exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-migrations-'));
    const orm = await openOrm({ databaseUrl: `sqlite:${join(dir, 'behind.db')}` });
    try {
      const names = MIGRATION_NAMES.sqlite;
      await (await migratorOf(orm)).up({ to: names.at(-2) });
      expect(await migrate(orm)).toEqual([names.at(-1)]);
      expect(await migrate(orm)).toEqual([]);
    } finally {
      await orm.close(true);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(TEST_DATABASE_URL)('SQLite checkpoints off the event loop (issue 13)', () => {
  it('turns the automatic checkpoint off on the serving connection and copies the WAL into the file on its own thread', async () => {
    const connection = gw.gateway.orm.em.getConnection();
    expect(await connection.execute('PRAGMA wal_autocheckpoint')).toEqual([{ wal_autocheckpoint: 0 }]);
    const file = gw.gateway.orm.config.get('dbName')!;
    const before = statSync(file).size;
    // A few hundred pages of commits: with no checkpoint at all they would stay in the WAL,
    // and the database file would not grow until the last connection closed.
    for (let i = 0; i < 200; i++) await gw.createApp(`Checkpointed ${i}`);
    const deadline = Date.now() + 5000;
    while (statSync(file).size === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(statSync(file).size).toBeGreaterThan(before);
  });
});
