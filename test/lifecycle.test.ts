import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, RefreshToken, Session, SingleUseToken, User, UserTombstone } from '../src/db/entities';
import { insertIdentity } from '../src/db/social';
import { listOutbox } from '../src/delivery';
import { newId } from '../src/identity/secrets';
import { gatehouse as runCli } from './helpers/cli';
import { apolloClient, run, type Client } from './helpers/client';
import { startSmsPeer, startSmtpPeer, type SmsPeer, type SmtpPeer } from './helpers/delivery-peers';
import { gql } from '@apollo/client/core';
import { CHECK_EMAIL, USER } from './helpers/documents';
import { startGateway, TEST_DATABASE_URL, type TestApp, type TestGateway } from './helpers/gateway';
import {
  CONFIRM_CONTACT_CHANGE,
  DELETE_ACCOUNT,
  DELETE_USER,
  ME_PENDING,
  REINSTATE_USER,
  REQUEST_EMAIL_CHANGE,
  REQUEST_PHONE_CHANGE,
  REVOKE_SESSION,
  REVOKE_USER_SESSIONS,
  SESSIONS,
  SET_USER_CONTACT,
  SUSPEND_USER,
} from './helpers/lifecycle-documents';
import { REQUEST_OTP } from './helpers/otp-documents';
import { LOGIN, ME, REFRESH, REGISTER } from './helpers/session-documents';

/**
 * SPEC §4.10, end to end: the real server on loopback (a temp SQLite file, or a PostgreSQL
 * schema in the PG pass), Apollo Client, the real SMTP server and SMS receiver of
 * delivery-peers.ts, the real `gatehouse` CLI, and the injected clock.
 */

const SMS_SECRET = 'lifecycle-sms-secret';
const PASSWORD = 'lifecycle password 1';
let n = 0;
const email = (name = 'ada') => `${name}+${++n}.${Date.now()}@example.com`;
const phone = () => `+3579947${String(++n).padStart(4, '0')}`;

let gw: TestGateway;
let smtp: SmtpPeer;
let sms: SmsPeer;
let app: TestApp;
let frontend: Client;
let partner: Client;
const bearer = (token: string) => apolloClient(gw.url, { 'x-api-key': app.publishableKey, authorization: `Bearer ${token}` });

beforeAll(async () => {
  [smtp, sms] = await Promise.all([startSmtpPeer(), startSmsPeer(SMS_SECRET)]);
  gw = await startGateway({ smtpUrl: smtp.url, smsWebhookUrl: sms.url, smsWebhookSecret: SMS_SECRET });
  app = await gw.createApp('Lifecycle', { brandName: 'Menu' });
  frontend = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
  partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([smtp?.close(), sms?.close()]);
});

async function signUp(address: string, extra: Record<string, unknown> = {}) {
  const result = await run(frontend, REGISTER, { input: { email: address, password: PASSWORD, ...extra } });
  expect(result.errors).toEqual([]);
  return result.data!.register.auth as { accessToken: string; refreshToken: string; user: { id: string } };
}

async function login(address: string, password = PASSWORD) {
  return run(frontend, LOGIN, { input: { email: address, password } });
}

describe('changing email or phone (SPEC §4.10)', () => {
  it('sends a code to the new email and a notice to the old one; with the code the new email signs in and the old one is free', async () => {
    const old = email('old');
    const next = email('new');
    const auth = await signUp(old);
    const customer = bearer(auth.accessToken);

    const requested = await run(customer, REQUEST_EMAIL_CHANGE, { newEmail: next });
    expect(requested.errors).toEqual([]);
    expect(requested.data!.requestEmailChange).toMatchObject({ sent: true, channel: 'EMAIL', destination: expect.stringMatching(/^n\*\*\*@example\.com$/), expiresIn: 600, resendAfter: 30 });
    await gw.delivered();
    const code = smtp.codeFor(next);
    await gw.delivered();
    const notice = smtp.to(old).at(-1)!;
    expect(notice.subject).toMatch(/Menu email address is about to change/);
    expect(notice.text).toContain('n***@example.com');
    expect(notice.text).not.toContain(next);
    expect(notice.text).not.toContain(code);
    expect((await run(customer, ME_PENDING)).data!.me).toMatchObject({ email: old, pendingEmailChange: next, pendingPhoneChange: null });

    // A wrong code changes nothing and says how many tries are left.
    const wrong = await run(customer, CONFIRM_CONTACT_CHANGE, { code: code === '000000' ? '111111' : '000000' });
    expect(wrong.code).toBe('INVALID_OTP');
    expect(wrong.errors[0].extensions!.attemptsLeft).toBe(4);
    expect((await run(customer, ME_PENDING)).data!.me).toMatchObject({ email: old, pendingEmailChange: next });

    const confirmed = await run(customer, CONFIRM_CONTACT_CHANGE, { code });
    expect(confirmed.errors).toEqual([]);
    expect(confirmed.data!.confirmContactChange).toMatchObject({ email: next, emailVerified: true, pendingEmailChange: null });
    expect((await login(next)).errors).toEqual([]);
    expect((await login(old)).code).toBe('INVALID_CREDENTIALS');
    // The old address is free for someone else; the code cannot be used twice.
    await signUp(old);
    expect((await run(customer, CONFIRM_CONTACT_CHANGE, { code })).code).toBe('INVALID_OTP');
  });

  it('changes nothing with an expired code', async () => {
    const old = email();
    const next = email('late');
    const auth = await signUp(old);
    const customer = bearer(auth.accessToken);
    expect((await run(customer, REQUEST_EMAIL_CHANGE, { newEmail: next })).errors).toEqual([]);
    await gw.delivered();
    const code = smtp.codeFor(next);
    gw.clock.advance(601_000);
    try {
      const expired = await run(bearer((await login(old)).data!.login.accessToken), CONFIRM_CONTACT_CHANGE, { code });
      expect(expired.code).toBe('OTP_EXPIRED');
      const me = (await run(partner, USER, { id: auth.user.id })).data!.user;
      expect(me.email).toBe(old);
      expect((await login(next)).code).toBe('INVALID_CREDENTIALS');
    } finally {
      gw.clock.advance(-601_000);
    }
  });

  it('refuses an address that already has an account with EMAIL_TAKEN, naming no one and sending nothing', async () => {
    const taken = email('taken');
    const owner = await signUp(taken, { firstName: 'Grace', lastName: 'Hopper' });
    const auth = await signUp(email());
    const before = smtp.to(taken).length;
    const refused = await run(bearer(auth.accessToken), REQUEST_EMAIL_CHANGE, { newEmail: taken.toUpperCase() });
    expect(refused.code).toBe('EMAIL_TAKEN');
    expect(refused.errors[0].extensions!.field).toBe('newEmail');
    expect(JSON.stringify(refused.errors)).not.toMatch(new RegExp(`${owner.user.id}|Grace|Hopper`));
    await gw.delivered();
    expect(smtp.to(taken)).toHaveLength(before);
    // Its own current address is not a change.
    expect((await run(bearer(auth.accessToken), REQUEST_EMAIL_CHANGE, { newEmail: (await run(bearer(auth.accessToken), ME)).data!.me.email })).code).toBe('BAD_USER_INPUT');
  });

  it('changes the phone number with a code by SMS to the new number, the old number told', async () => {
    const oldPhone = phone();
    const newPhone = phone();
    const auth = await signUp(email(), { phoneNumber: oldPhone });
    const customer = bearer(auth.accessToken);
    const requested = await run(customer, REQUEST_PHONE_CHANGE, { newPhoneNumber: newPhone });
    expect(requested.data!.requestPhoneChange).toMatchObject({ sent: true, channel: 'SMS' });
    await gw.delivered();
    expect(sms.to(oldPhone).at(-1)!.body).toMatch(/change of your account's phone number/);
    expect((await run(customer, ME_PENDING)).data!.me.pendingPhoneChange).toBe(newPhone);
    await gw.delivered();
    const confirmed = await run(customer, CONFIRM_CONTACT_CHANGE, { code: sms.codeFor(newPhone) });
    expect(confirmed.errors).toEqual([]);
    expect(confirmed.data!.confirmContactChange).toMatchObject({ phoneNumber: newPhone, phoneVerified: true, pendingPhoneChange: null });
    expect(confirmed.data!.confirmContactChange.phoneNumbers).toEqual([{ phoneNumber: newPhone, verifiedOwnership: true }]);
  });

  it('lets a partner correct email and phone without a code (setUserContact), verified or not', async () => {
    const auth = await signUp(email());
    const fixed = email('fixed');
    const number = phone();
    const set = await run(partner, SET_USER_CONTACT, { id: auth.user.id, input: { email: fixed, phoneNumber: number, verified: false } });
    expect(set.errors).toEqual([]);
    expect(set.data!.setUserContact).toMatchObject({ email: fixed, emailVerified: false, phoneNumber: number, phoneVerified: false });
    const other = await signUp(email());
    expect((await run(partner, SET_USER_CONTACT, { id: other.user.id, input: { email: fixed, verified: true } })).code).toBe('EMAIL_TAKEN');
    expect((await run(partner, SET_USER_CONTACT, { id: other.user.id, input: { verified: true } })).code).toBe('BAD_USER_INPUT');
  });
});

describe('suspension (SPEC §4.10)', () => {
  it('ends a live access token and refresh token at once; sign-ins answer ACCOUNT_SUSPENDED until reinstated', async () => {
    const address = email();
    const auth = await signUp(address);
    const customer = bearer(auth.accessToken);
    expect((await run(customer, ME)).errors).toEqual([]);

    const suspended = await run(partner, SUSPEND_USER, { id: auth.user.id, reason: 'chargeback fraud' });
    expect(suspended.data!.suspendUser).toEqual({ id: auth.user.id, suspended: true });
    expect((await run(customer, ME)).errors[0].extensions).toMatchObject({ code: 'ACCOUNT_SUSPENDED', reason: 'session_ended' });
    expect((await run(frontend, REFRESH, { refreshToken: auth.refreshToken })).code).toBe('ACCOUNT_SUSPENDED');
    expect((await login(address)).code).toBe('ACCOUNT_SUSPENDED');
    expect((await run(partner, SUSPEND_USER, { id: auth.user.id, reason: '' })).code).toBe('BAD_USER_INPUT');

    expect((await run(partner, REINSTATE_USER, { id: auth.user.id })).data!.reinstateUser.suspended).toBe(false);
    const again = await login(address);
    expect(again.errors).toEqual([]);
    expect((await run(bearer(again.data!.login.accessToken), ME)).errors).toEqual([]);
    // What the suspension ended stays ended.
    expect((await run(customer, ME)).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'session_ended' });
    expect((await run(frontend, REFRESH, { refreshToken: auth.refreshToken })).code).toBe('INVALID_REFRESH_TOKEN');
  });

  it('answers USER_NOT_FOUND for another app’s customer', async () => {
    const other = await gw.createApp('Other');
    const auth = await signUp(email());
    expect((await run(apolloClient(gw.url, { 'x-api-key': other.secretKey }), SUSPEND_USER, { id: auth.user.id, reason: 'x' })).code).toBe('USER_NOT_FOUND');
  });
});

describe('sessions (SPEC §4.10)', () => {
  it('lists the customer’s live sessions with the current one marked, and ends one of them at once', async () => {
    const address = email();
    const first = await signUp(address);
    const second = (await login(address)).data!.login;
    const listed = await run(bearer(second.accessToken), SESSIONS);
    expect(listed.errors).toEqual([]);
    expect(listed.data!.sessions).toHaveLength(2);
    const current = listed.data!.sessions.find((s: { current: boolean }) => s.current);
    const other = listed.data!.sessions.find((s: { current: boolean }) => !s.current);
    expect(current).toMatchObject({ ip: '127.0.0.1', userAgent: expect.any(String), lastUsedAt: expect.any(String) });

    expect((await run(bearer(second.accessToken), REVOKE_SESSION, { id: other.id })).data!.revokeSession).toBe(true);
    expect((await run(bearer(first.accessToken), ME)).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'session_ended' });
    expect((await run(frontend, REFRESH, { refreshToken: first.refreshToken })).code).toBe('INVALID_REFRESH_TOKEN');
    expect((await run(bearer(second.accessToken), SESSIONS)).data!.sessions.map((s: { id: string }) => s.id)).toEqual([current.id]);
    // Not a session of this customer (or already ended): refused by field.
    const stranger = await signUp(email());
    const foreign = (await run(bearer(stranger.accessToken), SESSIONS)).data!.sessions[0].id;
    expect((await run(bearer(second.accessToken), REVOKE_SESSION, { id: foreign })).errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect((await run(bearer(second.accessToken), REVOKE_SESSION, { id: 'not-a-session-id' })).errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect((await run(bearer(stranger.accessToken), ME)).errors).toEqual([]);
  });

  it('refreshing moves lastUsedAt; revokeUserSessions (secret key) ends them all', async () => {
    const address = email();
    const auth = await signUp(address);
    const before = (await run(bearer(auth.accessToken), SESSIONS)).data!.sessions[0].lastUsedAt;
    gw.clock.advance(60_000);
    const renewed = (await run(frontend, REFRESH, { refreshToken: auth.refreshToken })).data!.refresh;
    const after = (await run(bearer(renewed.accessToken), SESSIONS)).data!.sessions[0].lastUsedAt;
    expect(new Date(after).getTime() - new Date(before).getTime()).toBeGreaterThanOrEqual(60_000);
    expect((await run(partner, REVOKE_USER_SESSIONS, { id: auth.user.id })).data!.revokeUserSessions).toBe(true);
    expect((await run(bearer(renewed.accessToken), ME)).errors[0].extensions).toMatchObject({ reason: 'session_ended' });
    expect((await login(address)).errors).toEqual([]);
  });
});

/** Every row of every table of a gateway's database, as text (tables listed by the database itself). */
async function wholeDatabase(of: TestGateway): Promise<{ table: string; text: string }[]> {
  const connection = of.gateway.orm.em.getConnection();
  const tables = TEST_DATABASE_URL
    ? (await connection.execute<{ name: string }[]>(`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`)).map((t: { name: string }) => t.name)
    : (await connection.execute<{ name: string }[]>(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`)).map((t: { name: string }) => t.name);
  expect(tables).toEqual(expect.arrayContaining(['user', 'session', 'refresh_token', 'otp_challenge', 'outbox_message', 'security_event', 'user_tombstone', 'user_identity']));
  const out: { table: string; text: string }[] = [];
  for (const table of tables) {
    const rows = await connection.execute<Record<string, unknown>[]>(`select * from "${table}"`);
    for (const row of rows) out.push({ table, text: JSON.stringify(row) });
  }
  return out;
}

describe('erasure (SPEC §4.10)', () => {
  it('deleteUser leaves no row of any table holding the email, phone, name or hashes; the email can sign up again at once', async () => {
    // The development outbox keeps every message in the database (no SMTP or SMS provider):
    // the hardest case for erasure. Each code is read back from it.
    const devGw = await startGateway();
    try {
      const dev = await devGw.createApp('Erasure', { webhookUrl: 'http://127.0.0.1:9/never' });
      const pk = apolloClient(devGw.url, { 'x-api-key': dev.publishableKey });
      const sk = apolloClient(devGw.url, { 'x-api-key': dev.secretKey });
      const as = (token: string) => apolloClient(devGw.url, { authorization: `Bearer ${token}` });
      const codeTo = async (to: string) => {
        const mails = await listOutbox(devGw.gateway.orm.em.fork(), { appId: dev.appId, to });
        return /code is (\d+)|^(\d+) is your/.exec(mails.at(-1)!.body)!.slice(1).find(Boolean)!;
      };
      // A customer who left traces everywhere: an earlier email (changed by code, its notice in
      // the outbox), sessions and refresh tokens, a reset link, a sign-in code by SMS, a waiting
      // change of email (code and notice), a legal acceptance, events and their webhook rows.
      const first = email('erase-first');
      const address = email('erase');
      const number = phone();
      const pendingAddress = email('pending');
      const registered = await run(pk, REGISTER, { input: { email: first, password: PASSWORD, phoneNumber: number, firstName: 'Zebulon', lastName: 'Quixotic' } });
      const auth = registered.data!.register.auth;
      const customer = as(auth.accessToken);
      expect((await run(customer, REQUEST_EMAIL_CHANGE, { newEmail: address })).errors).toEqual([]);
      expect((await run(customer, CONFIRM_CONTACT_CHANGE, { code: await codeTo(address) })).errors).toEqual([]);
      expect((await run(pk, LOGIN, { input: { email: address, password: PASSWORD } })).errors).toEqual([]);
      expect((await run(pk, LOGIN, { input: { email: address, password: 'wrong password!' } })).code).toBe('INVALID_CREDENTIALS');
      expect((await run(pk, REFRESH, { refreshToken: auth.refreshToken })).errors).toEqual([]);
      expect((await run(pk, gql`mutation($e: String!) { requestPasswordReset(input: { email: $e }) { sent } }`, { e: address })).errors).toEqual([]);
      expect((await run(pk, REQUEST_OTP, { input: { phoneNumber: number, purpose: 'VERIFY' } })).errors).toEqual([]);
      expect((await run(customer, REQUEST_EMAIL_CHANGE, { newEmail: pendingAddress })).errors).toEqual([]);
      expect((await run(customer, gql`mutation { acceptLegalAgreement(input: { deviceUuid: "device-1", documents: ["terms"] }) { id } }`)).errors).toEqual([]);

      // A linked provider account (set up directly: the social flows have their own tests).
      await insertIdentity(devGw.gateway.orm.em.fork(), {
        id: newId(), appId: dev.appId, userId: auth.user.id, provider: 'google', issuer: 'https://accounts.example',
        subject: 'sub-zebulon-42', email: 'zebulon.q@provider.example', emailVerified: true, linkedAt: new Date(),
      });

      const em = devGw.gateway.orm.em.fork();
      const user = await em.findOneOrFail(User, { id: auth.user.id });
      const sessions = await em.find(Session, { user: user.id });
      const secrets = [
        user.passwordHash!,
        ...(await em.find(RefreshToken, { session: { $in: sessions.map((s) => s.id) } })).map((t: RefreshToken) => t.tokenHash),
        ...(await em.find(SingleUseToken, { user: user.id })).map((t: SingleUseToken) => t.tokenHash),
      ];
      const personal = [first, address, number, number.slice(1), 'Zebulon', 'Quixotic', pendingAddress, user.referrerCode, 'sub-zebulon-42', 'zebulon.q@provider.example'];
      const before = await wholeDatabase(devGw);
      for (const [needle, table] of [[address.toLowerCase(), 'user'], [pendingAddress, 'outbox_message'], [number, 'outbox_message'], ['Zebulon', 'user'], [user.passwordHash!, 'user'], ['sub-zebulon-42', 'user_identity']]) {
        expect(before.some((r) => r.table === table && r.text.includes(needle)), `the setup should have written ${needle} to ${table}`).toBe(true);
      }
      expect(before.some((r) => r.table === 'security_event' && r.text.includes('127.0.0.1')), 'events with an address').toBe(true);

      const deleted = await run(sk, DELETE_USER, { id: user.id });
      expect(deleted.errors).toEqual([]);
      const after = await wholeDatabase(devGw);
      for (const needle of [...personal, ...secrets]) {
        const holders = after.filter((r) => r.text.toLowerCase().includes(needle.toLowerCase()));
        expect(holders.map((h) => h.table), `still holding ${needle}`).toEqual([]);
      }
      // The events stay, without the customer's client address (user.deleted names the partner's); the tombstone holds the id and the time only.
      const kept = after.filter((r) => r.table === 'security_event' && r.text.includes(user.id) && !r.text.includes('user.deleted'));
      expect(kept.length).toBeGreaterThan(3);
      expect(kept.filter((r) => r.text.includes('127.0.0.1'))).toEqual([]);
      const tombstone = after.filter((r) => r.table === 'user_tombstone' && r.text.includes(user.id));
      expect(tombstone).toHaveLength(1);
      expect(Object.keys(JSON.parse(tombstone[0].text)).sort()).toEqual(['deleted_at', 'id']);
      expect(await em.fork().findOne(UserTombstone, { id: user.id })).toMatchObject({ id: user.id, deletedAt: expect.any(Date) });
      expect((await run(sk, USER, { id: user.id })).data!.user).toBeNull();
      expect((await run(customer, ME)).code).toBe('UNAUTHENTICATED');
      expect((await run(pk, REFRESH, { refreshToken: auth.refreshToken })).code).toBe('INVALID_REFRESH_TOKEN');
      // Free again at once.
      const again = await run(pk, REGISTER, { input: { email: address, password: PASSWORD, phoneNumber: number } });
      expect(again.errors).toEqual([]);
      expect(again.data!.register.user.id).not.toBe(user.id);
      expect((await run(sk, DELETE_USER, { id: user.id })).code).toBe('USER_NOT_FOUND');
    } finally {
      await devGw.close();
    }
  });

  it('deleteAccount needs the password again; a wrong one counts against the login limit', async () => {
    const address = email();
    const auth = await signUp(address);
    const customer = bearer(auth.accessToken);
    for (let i = 0; i < 5; i++) expect((await run(customer, DELETE_ACCOUNT, { password: `wrong ${i} password` })).code).toBe('INVALID_CREDENTIALS');
    // The account's five tries are spent: the right password too, and login, wait.
    expect((await run(customer, DELETE_ACCOUNT, { password: PASSWORD })).code).toBe('TOO_MANY_ATTEMPTS');
    expect((await login(address)).code).toBe('TOO_MANY_ATTEMPTS');
    expect((await run(customer, DELETE_ACCOUNT, {})).code).toBe('BAD_USER_INPUT');
    expect((await run(customer, ME)).errors).toEqual([]);
  });

  it('deleteAccount with the password, or with a fresh code to the account’s own email, erases it', async () => {
    const withPassword = email();
    const a = await signUp(withPassword);
    expect((await run(bearer(a.accessToken), DELETE_ACCOUNT, { password: PASSWORD })).data!.deleteAccount).toBe(true);
    expect((await run(frontend, CHECK_EMAIL, { email: withPassword })).data!.checkEmail.exists).toBe(false);

    const withCode = email();
    const b = await signUp(withCode);
    expect((await run(bearer(b.accessToken), DELETE_ACCOUNT, { code: '123456' })).code).toBe('INVALID_OTP');
    expect((await run(frontend, REQUEST_OTP, { input: { email: withCode, purpose: 'VERIFY' } })).errors).toEqual([]);
    await gw.delivered();
    const code = smtp.codeFor(withCode);
    expect((await run(bearer(b.accessToken), DELETE_ACCOUNT, { code })).data!.deleteAccount).toBe(true);
    expect((await run(partner, USER, { id: b.user.id })).data!.user).toBeNull();
    await signUp(withCode);
  });
});

describe('gatehouse user suspend|reinstate|delete (operators)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lifecycle-cli-'));
  let cliGw: TestGateway;
  let cliApp: TestApp;
  let databaseUrl: string;
  beforeAll(async () => {
    // The CLI works on a database file of its own; PostgreSQL runs use the pass's schema.
    cliGw = await startGateway(TEST_DATABASE_URL ? {} : { databaseUrl: `sqlite:${join(dir, 'cli.db')}` });
    cliApp = await cliGw.createApp('Operated');
    databaseUrl = cliGw.gateway.config.databaseUrl;
  });
  afterAll(async () => {
    await cliGw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('suspends, reinstates and erases a customer through the real CLI', { timeout: 120_000 }, async () => {
    const client = apolloClient(cliGw.url, { 'x-api-key': cliApp.publishableKey });
    const address = email('cli');
    const registered = await run(client, REGISTER, { input: { email: address, password: PASSWORD } });
    const auth = registered.data!.register.auth;
    const customer = apolloClient(cliGw.url, { authorization: `Bearer ${auth.accessToken}` });

    expect((await runCli(databaseUrl, 'user', 'suspend', auth.user.id)).code).toBe(2);
    const suspended = await runCli(databaseUrl, 'user', 'suspend', auth.user.id, '--reason', 'support ticket 42');
    expect(suspended).toMatchObject({ code: 0, stdout: expect.stringContaining(`Suspended user ${auth.user.id}`) });
    expect((await run(customer, ME)).code).toBe('ACCOUNT_SUSPENDED');
    expect((await run(client, LOGIN, { input: { email: address, password: PASSWORD } })).code).toBe('ACCOUNT_SUSPENDED');

    expect((await runCli(databaseUrl, 'user', 'reinstate', auth.user.id)).code).toBe(0);
    expect((await run(client, LOGIN, { input: { email: address, password: PASSWORD } })).errors).toEqual([]);

    expect((await runCli(databaseUrl, 'user', 'delete', auth.user.id)).code).toBe(0);
    expect((await runCli(databaseUrl, 'user', 'delete', auth.user.id)).code).toBe(1);
    expect((await run(client, REGISTER, { input: { email: address, password: PASSWORD } })).errors).toEqual([]);
    const em = cliGw.gateway.orm.em.fork();
    expect(await em.findOne(UserTombstone, { id: auth.user.id })).not.toBeNull();
    expect(await em.count(App, {})).toBeGreaterThan(0);
  });
});
