import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGateway } from '../src/app';
import { loadConfig } from '../src/config';
import { OtpChallenge, OutboxMessage, User } from '../src/db/entities';
import { ShiftedClock } from '../src/identity/clock';
import { createLogger } from '../src/logger';
import { gatehouse as runCli } from './helpers/cli';
import { apolloClient, run } from './helpers/client';
import { startSmsPeer, startSmtpPeer, type SmsPeer, type SmtpPeer } from './helpers/delivery-peers';
import { startGateway, type TestGateway } from './helpers/gateway';
import { FIND_USER, REQUEST_OTP, VALIDATE_OTP } from './helpers/otp-documents';
import { REGISTER } from './helpers/session-documents';
import { CHECK_EMAIL } from './helpers/documents';

const SMS_SECRET = 'delivery-test-secret';
let n = 0;
const email = () => `ada+${++n}.${Date.now()}@example.com`;
const phone = () => `+3579948${String(++n).padStart(4, '0')}`;

describe('delivery failures leave nothing half-made (SPEC §6)', () => {
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

  const challengesOf = (appId: string, destination: string) => gw.gateway.orm.em.fork().find(OtpChallenge, { app: appId, destination });
  const usersOf = (appId: string) => gw.gateway.orm.em.fork().count(User, { app: appId });

  it('answers DELIVERY_FAILED naming email when the SMTP server refuses, and keeps no code; a retry then works at once', async () => {
    const app = await gw.createApp('Mail down', { signUpMethods: ['EMAIL_OTP'] });
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const address = email();
    smtp.fail = true;
    try {
      const failed = await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } });
      expect(failed.code).toBe('DELIVERY_FAILED');
      expect(failed.data).toBeNull();
      expect(failed.errors[0].message).toMatch(/email/i);
      expect(failed.errors[0].message).not.toMatch(/550|127\.0\.0\.1|mailbox|smtp/i);
      expect(Object.keys(failed.errors[0].extensions!)).toEqual(['code']);
      expect(await challengesOf(app.appId, address.toLowerCase())).toHaveLength(0);
    } finally {
      smtp.fail = false;
    }
    // no cooldown or hourly count was spent on the failure
    expect((await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } })).errors).toEqual([]);
    const registered = await run(client, REGISTER, { input: { email: address, otpCode: smtp.codeFor(address) } });
    expect(registered.errors).toEqual([]);
  });

  it('removes the new account again when the code of a sign-up without password cannot be mailed', async () => {
    const app = await gw.createApp('Mail down at sign-up', { signUpMethods: ['EMAIL_OTP'] });
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const address = email();
    smtp.fail = true;
    try {
      const failed = await run(client, REGISTER, { input: { email: address, firstName: 'Ada' } });
      expect(failed.code).toBe('DELIVERY_FAILED');
      expect(failed.data).toBeNull();
    } finally {
      smtp.fail = false;
    }
    expect((await run(client, CHECK_EMAIL, { email: address })).data!.checkEmail.exists).toBe(false);
    expect(await usersOf(app.appId)).toBe(0);
    expect(await challengesOf(app.appId, address.toLowerCase())).toHaveLength(0);

    // the same sign-up succeeds once mail works: no EMAIL_TAKEN, no cooldown left over
    const retried = await run(client, REGISTER, { input: { email: address, firstName: 'Ada' } });
    expect(retried.errors).toEqual([]);
    expect(retried.data!.register.verification).toMatchObject({ channel: 'EMAIL', destination: 'a***@example.com' });
    const validated = await run(client, VALIDATE_OTP, { input: { email: address, code: smtp.codeFor(address) } });
    expect(validated.errors).toEqual([]);
    expect(validated.data!.validateOtp.user).toMatchObject({ email: address, emailVerified: true });
  });

  it('answers DELIVERY_FAILED naming SMS when the webhook fails, and the CRM.COM contact is not kept', async () => {
    const app = await gw.createApp('SMS down', { signUpMethods: ['PHONE_OTP'] });
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const number = phone();
    sms.fail = true;
    try {
      const failed = await run(client, REGISTER, { input: { phoneNumber: number, firstName: 'Ahmed' } });
      expect(failed.code).toBe('DELIVERY_FAILED');
      expect(failed.errors[0].message).toContain('SMS');
      expect(failed.errors[0].message).not.toMatch(/503|http|webhook/i);
    } finally {
      sms.fail = false;
    }
    const partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
    expect((await run(partner, FIND_USER, { phoneNumber: number })).data!.user).toBeNull();
    expect(await challengesOf(app.appId, number)).toHaveLength(0);
  });

  it('signs every SMS so that a receiver with another secret refuses it (and we answer DELIVERY_FAILED)', async () => {
    const strict = await startSmsPeer('not-the-gateway-secret');
    const other = await startGateway({ smsWebhookUrl: strict.url, smsWebhookSecret: SMS_SECRET });
    try {
      const app = await other.createApp('Wrong secret', { signUpMethods: ['PHONE_OTP'] });
      const result = await run(apolloClient(other.url, { 'x-api-key': app.publishableKey }), REQUEST_OTP, { input: { phoneNumber: phone(), purpose: 'REGISTER' } });
      expect(result.code).toBe('DELIVERY_FAILED');
      expect(strict.badSignatures).toBe(1);
      expect(strict.messages).toHaveLength(0);
    } finally {
      await other.close();
      await strict.close();
    }
  });

  it('sends the per-app password-reset email with its link through courier.send', async () => {
    const app = await gw.createApp('Reset brand', { brandName: 'Acme Rewards' });
    const address = email();
    const result = await gw.gateway.services.courier.send(gw.gateway.orm.em.fork(), {
      appId: app.appId,
      channel: 'EMAIL',
      to: address,
      template: 'password-reset',
      vars: { link: 'https://acme.example.com/reset?token=abc123', expiresInSeconds: 3600 },
    });
    expect(result).toEqual({ channel: 'EMAIL', via: 'smtp' });
    const mail = smtp.to(address).at(-1)!;
    expect(mail.subject).toBe('Reset your Acme Rewards password');
    expect(mail.text).toContain('https://acme.example.com/reset?token=abc123');
    expect(mail.text).toContain('1 hour');
  });
});

describe('production needs a real channel (SPEC §7)', () => {
  it('refuses to start with NODE_ENV=production and no SMTP or SMS provider, saying what to set', async () => {
    await expect(startGateway({ production: true })).rejects.toThrow(/SMTP_URL|SMS_WEBHOOK_URL/);
  });

  it('starts with one real channel; the other channel then answers DELIVERY_FAILED and nothing goes to the outbox', async () => {
    const smtp = await startSmtpPeer();
    const gw = await startGateway({ production: true, smtpUrl: smtp.url });
    try {
      const app = await gw.createApp('Prod', { signUpMethods: ['EMAIL_OTP', 'PHONE_OTP'] });
      const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
      const address = email();
      expect((await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } })).errors).toEqual([]);
      expect(smtp.to(address)).toHaveLength(1);
      const texted = await run(client, REQUEST_OTP, { input: { phoneNumber: phone(), purpose: 'REGISTER' } });
      expect(texted.code).toBe('DELIVERY_FAILED');
      expect(texted.errors[0].message).toContain('SMS');
      expect(await gw.gateway.orm.em.fork().count(OutboxMessage, {})).toBe(0);
    } finally {
      await gw.close();
      await smtp.close();
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
    } finally {
      spy.mockRestore();
    }
    expect(printed.join('')).toContain(`EMAIL to ${address}`);
    expect(printed.join('')).toContain(`SMS to ${number}`);

    const listed = await gatehouse('outbox', '--app', app.id, '--to', address.toUpperCase(), '--json');
    expect(listed.code).toBe(0);
    const entries = JSON.parse(listed.stdout);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ appId: app.id, channel: 'EMAIL', to: address, template: 'otp', subject: 'Your Local Shop code' });
    const code = /code is (\d{6})/.exec(entries[0].body)![1];
    expect(printed.join('')).toContain(code);

    const human = await gatehouse('outbox', '--to', number);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`SMS to ${number}`);
    expect(human.stdout).toMatch(/\d{6} is your Local Shop code/);

    expect((await gatehouse('outbox', '--app', 'nope')).code).toBe(2);

    // the code from the outbox works, and no code ever reached the JSON log
    const registered = await run(client, REGISTER, { input: { email: address, otpCode: code } });
    expect(registered.errors).toEqual([]);
    const log = logLines.join('');
    expect(log).toContain('message delivered');
    expect(log).not.toContain(code);
  });
});
