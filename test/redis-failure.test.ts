import { gql } from '@apollo/client/core';
import { Redis } from 'ioredis';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../src/app';
import { loadConfig } from '../src/config';
import { ShiftedClock } from '../src/identity/clock';
import { createLogger } from '../src/logger';
import { apolloClient, run, type Client, type GqlResult } from './helpers/client';
import { CHECK_EMAIL } from './helpers/documents';
import { LOGIN, REGISTER } from './helpers/session-documents';

/**
 * SPEC §8: Redis is a dependency that can fail. A real redis-server of this test's own, on
 * its own port, is killed under load and started again; the gateway (real, on loopback,
 * REDIS_URL pointing at that Redis) keeps answering without INTERNAL and without waiting on
 * Redis, enforces its limits per instance meanwhile, says so (log, metrics, /readyz), and
 * shares its counters in Redis again once it is back.
 *
 * Runs on SQLite in both passes (the database plays no part here), with the gateway's logger
 * captured so the test can count the outage's log lines.
 *
 * Time bounds: a request must not hang on Redis (before this, every one waited ~5 s). The
 * bound is 1.5 s rather than the SPEC's 1 s so a busy shared 2-core machine does not make it
 * flake; it measures the fault behaviour, not performance. It applies to the requests that
 * hash no password (checkEmail; logins of a locked account, refused after the same counter
 * calls in a row — per call, per IP, per account — that any login makes): argon2 on a
 * starved CPU can take longer than any fixed bound, with or without Redis. Every request is
 * checked for its answer.
 */
const SLOW_MS = 1_500;
const PASSWORD = 'correct horse battery';
const REQUEST_OTP = gql`
  mutation RequestOtp($input: RequestOtpInput!) { requestOtp(input: $input) { channel destination expiresIn } }
`;

interface Timed {
  op: string;
  ms: number;
  result: GqlResult;
}

async function timed(op: string, client: Client, document: Parameters<typeof run>[1], variables: Record<string, unknown>): Promise<Timed> {
  const started = performance.now();
  const result = await run(client, document, variables);
  return { op, ms: performance.now() - started, result };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** redis-server in the foreground, nothing on disk, until killed. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  // Never left behind, even when a hook times out and afterAll does not get to it.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      return child;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server on port ${port} did not start: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      probe.disconnect();
    }
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe('Redis stopped under load (SPEC §8)', () => {
  let port: number;
  let redisServer: ChildProcess;
  /** The test's own view of its Redis, to look at the counters. */
  let inspect: Redis;
  let gateway: Gateway;
  let url: string;
  let dir: string;
  const clock = new ShiftedClock();
  const logs: { level: number; msg: string }[] = [];
  let seq = 0;
  const email = (what: string) => `${what}${++seq}-${Date.now()}@example.com`;

  let loadClient: Client;
  let loginEmail: string;
  let lockedEmail: string;

  beforeAll(async () => {
    port = await freePort();
    redisServer = await startRedis(port);
    inspect = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    inspect.on('error', () => {});
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-failure-'));
    const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line)) });
    const config = loadConfig({}, {
      host: '127.0.0.1',
      port: 0,
      databaseUrl: `sqlite:${join(dir, 'gatehouse.db')}`,
      redisUrl: `redis://127.0.0.1:${port}`,
      redisKeyPrefix: 'rf:',
      logLevel: 'info',
    });
    gateway = await createGateway(config, { clock, logger });
    url = await gateway.listen();
    // The load's app allows far more calls than the load makes, so every answer is a success.
    const { publishable } = await createApp('Load', { ipRateLimitPerMinute: 1_000_000 });
    loadClient = apolloClient(url, { 'x-api-key': publishable.key });
    loginEmail = email('load');
    expect((await run(loadClient, REGISTER, { input: { email: loginEmail, password: PASSWORD } })).errors).toEqual([]);
    lockedEmail = email('locked');
    expect((await run(loadClient, REGISTER, { input: { email: lockedEmail, password: PASSWORD } })).errors).toEqual([]);
    for (let i = 0; i < 5; i++) await run(loadClient, LOGIN, { input: { email: lockedEmail, password: 'wrong' } });
    expect((await run(loadClient, LOGIN, { input: { email: lockedEmail, password: 'wrong' } })).code).toBe('TOO_MANY_ATTEMPTS');
  });
  afterAll(async () => {
    await gateway?.close();
    inspect?.disconnect();
    if (redisServer) await kill(redisServer);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function createApp(name: string, settings: Record<string, unknown> = {}) {
    return gateway.services.apps.createApp(gateway.orm.em.fork(), name, settings);
  }

  async function clientOfNewApp(name: string, settings: Record<string, unknown> = {}): Promise<Client> {
    const { publishable } = await createApp(name, settings);
    return apolloClient(url, { 'x-api-key': publishable.key });
  }

  type Op = 'checkEmail' | 'login' | 'lockedLogin';
  const send: Record<Op, () => Promise<Timed>> = {
    checkEmail: () => timed('checkEmail', loadClient, CHECK_EMAIL, { email: email('check') }),
    login: () => timed('login', loadClient, LOGIN, { input: { email: loginEmail, password: PASSWORD } }),
    lockedLogin: () => timed('lockedLogin', loadClient, LOGIN, { input: { email: lockedEmail, password: 'wrong' } }),
  };

  /**
   * Concurrent checkEmail (2 workers), successful logins and logins of the locked account
   * until `until` resolves and at least 30 answers are in (a slow machine still gets a load).
   */
  async function load(until: Promise<unknown>): Promise<Timed[]> {
    const results: Timed[] = [];
    let over = false;
    void until.then(() => (over = true));
    const worker = async (op: Op) => {
      while (!over || results.length < 30) results.push(await send[op]());
    };
    await Promise.all([worker('checkEmail'), worker('checkEmail'), worker('login'), worker('lockedLogin')]);
    return results;
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /**
   * No INTERNAL, every answer the expected one, and no request that hashes no password over
   * SLOW_MS. The locked account is refused; where its failures were counted in a Redis or a
   * fallback that no longer holds them, it is refused again after 5 failures (SPEC §3).
   */
  function expectAllFine(results: Timed[]) {
    expect(results.filter((r) => r.result.code === 'INTERNAL')).toEqual([]);
    const unexpected = results.filter((r) =>
      r.op === 'lockedLogin' ? !['TOO_MANY_ATTEMPTS', 'INVALID_CREDENTIALS'].includes(r.result.code!) : r.result.errors.length,
    );
    expect(unexpected.map((r) => `${r.op}: ${r.result.code}`)).toEqual([]);
    const noHashing = results.filter((r) => r.op === 'checkEmail' || r.result.code === 'TOO_MANY_ATTEMPTS');
    expect(noHashing.length).toBeGreaterThan(10);
    const slow = noHashing.filter((r) => r.ms > SLOW_MS).map((r) => `${r.op} ${Math.round(r.ms)} ms`);
    expect(slow).toEqual([]);
  }

  async function readyz() {
    const started = performance.now();
    const res = await fetch(`${url}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; redis?: string }, ms: performance.now() - started };
  }

  async function metric(line: RegExp): Promise<number> {
    const text = await (await fetch(`${url}/metrics`)).text();
    const match = new RegExp(`^${line.source} (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : NaN;
  }

  async function keysIn(limit: string): Promise<number> {
    return (await inspect.keys(`rf:${limit}:*`)).length;
  }

  /** 5 failures lock the account: even the right password is then refused (SPEC §3). */
  async function expectLockout(client: Client) {
    const address = email('lock');
    expect((await run(client, REGISTER, { input: { email: address, password: PASSWORD } })).errors).toEqual([]);
    for (let i = 0; i < 5; i++) {
      const wrong = await run(client, LOGIN, { input: { email: address, password: `wrong ${i}` } });
      expect(wrong.code, `failure ${i + 1}`).toBe('INVALID_CREDENTIALS');
    }
    const locked = await run(client, LOGIN, { input: { email: address, password: PASSWORD } });
    expect(locked.code).toBe('TOO_MANY_ATTEMPTS');
    expect(locked.errors[0].extensions!.retryAfter).toBeGreaterThan(0);
  }

  const outageLines = () => logs.filter((l) => l.msg.startsWith('redis: unreachable'));
  const recoveryLines = () => logs.filter((l) => l.msg.startsWith('redis: reachable again'));

  it('counts in Redis while it is up', async () => {
    expect(await readyz()).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(await metric(/gatehouse_redis_up/)).toBe(1);
    expectAllFine(await load(sleep(1_000)));
    expect(await keysIn('calls')).toBeGreaterThan(0);
    expect(await keysIn('login-ip')).toBeGreaterThan(0);
    expect(outageLines()).toEqual([]);
  });

  it('keeps answering, fast and without INTERNAL, when Redis is killed under load', async () => {
    const results = await load(
      (async () => {
        await sleep(500);
        await kill(redisServer);
        await sleep(2_000);
      })(),
    );
    expectAllFine(results);
    // Logged once for the outage, not once per request.
    expect(outageLines()).toHaveLength(1);
    expect(outageLines()[0].level).toBe(40); // warn
    expect(await metric(/gatehouse_redis_up/)).toBe(0);
    expect(await metric(/gatehouse_rate_limit_fallback_total\{limit="calls"\}/)).toBeGreaterThan(0);
    expect(await metric(/gatehouse_rate_limit_fallback_total\{limit="login-ip"\}/)).toBeGreaterThan(0);
  });

  it('answers /readyz at once with 200 degraded (the instance stays in rotation)', async () => {
    const ready = await readyz();
    expect(ready).toMatchObject({ status: 200, body: { status: 'degraded', redis: 'unavailable' } });
    expect(ready.ms).toBeLessThan(SLOW_MS);
  });

  it('still enforces the limits per instance while Redis is away', async () => {
    // Login lockout (per account, SPEC §3).
    const before = await metric(/gatehouse_rate_limit_fallback_total\{limit="login-account"\}/);
    await expectLockout(await clientOfNewApp('Lockout while down'));
    expect(await metric(/gatehouse_rate_limit_fallback_total\{limit="login-account"\}/)).toBeGreaterThanOrEqual((before || 0) + 6);

    // Per-IP calls per operation (the app's ipRateLimitPerMinute).
    const small = await clientOfNewApp('Small while down', { ipRateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await run(small, CHECK_EMAIL, { email: email('small') })).errors).toEqual([]);
    expect((await run(small, CHECK_EMAIL, { email: email('small') })).code).toBe('TOO_MANY_ATTEMPTS');

    // Codes sent per destination per hour (5): counted in the destination's row, so Redis
    // being away changes nothing; the 30 s resend cooldown is moved past on the gateway's clock.
    const otp = await clientOfNewApp('Codes while down');
    const address = email('otp');
    expect((await run(otp, REGISTER, { input: { email: address, password: PASSWORD } })).errors).toEqual([]);
    for (let i = 1; i <= 5; i++) {
      clock.advance(31_000);
      expect((await run(otp, REQUEST_OTP, { input: { email: address, purpose: 'VERIFY' } })).errors, `send ${i}`).toEqual([]);
    }
    clock.advance(31_000);
    const sixth = await run(otp, REQUEST_OTP, { input: { email: address, purpose: 'VERIFY' } });
    expect(sixth.code).toBe('TOO_MANY_ATTEMPTS');
    expect(sixth.errors[0].extensions!.retryAfter).toBeGreaterThan(30);

    expect(outageLines()).toHaveLength(1);
  });

  it('is normal again once Redis is back on the same port: counters in Redis, ready, logged once', async () => {
    redisServer = await startRedis(port);
    // ioredis reconnects within about a second; /readyz shows when.
    const deadline = Date.now() + 10_000;
    while ((await readyz()).body.status !== 'ready') {
      if (Date.now() > deadline) throw new Error('the gateway did not see Redis come back within 10 s');
      await sleep(100);
    }
    expect(recoveryLines()).toHaveLength(1);
    expect(await metric(/gatehouse_redis_up/)).toBe(1);

    const fallbacks = await metric(/gatehouse_rate_limit_fallback_total\{limit="calls"\}/);
    expectAllFine(await load(sleep(1_000)));
    expect(await metric(/gatehouse_rate_limit_fallback_total\{limit="calls"\}/)).toBe(fallbacks);
    expect(await keysIn('calls')).toBeGreaterThan(0);

    await expectLockout(await clientOfNewApp('Lockout after'));
    expect(await keysIn('login-account')).toBeGreaterThan(0);
    expect(outageLines()).toHaveLength(1);
  });

  it('does not wait on a Redis that stops answering (frozen, connection open)', async () => {
    // SIGSTOP: the TCP connection stays up and nothing answers, so only the client's own
    // timeouts can tell. Then SIGCONT, and it is shared again.
    const results = await load(
      (async () => {
        await sleep(300);
        redisServer.kill('SIGSTOP');
        await sleep(2_000);
      })(),
    );
    try {
      expectAllFine(results);
      expect(await metric(/gatehouse_redis_up/)).toBe(0);
      const ready = await readyz();
      expect(ready).toMatchObject({ status: 200, body: { status: 'degraded', redis: 'unavailable' } });
      expect(ready.ms).toBeLessThan(SLOW_MS);
      expect(outageLines()).toHaveLength(2);
    } finally {
      redisServer.kill('SIGCONT');
    }
    const deadline = Date.now() + 10_000;
    while ((await readyz()).body.status !== 'ready') {
      if (Date.now() > deadline) throw new Error('the gateway did not see Redis answer again within 10 s');
      await sleep(100);
    }
    expect(recoveryLines()).toHaveLength(2);
  });
});
