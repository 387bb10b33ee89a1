import { gql } from '@apollo/client/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtpChallenge } from '../src/db/entities';
import { apolloClient, run, type Client } from './helpers/client';
import { startSmsPeer, startSmtpPeer, type SmsPeer, type SmtpPeer } from './helpers/delivery-peers';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';
import { FIND_USER, REQUEST_OTP, VALIDATE_OTP } from './helpers/otp-documents';
import { CHANGE_PASSWORD, LOGIN, ME, REGISTER } from './helpers/session-documents';
import { CHECK_EMAIL } from './helpers/documents';

const SMS_SECRET = 'test-sms-webhook-secret';
let gw: TestGateway;
let smtp: SmtpPeer;
let sms: SmsPeer;
let menu: TestApp; // Menu.app: email or phone + code sign-up, codes only
let crm: TestApp; // CRM.COM: phone + code, code sent at registration
let menuClient: Client;
let crmClient: Client;

let n = 0;
const email = () => `john.doe+${++n}.${Date.now()}@example.com`;
const phone = () => `+3579947${String(++n).padStart(4, '0')}`;
const bearer = (token: string) => apolloClient(gw.url, { authorization: `Bearer ${token}` });

beforeAll(async () => {
  [smtp, sms] = await Promise.all([startSmtpPeer(), startSmsPeer(SMS_SECRET)]);
  gw = await startGateway({ smtpUrl: smtp.url, emailFrom: 'Gatehouse <codes@gatehouse.test>', smsWebhookUrl: sms.url, smsWebhookSecret: SMS_SECRET });
  menu = await gw.createApp('Menu', { signUpMethods: ['EMAIL_OTP', 'PHONE_OTP'], brandName: 'Menu Burgers' });
  crm = await gw.createApp('CRM', { signUpMethods: ['PHONE_OTP'], brandName: 'DropHop' });
  menuClient = apolloClient(gw.url, { 'x-api-key': menu.publishableKey });
  crmClient = apolloClient(gw.url, { 'x-api-key': crm.publishableKey });
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([smtp?.close(), sms?.close()]);
});

/** Live (unconsumed) challenges of one destination, read straight from the database. */
async function liveChallenges(appId: string, destination: string) {
  return gw.gateway.orm.em.fork().find(OtpChallenge, { app: appId, destination, consumedAt: null });
}

describe('Menu.app passwordless sign-up (menu-passwordless-signup.txt)', () => {
  it('requests a code by email, reads it from the mail, and registers verified and signed in', async () => {
    const address = email();
    const requested = await run(menuClient, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } });
    expect(requested.errors).toEqual([]);
    expect(requested.data!.requestOtp).toMatchObject({ sent: true, channel: 'EMAIL', expiresIn: 600, resendAfter: 30 });
    expect(requested.data!.requestOtp.destination).toBe('j***@example.com');

    await gw.delivered();
    const mail = smtp.to(address).at(-1)!;
    expect(mail.subject).toBe('Your Menu Burgers code');
    expect(mail.headers.from).toContain('Menu Burgers');
    expect(mail.headers.from).toContain('codes@gatehouse.test');
    const code = smtp.codeFor(address);
    expect(code).toMatch(/^\d{6}$/);
    expect(JSON.stringify(requested)).not.toContain(code);

    const registered = await run(menuClient, REGISTER, { input: { email: address, otpCode: code, firstName: 'John', lastName: 'Doe' } });
    expect(registered.errors).toEqual([]);
    const { user, auth, verification } = registered.data!.register;
    expect(user).toMatchObject({ email: address, emailVerified: true, firstName: 'John' });
    expect(verification).toBeNull();
    expect(auth.user.id).toBe(user.id);
    expect(JSON.stringify(registered)).not.toContain(code);

    const me = await run(bearer(auth.accessToken), ME);
    expect(me.data!.me).toMatchObject({ id: user.id, emailVerified: true, hasPassword: false });

    // single use: the same code cannot register again
    const again = await run(menuClient, REGISTER, { input: { email: email(), otpCode: code } });
    expect(again.code).toBe('INVALID_OTP');
  });

  it('registers by phone with a code sent by SMS and marks the phone and its phoneNumbers entry verified', async () => {
    const number = phone();
    expect((await run(menuClient, REQUEST_OTP, { input: { phoneNumber: number, purpose: 'REGISTER' } })).errors).toEqual([]);
    await gw.delivered();
    const code = sms.codeFor(number);
    expect(sms.to(number).at(-1)!.body).toContain('Menu Burgers');
    const registered = await run(menuClient, REGISTER, { input: { phoneNumber: number, otpCode: code, email: email(), firstName: 'Jonh' } });
    expect(registered.errors).toEqual([]);
    expect(registered.data!.register.user).toMatchObject({ phoneNumber: number, phoneVerified: true, emailVerified: false });
    expect(registered.data!.register.user.phoneNumbers).toEqual([{ phoneNumber: number, verifiedOwnership: true }]);
    expect(registered.data!.register.auth.accessToken).toBeTruthy();
  });

  it('refuses a code asked for one email when registering another, without creating an account', async () => {
    const asked = email();
    await run(menuClient, REQUEST_OTP, { input: { email: asked, purpose: 'REGISTER' } });
    const other = email();
    await gw.delivered();
    const result = await run(menuClient, REGISTER, { input: { email: other, otpCode: smtp.codeFor(asked) } });
    expect(result.code).toBe('INVALID_OTP');
    expect((await run(menuClient, CHECK_EMAIL, { email: other })).data!.checkEmail.exists).toBe(false);
  });

  it('answers EMAIL_TAKEN for a REGISTER code to an email that already has an account, and sends nothing', async () => {
    const address = email();
    await run(menuClient, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } });
    await gw.delivered();
    await run(menuClient, REGISTER, { input: { email: address, otpCode: smtp.codeFor(address) } });
    await gw.delivered();
    const before = smtp.to(address).length;
    expect((await run(menuClient, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } })).code).toBe('EMAIL_TAKEN');
    await gw.delivered();
    expect(smtp.to(address)).toHaveLength(before);
  });
});

describe('CRM.COM phone sign-up (crm-contacts-otp.txt)', () => {
  it('creates the contact unverified, texts a code, signs in with validateOtp, and later signs in by code again', async () => {
    const national = `9947${String(++n).padStart(4, '0')}`;
    const e164 = `+357${national}`;
    const registered = await run(crmClient, REGISTER, {
      input: { firstName: 'Ahmed', lastName: 'Samir', phoneNumber: national, countryCode: 'CYP', optInSms: 'DISABLED' },
    });
    expect(registered.errors).toEqual([]);
    const { user, auth, verification } = registered.data!.register;
    expect(auth).toBeNull();
    expect(user).toMatchObject({ phoneNumber: e164, phoneVerified: false });
    expect(verification).toMatchObject({ channel: 'SMS', expiresIn: 600 });
    expect(verification.destination).toBe(`+357*****${national.slice(-3)}`);

    // the SMS arrived at the webhook, signed (the receiver refuses bad signatures)
    expect(sms.badSignatures).toBe(0);
    await gw.delivered();
    const text = sms.to(e164).at(-1)!;
    expect(text.appId).toBe(crm.appId);
    expect(text.body).toContain('DropHop');
    const code = sms.codeFor(e164);
    expect(JSON.stringify(registered)).not.toContain(code);

    const validated = await run(crmClient, VALIDATE_OTP, { input: { phoneNumber: national, countryCode: 'CYP', code } });
    expect(validated.errors).toEqual([]);
    const payload = validated.data!.validateOtp;
    expect(payload.tokenType).toBe('Bearer');
    expect(payload.user).toMatchObject({ id: user.id, phoneVerified: true, phoneNumbers: [{ phoneNumber: e164, verifiedOwnership: true }] });
    expect((await run(bearer(payload.accessToken), ME)).data!.me).toMatchObject({ id: user.id, phoneVerified: true });

    // a code works once
    expect((await run(crmClient, VALIDATE_OTP, { input: { phoneNumber: e164, code } })).code).toBe('INVALID_OTP');

    // Step 4: logged out, some time later, signs in again by code
    gw.clock.advance(3600_000);
    const login = await run(crmClient, REQUEST_OTP, { input: { phoneNumber: national, countryCode: 'CY', purpose: 'LOGIN', channel: 'SMS' } });
    expect(login.errors).toEqual([]);
    expect(login.data!.requestOtp).toMatchObject({ sent: true, channel: 'SMS', destination: verification.destination });
    await gw.delivered();
    const again = await run(crmClient, VALIDATE_OTP, { input: { phoneNumber: e164, code: sms.codeFor(e164) } });
    expect(again.errors).toEqual([]);
    expect(again.data!.validateOtp.user.id).toBe(user.id);
  });

  it('answers LOGIN for an unknown phone with the same shape and sends nothing', async () => {
    const unknown = phone();
    const result = await run(crmClient, REQUEST_OTP, { input: { phoneNumber: unknown, purpose: 'LOGIN' } });
    expect(result.errors).toEqual([]);
    expect(Object.keys(result.data!.requestOtp).sort()).toEqual(['channel', 'destination', 'expiresAt', 'expiresIn', 'resendAfter', 'sent']);
    expect(result.data!.requestOtp).toMatchObject({ sent: true, channel: 'SMS', expiresIn: 600, resendAfter: 30 });
    await gw.delivered();
    expect(sms.to(unknown)).toHaveLength(0);
    // and a guess answers like a wrong code for a real account
    const guess = await run(crmClient, VALIDATE_OTP, { input: { phoneNumber: unknown, code: '123456' } });
    expect(guess.code).toBe('INVALID_OTP');
    expect(guess.errors[0].extensions!.attemptsLeft).toBe(4);
  });
});

describe('one-time code limits (SPEC §3)', () => {
  /** A signed-up Menu.app customer with a fresh LOGIN code mailed to them. */
  async function customerWithCode(): Promise<{ address: string; code: string }> {
    const address = email();
    await run(menuClient, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } });
    await gw.delivered();
    expect((await run(menuClient, REGISTER, { input: { email: address, otpCode: smtp.codeFor(address) } })).errors).toEqual([]);
    gw.clock.advance(31_000);
    expect((await run(menuClient, REQUEST_OTP, { input: { email: address, purpose: 'LOGIN' } })).errors).toEqual([]);
    await gw.delivered();
    return { address, code: smtp.codeFor(address) };
  }
  const wrong = (code: string) => (code === '000000' ? '000001' : '000000');

  it('kills a code after 5 wrong tries: attemptsLeft counts down, then even the right code answers TOO_MANY_ATTEMPTS', async () => {
    const { address, code } = await customerWithCode();
    const left: number[] = [];
    for (let i = 0; i < 5; i++) {
      const result = await run(menuClient, VALIDATE_OTP, { input: { email: address, code: wrong(code) } });
      expect(result.code).toBe('INVALID_OTP');
      left.push(result.errors[0].extensions!.attemptsLeft as number);
    }
    expect(left).toEqual([4, 3, 2, 1, 0]);
    const right = await run(menuClient, VALIDATE_OTP, { input: { email: address, code } });
    expect(right.code).toBe('TOO_MANY_ATTEMPTS');
    expect(right.errors[0].extensions!.retryAfter).toBeGreaterThan(0);
    expect(right.data).toBeNull();
  });

  it('counts every executed aliased validateOtp field as a try: 8-alias requests kill the code after 5 wrong tries in all', async () => {
    const { address, code } = await customerWithCode();
    const fields = Array.from({ length: 8 }, (_, i) => `t${i}: validateOtp(input: { email: $email, code: "${wrong(code)}" }) { accessToken }`).join('\n');
    const document = gql(`mutation Guess($email: String!) {\n${fields}\n}`);
    // GraphQL runs mutation fields one after another and stops at the first failed non-null
    // field, so a request executes as many tries as it reports errors; none is free.
    const seen: string[] = [];
    for (let request = 0; request < 8 && !seen.includes('TOO_MANY_ATTEMPTS'); request++) {
      const result = await run(menuClient, document, { email: address });
      expect(result.data).toBeNull();
      expect(result.errors.length).toBeGreaterThan(0);
      seen.push(...result.errors.map((e) => e.extensions!.code as string));
    }
    expect(seen.filter((c) => c === 'INVALID_OTP')).toHaveLength(5);
    expect(seen.at(-1)).toBe('TOO_MANY_ATTEMPTS');
    const [row] = await gw.gateway.orm.em.fork().find(OtpChallenge, { app: menu.appId, destination: address.toLowerCase() });
    expect(row.attempts).toBe(5);
    const right = await run(menuClient, VALIDATE_OTP, { input: { email: address, code } });
    expect(right.code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('holds the cap under concurrent requests: 12 parallel wrong tries leave the right code dead', async () => {
    const { address, code } = await customerWithCode();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => run(menuClient, VALIDATE_OTP, { input: { email: address, code: wrong(code) } })),
    );
    expect(results.filter((r) => r.code === 'INVALID_OTP')).toHaveLength(5);
    expect(results.filter((r) => r.code === 'TOO_MANY_ATTEMPTS')).toHaveLength(7);
    expect((await run(menuClient, VALIDATE_OTP, { input: { email: address, code } })).code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('signs in once when the right code is sent twice at the same time', async () => {
    const { address, code } = await customerWithCode();
    const results = await Promise.all([1, 2, 3].map(() => run(menuClient, VALIDATE_OTP, { input: { email: address, code } })));
    expect(results.filter((r) => r.errors.length === 0)).toHaveLength(1);
    expect(results.filter((r) => r.code === 'INVALID_OTP')).toHaveLength(2);
  });

  it('answers OTP_EXPIRED once the clock passes the code lifetime', async () => {
    const { address, code } = await customerWithCode();
    gw.clock.advance(601_000);
    expect((await run(menuClient, VALIDATE_OTP, { input: { email: address, code } })).code).toBe('OTP_EXPIRED');
  });

  it('honours the app settings otpLength and otpTtlSeconds', async () => {
    const short = await gw.createApp('Short codes', { signUpMethods: ['EMAIL_OTP'], otpLength: 4, otpTtlSeconds: 120 });
    const client = apolloClient(gw.url, { 'x-api-key': short.publishableKey });
    const address = email();
    const requested = await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } });
    expect(requested.data!.requestOtp.expiresIn).toBe(120);
    await gw.delivered();
    const code = smtp.codeFor(address);
    expect(code).toMatch(/^\d{4}$/);
    expect(smtp.to(address).at(-1)!.text).toContain('2 minutes');
    gw.clock.advance(121_000);
    expect((await run(client, REGISTER, { input: { email: address, otpCode: code } })).code).toBe('OTP_EXPIRED');
    expect((await run(client, CHECK_EMAIL, { email: address })).data!.checkEmail.exists).toBe(false);
  });

  it('refuses a new code within 30 s (retryAfter), then replaces the old code with the new one', async () => {
    const { address, code: first } = await customerWithCode();
    const early = await run(menuClient, REQUEST_OTP, { input: { email: address, purpose: 'LOGIN' } });
    expect(early.code).toBe('TOO_MANY_ATTEMPTS');
    const retryAfter = early.errors[0].extensions!.retryAfter as number;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(30);
    await gw.delivered();
    expect(smtp.to(address)).toHaveLength(2); // the REGISTER code and the first LOGIN code only

    gw.clock.advance(retryAfter * 1000);
    expect((await run(menuClient, REQUEST_OTP, { input: { email: address, purpose: 'LOGIN' } })).errors).toEqual([]);
    await gw.delivered();
    const second = smtp.codeFor(address);
    if (second !== first) {
      expect((await run(menuClient, VALIDATE_OTP, { input: { email: address, code: first } })).code).toBe('INVALID_OTP');
    }
    expect((await run(menuClient, VALIDATE_OTP, { input: { email: address, code: second } })).errors).toEqual([]);
    expect(await liveChallenges(menu.appId, address.toLowerCase())).toHaveLength(0);
  });

  it('sends at most 5 codes to one destination in an hour', async () => {
    const number = phone();
    for (let i = 0; i < 5; i++) {
      const sent = await run(menuClient, REQUEST_OTP, { input: { phoneNumber: number, purpose: 'REGISTER' } });
      expect(sent.errors).toEqual([]);
      gw.clock.advance(31_000);
    }
    const sixth = await run(menuClient, REQUEST_OTP, { input: { phoneNumber: number, purpose: 'REGISTER' } });
    expect(sixth.code).toBe('TOO_MANY_ATTEMPTS');
    expect(sixth.errors[0].extensions!.retryAfter).toBeGreaterThan(0);
    await gw.delivered();
    expect(sms.to(number)).toHaveLength(5);
    // the fifth code still works
    const registered = await run(menuClient, REGISTER, { input: { phoneNumber: number, otpCode: sms.codeFor(number) } });
    expect(registered.errors).toEqual([]);
  });

  it('keeps the hourly count in the database: another instance refuses the sixth code too, and the next hour on the clock allows one', async () => {
    const other = await startGateway({ smtpUrl: smtp.url, emailFrom: 'Gatehouse <codes@gatehouse.test>', smsWebhookUrl: sms.url, smsWebhookSecret: SMS_SECRET }, { sameDeploymentAs: gw });
    try {
      const onOther = apolloClient(other.url, { 'x-api-key': menu.publishableKey });
      const address = email();
      // The five codes of the hour, asked of either instance in turn (30 s apart: the cooldown).
      for (let i = 0; i < 5; i++) {
        const sent = await run(i % 2 ? onOther : menuClient, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } });
        expect(sent.errors, `send ${i + 1}`).toEqual([]);
        gw.clock.advance(31_000);
      }
      for (const client of [menuClient, onOther]) {
        const sixth = await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } });
        expect(sixth.code).toBe('TOO_MANY_ATTEMPTS');
        // The hour began with the first code, 5 × 31 s ago.
        expect(sixth.errors[0].extensions!.retryAfter).toBeGreaterThan(3600 - 5 * 31 - 5);
        expect(sixth.errors[0].extensions!.retryAfter).toBeLessThanOrEqual(3600 - 5 * 31);
      }
      gw.clock.advance(3600_000);
      expect((await run(onOther, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } })).errors).toEqual([]);
      const [row] = await liveChallenges(menu.appId, address.toLowerCase());
      expect(row.sends).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('stores only a keyed hash of the code', async () => {
    const address = email();
    await run(menuClient, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } });
    await gw.delivered();
    const code = smtp.codeFor(address);
    const [row] = await liveChallenges(menu.appId, address.toLowerCase());
    expect(row.codeHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(code);
  });
});

describe('methods and back-office contacts (SPEC §4.2, §4.6)', () => {
  it('answers METHOD_DISABLED for code sign-up and code login when the app has the method off', async () => {
    const passwords = await gw.createApp('Passwords only', { signUpMethods: ['EMAIL_PASSWORD'] });
    const client = apolloClient(gw.url, { 'x-api-key': passwords.publishableKey });
    const address = email();
    expect((await run(client, REQUEST_OTP, { input: { email: address, purpose: 'REGISTER' } })).code).toBe('METHOD_DISABLED');
    expect((await run(client, REQUEST_OTP, { input: { phoneNumber: phone(), purpose: 'LOGIN' } })).code).toBe('METHOD_DISABLED');
    expect((await run(client, REGISTER, { input: { email: address, otpCode: '123456' } })).code).toBe('METHOD_DISABLED');
    expect((await run(client, REGISTER, { input: { email: address } })).code).toBe('METHOD_DISABLED');
    await gw.delivered();
    expect(smtp.to(address)).toHaveLength(0);
    // CRM.COM has phone codes only
    expect((await run(crmClient, REQUEST_OTP, { input: { email: email(), purpose: 'REGISTER' } })).code).toBe('METHOD_DISABLED');
    expect((await run(crmClient, REGISTER, { input: { email: email() } })).code).toBe('METHOD_DISABLED');
  });

  it('lets a back-office contact prove its email by code, then set a first password without a current one', async () => {
    const passwords = await gw.createApp('Back office', { signUpMethods: ['EMAIL_PASSWORD'] });
    const partner = apolloClient(gw.url, { 'x-api-key': passwords.secretKey });
    const client = apolloClient(gw.url, { 'x-api-key': passwords.publishableKey });
    const address = email();
    const created = await run(partner, gql`mutation C($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { email: address, firstName: 'Andy' } });
    expect(created.errors).toEqual([]);

    expect((await run(client, REQUEST_OTP, { input: { email: address, purpose: 'VERIFY' } })).errors).toEqual([]);
    await gw.delivered();
    const validated = await run(client, VALIDATE_OTP, { input: { email: address, code: smtp.codeFor(address) } });
    expect(validated.errors).toEqual([]);
    expect(validated.data!.validateOtp.user).toMatchObject({ id: created.data!.createUser.id, emailVerified: true });

    const token = validated.data!.validateOtp.accessToken;
    expect((await run(bearer(token), CHANGE_PASSWORD, { newPassword: 'a first password' })).errors).toEqual([]);
    expect((await run(client, LOGIN, { input: { email: address, password: 'a first password' } })).errors).toEqual([]);
    expect((await run(partner, FIND_USER, { email: address })).data!.user.emailVerified).toBe(true);
  });

  it('honours uniquePhoneNumber: PHONE_TAKEN when on, a second account with the same phone when off', async () => {
    const number = phone();
    await run(menuClient, REQUEST_OTP, { input: { phoneNumber: number, purpose: 'REGISTER' } });
    await gw.delivered();
    expect((await run(menuClient, REGISTER, { input: { phoneNumber: number, otpCode: sms.codeFor(number) } })).errors).toEqual([]);
    gw.clock.advance(31_000);
    expect((await run(menuClient, REQUEST_OTP, { input: { phoneNumber: number, purpose: 'REGISTER' } })).code).toBe('PHONE_TAKEN');

    const shared = await gw.createApp('Shared phones', { signUpMethods: ['PHONE_OTP'], uniquePhoneNumber: false });
    const client = apolloClient(gw.url, { 'x-api-key': shared.publishableKey });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const result = await run(client, REGISTER, { input: { phoneNumber: number, firstName: `Twin ${i}` } });
      expect(result.errors).toEqual([]);
      await gw.delivered();
      const validated = await run(client, VALIDATE_OTP, { input: { phoneNumber: number, code: sms.codeFor(number) } });
      expect(validated.errors).toEqual([]);
      // the code signs into the account it was sent for
      expect(validated.data!.validateOtp.user.id).toBe(result.data!.register.user.id);
      ids.push(result.data!.register.user.id);
      gw.clock.advance(31_000);
    }
    expect(new Set(ids).size).toBe(2);
  });

  it('refuses a channel that does not match the identity, naming the field', async () => {
    const result = await run(menuClient, REQUEST_OTP, { input: { email: email(), purpose: 'REGISTER', channel: 'SMS' } });
    expect(result.code).toBe('BAD_USER_INPUT');
    expect(result.errors[0].extensions!.field).toBe('channel');
  });
});
