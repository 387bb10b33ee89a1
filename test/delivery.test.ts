import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGateway } from '../src/app';
import { loadConfig } from '../src/config';
import { OtpChallenge, OutboxMessage, SingleUseToken, User } from '../src/db/entities';
import { openOrm } from '../src/db/orm';
import { inTransaction } from '../src/db/transaction';
import { retryDelayMs } from '../src/delivery';
import { ShiftedClock } from '../src/identity/clock';
import { createLogger } from '../src/logger';
import { gatehouse as runCli } from './helpers/cli';
import { apolloClient, run } from './helpers/client';
import { startSmsPeer, startSmtpPeer, type SmsPeer, type SmtpPeer } from './helpers/delivery-peers';
import { startGateway, type TestGateway } from './helpers/gateway';
import { FIND_USER, REQUEST_OTP, VALIDATE_OTP } from './helpers/otp-documents';
import { REGISTER } from './helpers/session-documents';
import { CHECK_EMAIL } from './helpers/documents';
import { gql } from '@apollo/client/core';

const SMS_SECRET = 'delivery-test-secret';
const REQUEST_RESET = gql`
  mutation RequestReset($input: RequestPasswordResetInput!) {
    requestPasswordReset(input: $input) { sent verificationString resetLink expiresIn }
  }
`;
let n = 0;
const email = () => `ada+${++n}.${Date.now()}@example.com`;
const phone = () => `+3579948${String(++n).padStart(4, '0')}`;

async function scrape(gw: TestGateway): Promise<string> {
  return (await fetch(`${gw.url}/metrics`)).text();
}
function value(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

describe('the courier: durable outbox, retries, failures (SPEC §6)', () => {
  let gw: TestGateway;
  let smtp: SmtpPeer;
  let sms: SmsPeer;

  beforeAll(async () => {
    [smtp, sms] = await Promise.all([startSmtpPeer(), startSmsPeer(SMS_SECRET)]);
    gw = await startGateway({ smtpUrl: smtp.url, smsWebhookUrl: sms.url, smsWebhookSecret: SMS_SECRET });
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all([smtp?.close(), sms?.close()]);
  });

  const messagesTo = (appId: string, to: string) => gw.gateway.orm.em.fork().find(OutboxMessage, { app: appId, to }, { orderBy: { createdAt: 'asc' } });
  /** Moves the clock to the retry of a message that failed `attempts` times, and runs the worker. */
  const retry = async (attempts: number) => {
    gw.clock.advance(retryDelayMs(attempts) + 1000);
    await gw.drainOutbox();
  };

  it('answers requestOtp at once while the mail server refuses, retries with backoff, and delivers once it accepts', async () => {
    const app = await gw.createApp('Mail down', { signUpMethods: ['EMAIL_OTP'] });
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const address = email();
    smtp.fail = true;
    try {
      const requested = await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } });
      expect(requested.errors).toEqual([]);
      expect(requested.data!.requestOtp).toMatchObject({ sent: true, channel: 'EMAIL' });
      await gw.delivered();
      const [waiting] = await messagesTo(app.appId, address);
      expect(waiting).toMatchObject({ status: 'pending', attempts: 1, template: 'otp', channel: 'EMAIL' });
      expect(waiting.lastError).toMatch(/550/);
      expect(waiting.nextAttemptAt.getTime() - gw.clock.now().getTime()).toBeGreaterThan(3000);
      // not due yet: a pass now sends nothing
      await gw.drainOutbox();
      expect(smtp.to(address)).toHaveLength(0);
    } finally {
      smtp.fail = false;
    }
    await retry(1);
    expect(smtp.to(address)).toHaveLength(1);
    const [sent] = await messagesTo(app.appId, address);
    expect(sent).toMatchObject({ status: 'delivered', attempts: 2, via: 'smtp', lastError: null, body: '' });
    // the code it carried works, and nothing is sent twice
    expect((await run(client, REGISTER, { input: { email: address, otpCode: smtp.codeFor(address) } })).errors).toEqual([]);
    await retry(5);
    expect(smtp.to(address)).toHaveLength(1);
  });

  it('marks a message failed after its last attempt: its code is dead, a new one can be asked for at once, /metrics counts it, `gatehouse outbox --failed` lists it', async () => {
    const app = await gw.createApp('SMS down', { signUpMethods: ['PHONE_OTP'] });
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const number = phone();
    const before = await scrape(gw);
    sms.fail = true;
    try {
      // CRM.COM: the contact is created and answered at once; the SMS is the courier's job
      const registered = await run(client, REGISTER, { input: { phoneNumber: number, firstName: 'Ahmed' } });
      expect(registered.errors).toEqual([]);
      expect(registered.data!.register.verification).toMatchObject({ channel: 'SMS' });
      await gw.delivered();
      for (let attempt = 1; attempt < 5; attempt++) await retry(attempt);
    } finally {
      sms.fail = false;
    }
    const [failed] = await messagesTo(app.appId, number);
    expect(failed).toMatchObject({ status: 'failed', attempts: 5, body: '' });
    expect(failed.lastError).toMatch(/503/);
    expect(sms.to(number)).toHaveLength(0);
    const [challenge] = await gw.gateway.orm.em.fork().find(OtpChallenge, { app: app.appId, destination: number });
    expect(challenge.consumedAt).toBeInstanceOf(Date);

    const after = await scrape(gw);
    expect(value(after, 'gatehouse_outbox_failed_total{channel="sms"}') - value(before, 'gatehouse_outbox_failed_total{channel="sms"}')).toBe(1);
    expect(value(after, 'gatehouse_outbox_retries_total{channel="sms"}') - value(before, 'gatehouse_outbox_retries_total{channel="sms"}')).toBe(4);
    expect(after).toMatch(/^gatehouse_outbox_pending \d+$/m);

    const listed = await runCli(gw.gateway.config.databaseUrl, 'outbox', '--failed', '--app', app.appId, '--json');
    expect(listed.code).toBe(0);
    const entries = JSON.parse(listed.stdout);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ to: number, status: 'failed', attempts: 5, template: 'otp', body: '' });
    const human = await runCli(gw.gateway.config.databaseUrl, 'outbox', '--failed', '--app', app.appId);
    expect(human.stdout).toContain(`SMS to ${number}`);
    expect(human.stdout).toMatch(/FAILED after 5 attempt\(s\): .*503/);

    // the account can still prove its phone: a new code at once (no cooldown for a dead code)
    const again = await run(client, REQUEST_OTP, { input: { phoneNumber: number, purpose: 'VERIFY' } });
    expect(again.errors).toEqual([]);
    await gw.delivered();
    const validated = await run(client, VALIDATE_OTP, { input: { phoneNumber: number, code: sms.codeFor(number) } });
    expect(validated.errors).toEqual([]);
    expect(validated.data!.validateOtp.user).toMatchObject({ phoneNumber: number, phoneVerified: true });
  });

  it('never sends a code that expired while its message waited', async () => {
    const app = await gw.createApp('Late mail', { signUpMethods: ['EMAIL_OTP'], otpTtlSeconds: 60 });
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const address = email();
    smtp.fail = true;
    try {
      expect((await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } })).errors).toEqual([]);
      await gw.delivered();
    } finally {
      smtp.fail = false;
    }
    gw.clock.advance(61_000);
    await gw.drainOutbox();
    expect(smtp.to(address)).toHaveLength(0);
    const [late] = await messagesTo(app.appId, address);
    expect(late).toMatchObject({ status: 'failed', lastError: 'expired before it could be sent' });
  });

  it('marks a password-reset mail failed after its retries and kills its link', async () => {
    const app = await gw.createApp('Reset down', { brandName: 'Reset Co' });
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const address = email();
    expect((await run(client, REGISTER, { input: { email: address, password: 'a fine password' } })).errors).toEqual([]);
    smtp.fail = true;
    try {
      const requested = await run(client, REQUEST_RESET, { input: { email: address } });
      expect(requested.errors).toEqual([]);
      expect(requested.data!.requestPasswordReset).toEqual({ sent: true, verificationString: null, resetLink: null, expiresIn: null });
      await gw.delivered();
      for (let attempt = 1; attempt < 5; attempt++) await retry(attempt);
    } finally {
      smtp.fail = false;
    }
    const [failed] = await messagesTo(app.appId, address);
    expect(failed).toMatchObject({ status: 'failed', template: 'password-reset', body: '' });
    expect(await gw.gateway.orm.em.fork().count(SingleUseToken, { app: app.appId, purpose: 'password_reset', usedAt: null })).toBe(0);
  });

  it('signs every SMS so that a receiver with another secret refuses it (the courier retries, nothing is accepted)', async () => {
    const strict = await startSmsPeer('not-the-gateway-secret');
    const other = await startGateway({ smsWebhookUrl: strict.url, smsWebhookSecret: SMS_SECRET });
    try {
      const app = await other.createApp('Wrong secret', { signUpMethods: ['PHONE_OTP'] });
      const result = await run(apolloClient(other.url, { 'x-api-key': app.publishableKey }), REQUEST_OTP, { input: { phoneNumber: phone(), purpose: 'REGISTER' } });
      expect(result.errors).toEqual([]);
      await other.delivered();
      expect(strict.badSignatures).toBe(1);
      expect(strict.messages).toHaveLength(0);
      const [message] = await other.gateway.orm.em.fork().find(OutboxMessage, { app: app.appId });
      expect(message).toMatchObject({ status: 'pending', attempts: 1 });
      expect(message.lastError).toMatch(/401/);
    } finally {
      await other.close();
      await strict.close();
    }
  });

  it('queues the per-app password-reset email with its link through courier.send, in the caller\'s transaction', async () => {
    const app = await gw.createApp('Reset brand', { brandName: 'Acme Rewards' });
    const address = email();
    const em = gw.gateway.orm.em.fork();
    const send = () =>
      gw.gateway.services.courier.send(em, {
        appId: app.appId,
        channel: 'EMAIL',
        to: address,
        template: 'password-reset',
        vars: { link: 'https://acme.example.com/reset?token=abc123', expiresInSeconds: 3600 },
      });
    // rolled back with the transaction: never sent
    await expect(inTransaction(em, async () => (await send(), Promise.reject(new Error('changed my mind'))))).rejects.toThrow('changed my mind');
    const result = await inTransaction(em, send);
    expect(result).toEqual({ channel: 'EMAIL', via: 'smtp', messageId: expect.any(String) });
    await gw.delivered();
    expect(smtp.to(address)).toHaveLength(1);
    const mail = smtp.to(address).at(-1)!;
    expect(mail.subject).toBe('Reset your Acme Rewards password');
    expect(mail.headers.from).toContain('Acme Rewards');
    expect(mail.text).toContain('https://acme.example.com/reset?token=abc123');
    expect(mail.text).toContain('1 hour');
  });

  it('delivers each message exactly once when several instances work the same outbox', async () => {
    // One instance queues 40 codes with its worker paused; two more start and deliver them.
    const queuing = await startGateway({ smtpUrl: smtp.url, courierStartDelayMs: 3_600_000 });
    const app = await queuing.createApp('Many workers', { signUpMethods: ['EMAIL_OTP'] });
    const client = apolloClient(queuing.url, { 'x-api-key': app.publishableKey });
    const addresses = Array.from({ length: 40 }, () => email());
    for (const address of addresses) {
      expect((await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } })).errors).toEqual([]);
    }
    await queuing.delivered();
    expect(addresses.flatMap((a) => smtp.to(a))).toHaveLength(0);

    const workers = [
      await startGateway({ smtpUrl: smtp.url }, { sameDeploymentAs: queuing }),
      await startGateway({ smtpUrl: smtp.url }, { sameDeploymentAs: queuing }),
    ];
    try {
      await Promise.all(workers.map((w) => w.drainOutbox()));
      await Promise.all(workers.map((w) => w.drainOutbox()));
      for (const address of addresses) expect(smtp.to(address), address).toHaveLength(1);
      const rows = await queuing.gateway.orm.em.fork().find(OutboxMessage, { app: app.appId });
      expect(rows.map((r) => `${r.status}/${r.attempts}`)).toEqual(addresses.map(() => 'delivered/1'));
      const sent = await Promise.all(workers.map(async (w) => value(await scrape(w), 'gatehouse_codes_sent_total{channel="email"}')));
      expect(sent[0] + sent[1]).toBe(40);
    } finally {
      for (const worker of workers) await worker.close();
      await queuing.close();
    }
  });
});

describe('graceful shutdown lets deliveries in flight finish (SPEC §6)', () => {
  it('closes only after the slow mail server accepted the message, and records it delivered', async () => {
    const slow = await startSmtpPeer({ delayMs: 800 });
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-drain-'));
    const databaseUrl = `sqlite:${join(dir, 'gatehouse.db')}`;
    try {
      const config = loadConfig({}, { host: '127.0.0.1', port: 0, databaseUrl, logLevel: 'silent', smtpUrl: slow.url });
      const gateway = await createGateway(config, { clock: new ShiftedClock() });
      const url = await gateway.listen();
      const { publishable } = await gateway.services.apps.createApp(gateway.orm.em.fork(), 'Closing', { signUpMethods: ['EMAIL_OTP'] });
      const address = email();
      const requested = await run(apolloClient(url, { 'x-api-key': publishable.key }), REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } });
      expect(requested.errors).toEqual([]);
      while (slow.receiving === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(slow.to(address)).toHaveLength(0);
      await gateway.close();
      expect(slow.to(address)).toHaveLength(1);
      const orm = await openOrm({ databaseUrl });
      try {
        const [row] = await orm.em.fork().find(OutboxMessage, { to: address });
        expect(row).toMatchObject({ status: 'delivered', via: 'smtp' });
      } finally {
        await orm.close(true);
      }
    } finally {
      await slow.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('production needs a real channel (SPEC §7)', () => {
  it('refuses to start with NODE_ENV=production and no SMTP or SMS provider, saying what to set', async () => {
    await expect(startGateway({ production: true })).rejects.toThrow(/SMTP_URL|SMS_WEBHOOK_URL/);
  });

  it('starts with one real channel; the other channel answers DELIVERY_FAILED and writes nothing: no code, no account, no reset token', async () => {
    const smtp = await startSmtpPeer();
    const gw = await startGateway({ production: true, smtpUrl: smtp.url });
    try {
      const app = await gw.createApp('Prod', { signUpMethods: ['EMAIL_OTP', 'PHONE_OTP'] });
      const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
      const address = email();
      expect((await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } })).errors).toEqual([]);
      await gw.delivered();
      expect(smtp.to(address)).toHaveLength(1);
      const number = phone();
      const texted = await run(client, REQUEST_OTP, { input: { phoneNumber: number, purpose: 'REGISTER' } });
      expect(texted.code).toBe('DELIVERY_FAILED');
      expect(texted.errors[0].message).toContain('SMS');
      expect(Object.keys(texted.errors[0].extensions!)).toEqual(['code']);
      const signUp = await run(client, REGISTER, { input: { phoneNumber: number, firstName: 'Ahmed' } });
      expect(signUp.code).toBe('DELIVERY_FAILED');
      const em = gw.gateway.orm.em.fork();
      expect(await em.count(OtpChallenge, { app: app.appId, destination: number })).toBe(0);
      expect(await em.count(User, { app: app.appId })).toBe(0);
      expect(await em.count(OutboxMessage, { channel: 'SMS' })).toBe(0);
      // the email went out through SMTP: its text does not stay in the database
      const [mailed] = await em.find(OutboxMessage, { to: address });
      expect(mailed).toMatchObject({ status: 'delivered', via: 'smtp', body: '' });
      const partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
      expect((await run(partner, FIND_USER, { phoneNumber: number })).data!.user).toBeNull();
    } finally {
      await gw.close();
      await smtp.close();
    }
  });

  it('answers requestPasswordReset with DELIVERY_FAILED when there is no email channel, leaving no live token', async () => {
    const sms = await startSmsPeer(SMS_SECRET);
    const gw = await startGateway({ production: true, smsWebhookUrl: sms.url, smsWebhookSecret: SMS_SECRET });
    try {
      const app = await gw.createApp('SMS only');
      const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
      const address = email();
      expect((await run(client, REGISTER, { input: { email: address, password: 'a fine password' } })).errors).toEqual([]);
      const requested = await run(client, REQUEST_RESET, { input: { email: address } });
      expect(requested.code).toBe('DELIVERY_FAILED');
      expect(requested.errors[0].message).toMatch(/email/);
      expect(await gw.gateway.orm.em.fork().count(SingleUseToken, { purpose: 'password_reset' })).toBe(0);
    } finally {
      await gw.close();
      await sms.close();
    }
  });
});

describe('the development outbox (SPEC §6) and `gatehouse outbox`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-outbox-'));
  const databaseUrl = `sqlite:${join(dir, 'gatehouse.db')}`;
  const logLines: string[] = [];
  let gateway: Awaited<ReturnType<typeof createGateway>>;
  let url: string;

  beforeAll(async () => {
    // A gateway with no provider at all, logging at info level into memory.
    const sink = new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) });
    const config = loadConfig({}, { host: '127.0.0.1', port: 0, databaseUrl, logLevel: 'info' });
    gateway = await createGateway(config, { clock: new ShiftedClock(), logger: createLogger('info', sink) });
    url = await gateway.listen();
  });
  afterAll(async () => {
    await gateway?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const gatehouse = (...args: string[]) => runCli(databaseUrl, ...args);

  it('stores and prints codes with no provider configured; the CLI reads them back by app and address', async () => {
    const { app, publishable } = await gateway.services.apps.createApp(gateway.orm.em.fork(), 'Local', { brandName: 'Local Shop' });
    const client = apolloClient(url, { 'x-api-key': publishable.key });
    const address = email();
    const number = phone();
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (printed.push(String(chunk)), true));
    try {
      expect((await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } })).errors).toEqual([]);
      expect((await run(client, REQUEST_OTP, { input: { phoneNumber: number, purpose: 'REGISTER' } })).errors).toEqual([]);
      await gateway.services.courier.settled();
    } finally {
      spy.mockRestore();
    }
    expect(printed.join('')).toContain(`EMAIL to ${address}`);
    expect(printed.join('')).toContain(`SMS to ${number}`);

    const listed = await gatehouse('outbox', '--app', app.id, '--to', address.toUpperCase(), '--json');
    expect(listed.code).toBe(0);
    const entries = JSON.parse(listed.stdout);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ appId: app.id, channel: 'EMAIL', to: address, template: 'otp', subject: 'Your Local Shop code', status: 'delivered', via: 'outbox' });
    const code = /code is (\d{6})/.exec(entries[0].body)![1];
    expect(printed.join('')).toContain(code);

    const human = await gatehouse('outbox', '--to', number);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`SMS to ${number}`);
    expect(human.stdout).toMatch(/\d{6} is your Local Shop code/);
    expect((await gatehouse('outbox', '--failed')).stdout).toContain('No failed messages.');

    expect((await gatehouse('outbox', '--app', 'nope')).code).toBe(2);

    // the code from the outbox works, and no code ever reached the JSON log
    const registered = await run(client, REGISTER, { input: { email: address, otpCode: code } });
    expect(registered.errors).toEqual([]);
    expect((await run(client, CHECK_EMAIL, { email: address })).data!.checkEmail.exists).toBe(true);
    const log = logLines.join('');
    expect(log).toContain('message delivered');
    expect(log).not.toContain(code);
  });
});
