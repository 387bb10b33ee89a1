import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloClient, run, type Client } from './helpers/client';
import { startSmtpPeer, type SmtpPeer } from './helpers/delivery-peers';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';
import { CHANGE_PASSWORD, LOGIN, REGISTER } from './helpers/session-documents';

/**
 * Issue 11, findings 6 and 7, performed as the audit wrote them, each next to the
 * legitimate path it must leave working. Runs on SQLite and, in the PostgreSQL pass, on
 * PostgreSQL + Redis.
 */

const PASSWORD = 'correct horse battery';
let gw: TestGateway;
let smtp: SmtpPeer;
let app: TestApp;
let frontend: Client;
let seq = 0;
const tag = () => `${++seq}${Date.now().toString(36)}`;
const email = () => `audit${tag()}@example.com`;
const phone = () => `+3579948${String(++seq).padStart(4, '0')}`;
const bearer = (token: string) => apolloClient(gw.url, { authorization: `Bearer ${token}` });
const verifications = () => gw.gateway.services.hasher.verifications;

async function signUp(input: Record<string, unknown>) {
  const result = await run(frontend, REGISTER, { input: { password: PASSWORD, ...input } });
  expect(result.errors).toEqual([]);
  return result.data!.register;
}

beforeAll(async () => {
  smtp = await startSmtpPeer();
  gw = await startGateway({ smtpUrl: smtp.url, emailFrom: 'Audit <codes@gatehouse.test>' });
  app = await gw.createApp('Audit', { signUpMethods: ['EMAIL_PASSWORD', 'EMAIL_OTP'] });
  frontend = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
});
afterAll(async () => {
  await gw?.close();
  await smtp?.close();
});

describe('finding 6: login failures count per account, not per spelling (SPEC §3)', () => {
  it('refuses the phone spelling after 5 failures by email: 5 password checks in all, even the right password is TOO_MANY_ATTEMPTS', async () => {
    const address = email();
    const number = phone();
    await signUp({ email: address, phoneNumber: number });
    const before = verifications();
    for (let i = 0; i < 5; i++) {
      expect((await run(frontend, LOGIN, { input: { email: address, password: `wrong ${i}` } })).code).toBe('INVALID_CREDENTIALS');
    }
    for (let i = 0; i < 5; i++) {
      const byPhone = await run(frontend, LOGIN, { input: { phoneNumber: number, password: `wrong by phone ${i}` } });
      expect(byPhone.code).toBe('TOO_MANY_ATTEMPTS');
    }
    const right = await run(frontend, LOGIN, { input: { phoneNumber: number.slice(4), countryCode: 'CY', password: PASSWORD } });
    expect(right.code).toBe('TOO_MANY_ATTEMPTS');
    expect(right.errors[0].extensions!.retryAfter).toBeGreaterThan(0);
    expect((await run(frontend, LOGIN, { input: { email: address.toUpperCase(), password: PASSWORD } })).code).toBe('TOO_MANY_ATTEMPTS');
    expect(verifications() - before).toBe(5);
  });

  it('holds under parallel guesses split between email and phone: 12 at once make exactly 5 password checks', async () => {
    const address = email();
    const number = phone();
    await signUp({ email: address, phoneNumber: number });
    const before = verifications();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        run(frontend, LOGIN, { input: i % 2 ? { email: address, password: `guess ${i}` } : { phoneNumber: number, password: `guess ${i}` } }),
      ),
    );
    expect(verifications() - before).toBe(5);
    expect(results.filter((r) => r.code === 'TOO_MANY_ATTEMPTS')).toHaveLength(7);
  });

  it('still signs in with the right password by phone after 4 failures by email', async () => {
    const address = email();
    const number = phone();
    await signUp({ email: address, phoneNumber: number });
    for (let i = 0; i < 4; i++) await run(frontend, LOGIN, { input: { email: address, password: `wrong ${i}` } });
    const ok = await run(frontend, LOGIN, { input: { phoneNumber: number, password: PASSWORD } });
    expect(ok.errors).toEqual([]);
    expect(ok.data!.login.user.email).toBe(address);
  });

  it('answers an unknown identity exactly like an account: the same work per try, 5 × INVALID_CREDENTIALS, then TOO_MANY_ATTEMPTS', async () => {
    const known = email();
    await signUp({ email: known });
    const unknown = email();
    const answers = async (address: string) => {
      const codes: string[] = [];
      for (let i = 0; i < 6; i++) {
        const before = verifications();
        const result = await run(frontend, LOGIN, { input: { email: address, password: `wrong ${i}` } });
        codes.push(`${result.code}:${verifications() - before}`);
      }
      return codes;
    };
    const expected = [...Array(5).fill('INVALID_CREDENTIALS:1'), 'TOO_MANY_ATTEMPTS:0'];
    expect(await answers(known)).toEqual(expected);
    expect(await answers(unknown)).toEqual(expected);
  });
});

describe('finding 7: a wrong currentPassword in changePassword counts against the login limit (SPEC §3)', () => {
  it('refuses the 6th guess with a stolen access token with TOO_MANY_ATTEMPTS, even the right password, and locks login too', async () => {
    const address = email();
    const { auth } = await signUp({ email: address });
    const thief = bearer(auth.accessToken);
    const before = verifications();
    for (let i = 0; i < 5; i++) {
      const wrong = await run(thief, CHANGE_PASSWORD, { currentPassword: `guess ${i}`, newPassword: 'the thief password' });
      expect(wrong.code).toBe('INVALID_CREDENTIALS');
      expect(wrong.errors[0].extensions!.field).toBe('currentPassword');
    }
    const right = await run(thief, CHANGE_PASSWORD, { currentPassword: PASSWORD, newPassword: 'the thief password' });
    expect(right.code).toBe('TOO_MANY_ATTEMPTS');
    expect(right.errors[0].extensions!.retryAfter).toBeGreaterThan(0);
    expect(verifications() - before).toBe(5);
    expect((await run(frontend, LOGIN, { input: { email: address, password: PASSWORD } })).code).toBe('TOO_MANY_ATTEMPTS');
    expect((await run(frontend, LOGIN, { input: { email: address, password: 'the thief password' } })).code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('shares one budget with login failures, and counts parallel guesses exactly', async () => {
    const address = email();
    const { auth } = await signUp({ email: address });
    for (let i = 0; i < 3; i++) await run(frontend, LOGIN, { input: { email: address, password: `wrong ${i}` } });
    const before = verifications();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => run(bearer(auth.accessToken), CHANGE_PASSWORD, { currentPassword: `guess ${i}`, newPassword: 'another password' })),
    );
    expect(verifications() - before).toBe(2);
    expect(results.filter((r) => r.code === 'TOO_MANY_ATTEMPTS')).toHaveLength(6);
  });

  it('changes the password with the right current one after 4 wrong ones, and gives that attempt back', async () => {
    const address = email();
    const { auth } = await signUp({ email: address });
    const own = bearer(auth.accessToken);
    for (let i = 0; i < 4; i++) await run(own, CHANGE_PASSWORD, { currentPassword: `typo ${i}`, newPassword: 'my new password' });
    expect((await run(own, CHANGE_PASSWORD, { currentPassword: PASSWORD, newPassword: 'my new password' })).errors).toEqual([]);
    // 4 failures stand; the successful change did not add a fifth, so login still works.
    const login = await run(frontend, LOGIN, { input: { email: address, password: 'my new password' } });
    expect(login.errors).toEqual([]);
  });

  it('refuses a weak new password without spending a try or checking the current one', async () => {
    const { auth } = await signUp({ email: email() });
    const before = verifications();
    const weak = await run(bearer(auth.accessToken), CHANGE_PASSWORD, { currentPassword: 'any guess', newPassword: 'short' });
    expect(weak.code).toBe('WEAK_PASSWORD');
    expect(verifications() - before).toBe(0);
  });
});

