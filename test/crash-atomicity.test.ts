import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openOrm } from '../src/db/orm';
import { gatehouse } from './helpers/cli';
import { startSmtpPeer } from './helpers/delivery-peers';
import { TEST_DATABASE_URL } from './helpers/gateway';
import { gql, kill9, serve } from './helpers/served';

/**
 * SPEC §8: writes that belong together commit together, and a message survives a crash
 * between its commit and its delivery (SPEC §6). The real `gatehouse serve` runs as a child
 * process on a SQLite file and is killed with SIGKILL in the middle of the work; then the
 * file is read directly and the server started again on it. (SQLite only: on PostgreSQL the
 * durability is the database server's.)
 */

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-atomic-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const REGISTER = 'mutation R($input: RegisterInput!) { register(input: $input) { user { id } } }';
const LOGIN = 'mutation L($input: LoginInput!) { login(input: $input) { user { id } } }';
const REQUEST_OTP = 'mutation O($input: RequestOtpInput!) { requestOtp(input: $input) { sent } }';
const REQUEST_RESET = 'mutation P($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) { sent } }';

/** An app made with the real CLI on the file before the server starts. */
async function createApp(file: string, settings: Record<string, unknown>): Promise<{ appId: string; publishableKey: string }> {
  const created = await gatehouse(`sqlite:${file}`, 'app', 'create', '--name', 'Crash shop', '--settings', JSON.stringify({ ipRateLimitPerMinute: 1_000_000, ...settings }), '--json');
  expect(created.stderr).toBe('');
  return JSON.parse(created.stdout);
}

/**
 * `total` calls of `call(i)`, `parallel` at a time, until the process is killed once `killAfter`
 * have been acknowledged. Returns the indexes acknowledged (answered without errors).
 */
async function burstThenKill(total: number, parallel: number, killAfter: number, call: (i: number) => Promise<boolean>, kill: () => Promise<void>): Promise<Set<number>> {
  const acknowledged = new Set<number>();
  let next = 0;
  let killing: Promise<void> | undefined;
  const worker = async () => {
    while (next < total && !killing) {
      const i = next++;
      const ok = await call(i).catch(() => false); // a connection cut by the kill is no answer
      if (ok) acknowledged.add(i);
      if (acknowledged.size >= killAfter) killing ??= kill();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  await killing;
  return acknowledged;
}

/** Raw rows of the file, read while no server runs (one statement each). */
async function query<T>(file: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const orm = await openOrm({ databaseUrl: `sqlite:${file}` });
  try {
    return await orm.em.getConnection().execute<T[]>(sql, params);
  } finally {
    await orm.close(true);
  }
}

describe.skipIf(Boolean(TEST_DATABASE_URL))('all or nothing across kill -9 (SPEC §6, §8)', () => {
  it('leaves every password sign-up of a burst either complete (account and first session; can log in) or absent', { timeout: 240_000 }, async () => {
    const file = join(dir, 'passwords.db');
    const app = await createApp(file, {});
    const first = await serve(file, {}, children);
    const TOTAL = 200;
    const address = (i: number) => `burst${i}@example.com`;
    const password = (i: number) => `burst password ${i}`;
    const acknowledged = await burstThenKill(
      TOTAL,
      20,
      60,
      async (i) => !(await gql(first.url, app.publishableKey, REGISTER, { input: { email: address(i), password: password(i) } })).errors,
      () => kill9(first),
    );
    expect(acknowledged.size).toBeGreaterThanOrEqual(60);

    // Straight from the file: no account without its first session.
    const accounts = await query<{ email: string; sessions: number }>(
      file,
      'select u.email as email, count(s.id) as sessions from "user" u left join session s on s.user_id = u.id where u.app_id = ? group by u.id',
      [app.appId],
    );
    const created = new Map(accounts.map((a) => [a.email, Number(a.sessions)]));
    expect(accounts.filter((a) => Number(a.sessions) !== 1)).toEqual([]);
    for (const i of acknowledged) expect(created.has(address(i)), address(i)).toBe(true);
    const unanswered = [...created.keys()].filter((email) => !acknowledged.has(Number(/\d+/.exec(email)![0])));

    const second = await serve(file, {}, children);
    try {
      // Every account there is complete: it logs in with its password...
      for (const email of created.keys()) {
        const i = Number(/\d+/.exec(email)![0]);
        const login = await gql(second.url, app.publishableKey, LOGIN, { input: { email, password: password(i) } });
        expect(login.errors, email).toBeUndefined();
      }
      // ...and every sign-up that is not there can simply be made again (no EMAIL_TAKEN for a ghost).
      const missing = Array.from({ length: TOTAL }, (_, i) => i).filter((i) => !created.has(address(i)));
      for (const i of missing.slice(0, 20)) {
        expect((await gql(second.url, app.publishableKey, REGISTER, { input: { email: address(i), password: password(i) } })).errors, address(i)).toBeUndefined();
      }
      console.log(`password burst: ${acknowledged.size} acknowledged, ${unanswered.length} committed unanswered, ${missing.length} absent; 0 half-made`);
    } finally {
      await kill9(second);
    }
  });

  it('leaves every code sign-up of a burst either complete (account, its code, its message on the way) or absent', { timeout: 240_000 }, async () => {
    const smtp = await startSmtpPeer();
    const file = join(dir, 'codes.db');
    const app = await createApp(file, { signUpMethods: ['EMAIL_OTP'] });
    // A short lease: what the kill cut (claimed at its write or by a pass, not yet recorded) is taken again soon after the restart.
    const env = { SMTP_URL: smtp.url, COURIER_LEASE_MS: '2000' };
    try {
      const first = await serve(file, env, children);
      const TOTAL = 300;
      const address = (i: number) => `code${i}@example.com`;
      const acknowledged = await burstThenKill(
        TOTAL,
        20,
        100,
        async (i) => !(await gql(first.url, app.publishableKey, REGISTER, { input: { email: address(i), firstName: 'Code' } })).errors,
        () => kill9(first),
      );
      expect(acknowledged.size).toBeGreaterThanOrEqual(100);

      const accounts = await query<{ id: string; email: string; codes: number; messages: number }>(
        file,
        `select u.id as id, u.email as email,
           (select count(*) from otp_challenge c where c.user_id = u.id and c.consumed_at is null) as codes,
           (select count(*) from outbox_message m where m.app_id = u.app_id and m.\`to\` = u.email and m.template = 'otp' and m.status in ('pending', 'sending', 'delivered')) as messages
         from "user" u where u.app_id = ?`,
        [app.appId],
      );
      expect(accounts.filter((a) => Number(a.codes) !== 1 || Number(a.messages) !== 1)).toEqual([]);
      const emails = new Set(accounts.map((a) => a.email));
      for (const i of acknowledged) expect(emails.has(address(i)), address(i)).toBe(true);
      // ...and no code or message without its account.
      const orphans = await query<{ n: number }>(
        file,
        `select (select count(*) from otp_challenge c where c.app_id = ? and c.user_id not in (select id from "user")) +
                (select count(*) from outbox_message m where m.app_id = ? and m.\`to\` not in (select email from "user" where app_id = ?)) as n`,
        [app.appId, app.appId, app.appId],
      );
      expect(Number(orphans[0].n)).toBe(0);

      // After the restart the codes still waiting go out: pending ones at once, claimed ones (at
      // their write, or by a pass) once the lease the kill cut runs out.
      const waiting = await query<{ to: string }>(file, `select \`to\` as "to" from outbox_message where app_id = ? and status in ('pending', 'sending')`, [app.appId]);
      const second = await serve(file, env, children);
      try {
        const deadline = Date.now() + 60_000;
        while (waiting.some((m) => smtp.to(m.to).length === 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
        for (const m of waiting) expect(smtp.to(m.to).length, m.to).toBeGreaterThanOrEqual(1);
        console.log(`code burst: ${acknowledged.size} acknowledged, ${accounts.length} accounts with their code, ${waiting.length} messages delivered after the restart; 0 half-made`);
      } finally {
        await kill9(second);
      }
    } finally {
      await smtp.close();
    }
  });

  it('delivers a code and a reset link committed just before a kill -9 after the restart, once each', { timeout: 240_000 }, async () => {
    const smtp = await startSmtpPeer();
    const file = join(dir, 'between.db');
    const app = await createApp(file, { signUpMethods: ['EMAIL_PASSWORD', 'EMAIL_OTP'] });
    try {
      // The worker waits 10 minutes after start: every message stays committed and unsent.
      const paused = await serve(file, { SMTP_URL: smtp.url, COURIER_START_DELAY_MS: '600000' }, children);
      const coded = 'between-code@example.com';
      const reset = 'between-reset@example.com';
      expect((await gql(paused.url, app.publishableKey, REGISTER, { input: { email: reset, password: 'between password' } })).errors).toBeUndefined();
      expect((await gql(paused.url, app.publishableKey, REQUEST_OTP, { input: { email: coded, purpose: 'REGISTER' } })).errors).toBeUndefined();
      expect((await gql(paused.url, app.publishableKey, REQUEST_RESET, { input: { email: reset } })).errors).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(smtp.messages).toHaveLength(0);
      await kill9(paused);

      const pending = await query<{ to: string; status: string }>(file, 'select `to` as "to", status from outbox_message where app_id = ? order by created_at', [app.appId]);
      expect(pending).toEqual([
        { to: coded, status: 'pending' },
        { to: reset, status: 'pending' },
      ]);

      const restarted = await serve(file, { SMTP_URL: smtp.url }, children);
      try {
        const deadline = Date.now() + 30_000;
        while (smtp.messages.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        // a few more polls of the worker: nothing is sent twice
        await new Promise((resolve) => setTimeout(resolve, 2500));
        expect(smtp.to(coded)).toHaveLength(1);
        expect(smtp.to(reset)).toHaveLength(1);
        expect(smtp.to(reset)[0].text).toContain('token=');
        // the code that survived the crash works
        const registered = await gql(restarted.url, app.publishableKey, REGISTER, { input: { email: coded, otpCode: smtp.codeFor(coded) } });
        expect(registered.errors).toBeUndefined();
      } finally {
        await kill9(restarted);
      }
      const delivered = await query<{ status: string; attempts: number }>(file, 'select status, attempts from outbox_message where app_id = ?', [app.appId]);
      expect(delivered.map((m) => `${m.status}/${m.attempts}`)).toEqual(['delivered/1', 'delivered/1']);
    } finally {
      await smtp.close();
    }
  });
});
