import { gql } from '@apollo/client/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rekeyEmails } from '../src/db/migrations/rekey-emails';
import { apolloClient, run, type Client } from './helpers/client';
import { startSmtpPeer, type SmtpPeer } from './helpers/delivery-peers';
import { CHECK_EMAIL, CREATE_USER, UPDATE_USER, USER, USERS } from './helpers/documents';
import { startGateway, TEST_DATABASE_URL, type TestApp, type TestGateway } from './helpers/gateway';
import { REQUEST_OTP, VALIDATE_OTP } from './helpers/otp-documents';
import { CHANGE_PASSWORD, IMPORT_USERS, LOGIN, REGISTER, UPDATE_PROFILE } from './helpers/session-documents';

/**
 * Issue 11, findings 6, 7, 8 and 12, performed as the audit wrote them, each next to the
 * legitimate path it must leave working. Runs on SQLite and, in the PostgreSQL pass, on
 * PostgreSQL + Redis (where finding 12 was an INTERNAL).
 */

const REQUEST_RESET = gql`
  mutation RequestReset($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) { sent verificationString } }
`;
const AUTOLOGIN = gql`
  mutation Autologin($input: AutologinInput!) { autologin(input: $input) { status registered lt } }
`;

const DATABASE = TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite';
const PASSWORD = 'correct horse battery';
let gw: TestGateway;
let smtp: SmtpPeer;
let app: TestApp;
let frontend: Client;
let partner: Client;
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
  partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
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

describe('finding 8: one normal form for emails (SPEC §3)', () => {
  it('makes x@café.example and x@xn--caf-dma.example one account: EMAIL_TAKEN, and either spelling signs in', async () => {
    const local = `x${tag()}`;
    const registered = await signUp({ email: `${local}@café.example` });
    expect(registered.user.email).toBe(`${local}@café.example`);
    for (const spelling of [`${local}@xn--caf-dma.example`, `${local.toUpperCase()}@CAFÉ.example`, `${local}@cafe\u0301.example`]) {
      expect((await run(frontend, REGISTER, { input: { email: spelling, password: PASSWORD } })).code).toBe('EMAIL_TAKEN');
      const login = await run(frontend, LOGIN, { input: { email: spelling, password: PASSWORD } });
      expect(login.errors).toEqual([]);
      expect(login.data!.login.user.id).toBe(registered.user.id);
    }
  });

  it('finds the account under the punycode spelling in every lookup: checkEmail, user, users, requestPasswordReset', async () => {
    const local = `y${tag()}`;
    const created = await run(partner, CREATE_USER, { input: { email: `${local}@bücher.example`, firstName: 'Yusuf', lastName: 'Çelik' } });
    expect(created.errors).toEqual([]);
    const id = created.data!.createUser.id;
    const ascii = `${local}@xn--bcher-kva.example`;
    expect((await run(frontend, CHECK_EMAIL, { email: ascii })).data!.checkEmail.exists).toBe(true);
    expect((await run(partner, USER, { email: ascii })).data!.user.id).toBe(id);
    expect((await run(partner, USERS, { filter: { email: ascii } })).data!.users.edges.map((e: any) => e.node.id)).toEqual([id]);
    const reset = await run(partner, REQUEST_RESET, { input: { email: ascii, sendEmail: false } });
    expect(reset.errors).toEqual([]);
    expect(reset.data!.requestPasswordReset.verificationString).toBeTruthy();
    expect((await run(partner, CREATE_USER, { input: { email: ascii } })).code).toBe('EMAIL_TAKEN');
    const imported = await run(partner, IMPORT_USERS, { input: [{ email: `${local}@BÜCHER.example` }] });
    expect(imported.data!.importUsers.failed).toEqual([expect.objectContaining({ index: 0, code: 'EMAIL_TAKEN' })]);
  });

  it('sends a login code for the punycode spelling to the address on record, and signs in with it', async () => {
    const local = `z${tag()}`;
    const { user } = await signUp({ email: `${local}@café.example` });
    const requested = await run(frontend, REQUEST_OTP, { input: { email: `${local}@xn--caf-dma.example`, purpose: 'LOGIN' } });
    expect(requested.errors).toEqual([]);
    await gw.delivered(); // the courier sends after the commit, not inside the request
    const mail = smtp.messages.filter((m) => m.to.some((to) => to.startsWith(`${local}@`))).at(-1)!;
    const code = /code is (\d{4,8})/.exec(mail.text)![1];
    const signedIn = await run(frontend, VALIDATE_OTP, { input: { email: `${local}@CAFÉ.example`, code } });
    expect(signedIn.errors).toEqual([]);
    expect(signedIn.data!.validateOtp.user.id).toBe(user.id);
  });

  it('keeps a Cyrillic letter in the domain as another domain: a second account, under its own punycode', async () => {
    const local = `c${tag()}`;
    const latin = await signUp({ email: `${local}@example.com` });
    const cyrillic = await signUp({ email: `${local}@\u0435xample.com` }); // "е" is U+0435
    expect(cyrillic.user.id).not.toBe(latin.user.id);
    expect((await run(partner, USER, { email: `${local}@xn--xample-2of.com` })).data!.user.id).toBe(cyrillic.user.id);
  });

  const INVISIBLES: [string, string][] = [
    ['zero-width space in the domain', 'exa\u200Bmple.com'],
    ['soft hyphen in the domain', 'exa\u00ADmple.com'],
    ['zero-width joiner in the domain', 'exa\u200Dmple.com'],
    ['zero-width non-joiner in the domain', 'caf\u200Cé.example'],
    ['word joiner before the domain', '\u2060example.com'],
    ['variation selector in the domain', 'exa\uFE0Fmple.com'],
  ];
  for (const [name, domain] of INVISIBLES) {
    it(`refuses a ${name} with BAD_USER_INPUT on the email field, wherever an email enters`, async () => {
      const address = `victim${tag()}@${domain}`;
      const asInput = { email: address };
      const calls: [Client, ReturnType<typeof gql>, Record<string, unknown>, string][] = [
        [frontend, REGISTER, { input: { ...asInput, password: PASSWORD } }, 'email'],
        [frontend, LOGIN, { input: { ...asInput, password: PASSWORD } }, 'email'],
        [frontend, CHECK_EMAIL, { email: address }, 'email'],
        [frontend, REQUEST_OTP, { input: { ...asInput, purpose: 'LOGIN' } }, 'email'],
        [frontend, VALIDATE_OTP, { input: { ...asInput, code: '123456' } }, 'email'],
        [frontend, REQUEST_RESET, { input: asInput }, 'email'],
        [partner, USER, { email: address }, 'email'],
        [partner, USERS, { filter: asInput }, 'email'],
        [partner, CREATE_USER, { input: asInput }, 'email'],
        [partner, AUTOLOGIN, { input: { externalId: `ext-${tag()}`, firstName: 'Eve', lastName: 'Doe', email: address } }, 'email'],
      ];
      for (const [client, document, variables, field] of calls) {
        const result = await run(client, document, variables);
        expect({ op: (document.definitions[0] as any).name?.value, code: result.code, field: result.errors[0]?.extensions?.field }).toEqual({
          op: (document.definitions[0] as any).name?.value,
          code: 'BAD_USER_INPUT',
          field,
        });
      }
      const imported = await run(partner, IMPORT_USERS, { input: [asInput, { email: email() }] });
      expect(imported.data!.importUsers).toMatchObject({ imported: 1, failed: [{ index: 0, code: 'BAD_USER_INPUT', field: 'email' }] });
    });
  }

  it('rewrites keys stored before the normal form (migration normal_forms), leaving look-alike pairs and invisible spellings alone', async () => {
    const em = gw.gateway.orm.em.fork();
    const execute = (sql: string, params: unknown[] = []) => em.getConnection().execute(sql, params, 'all') as Promise<Record<string, unknown>[]>;
    const legacy = async (stored: string) => {
      const created = await run(partner, CREATE_USER, { input: { email: `placeholder${tag()}@example.com` } });
      const id = created.data!.createUser.id as string;
      // What the old code stored: the address as given, and its lower-cased form as the key.
      await execute('update "user" set email = ?, email_key = ? where id = ?', [stored, stored.toLowerCase(), id]);
      return id;
    };
    const local = `old${tag()}`;
    const idn = await legacy(`${local}@CAFÉ.example`);
    const pairLocal = `pair${tag()}`;
    const pairOld = await legacy(`${pairLocal}@café.example`);
    const pairNew = (await run(partner, CREATE_USER, { input: { email: `${pairLocal}@xn--caf-dma.example` } })).data!.createUser.id;
    const invisible = await legacy(`inv${tag()}@exa\u200Bmple.com`);
    expect((await run(partner, USER, { email: `${local}@café.example` })).data!.user).toBeNull();

    await rekeyEmails(execute, TEST_DATABASE_URL ? 'postgresql' : 'sqlite');

    const found = await run(partner, USER, { email: `${local}@xn--caf-dma.example` });
    expect(found.data!.user).toMatchObject({ id: idn, email: `${local}@café.example` });
    expect((await run(partner, USER, { email: `${pairLocal}@café.example` })).data!.user.id).toBe(pairNew);
    const keyOf = async (id: string) => (await execute('select email_key from "user" where id = ?', [id]))[0].email_key;
    expect(await keyOf(pairOld)).toBe(`${pairLocal}@café.example`);
    expect(await keyOf(invisible)).toContain('\u200B'.toLowerCase());
  });
});

describe(`finding 12: what normalisation grows still fits its column, or is BAD_USER_INPUT — ${DATABASE} (SPEC §5)`, () => {
  const I100 = 'İ'.repeat(100); // lower-cased: 200 characters ("i" + combining dot above)

  it('stores first and last names of 100 × "İ" everywhere a name enters, and finds them by name', async () => {
    const names = { firstName: I100, lastName: I100 };
    const registered = await run(frontend, REGISTER, { input: { email: email(), password: PASSWORD, ...names } });
    expect(registered.errors).toEqual([]);
    const created = await run(partner, CREATE_USER, { input: { email: email(), ...names } });
    expect(created.errors).toEqual([]);
    const plain = await run(partner, CREATE_USER, { input: { email: email(), firstName: 'Ada', lastName: 'Lovelace' } });
    const updated = await run(partner, UPDATE_USER, { id: plain.data!.createUser.id, input: names });
    expect(updated.errors).toEqual([]);
    const imported = await run(partner, IMPORT_USERS, { input: [{ email: email(), ...names }] });
    expect(imported.data!.importUsers).toEqual({ imported: 1, failed: [] });
    const auto = await run(partner, AUTOLOGIN, { input: { externalId: `ext-${tag()}`, email: email(), ...names } });
    expect(auto.errors).toEqual([]);
    const own = await run(bearer(registered.data!.register.auth.accessToken), UPDATE_PROFILE, { input: { firstName: `${I100.slice(1)}ı`, lastName: I100 } });
    expect(own.errors).toEqual([]);

    const byName = await run(partner, USERS, { filter: { firstName: I100, lastName: I100 }, first: 10 });
    expect(byName.errors).toEqual([]);
    expect(byName.data!.users.totalCount).toBe(4);
    // A normal non-ASCII name next to them.
    const normal = await run(partner, CREATE_USER, { input: { email: email(), firstName: 'İlkay', lastName: 'Gündoğan' } });
    expect(normal.errors).toEqual([]);
    expect((await run(partner, USERS, { filter: { firstName: 'İLKAY', lastName: 'GÜNDOĞAN' } })).data!.users.totalCount).toBe(1);
  });

  it('refuses an email whose punycode form outgrows its column with BAD_USER_INPUT on email, in every write', async () => {
    // 112 characters as typed; 256 as stored (each "ä" label becomes "xn--4ca").
    const long = `${'a'.repeat(60)}@${'ä.'.repeat(24)}com`;
    expect(long.length).toBeLessThanOrEqual(254);
    const writes: [Client, ReturnType<typeof gql>, Record<string, unknown>][] = [
      [frontend, REGISTER, { input: { email: long, password: PASSWORD } }],
      [partner, CREATE_USER, { input: { email: long } }],
      [partner, AUTOLOGIN, { input: { externalId: `ext-${tag()}`, firstName: 'Ann', lastName: 'Lee', email: long } }],
      [frontend, LOGIN, { input: { email: long, password: PASSWORD } }],
    ];
    for (const [client, document, variables] of writes) {
      const result = await run(client, document, variables);
      expect(result.code).toBe('BAD_USER_INPUT');
      expect(result.errors[0].extensions!.field).toBe('email');
    }
    const imported = await run(partner, IMPORT_USERS, { input: [{ email: long }] });
    expect(imported.data!.importUsers.failed).toEqual([expect.objectContaining({ index: 0, code: 'BAD_USER_INPUT', field: 'email' })]);
  });

  it('refuses an imported hash longer than its column with BAD_USER_INPUT on passwordHash, and imports the row next to it', async () => {
    const tooLong = `$argon2id$v=19$m=19456,t=2,p=1$${'c2FsdHNhbHQ'.repeat(4)}$${'A'.repeat(600)}`;
    const fine = `$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$${'A'.repeat(43)}`;
    const imported = await run(partner, IMPORT_USERS, { input: [{ email: email(), passwordHash: tooLong }, { email: email(), passwordHash: fine }] });
    expect(imported.errors).toEqual([]);
    expect(imported.data!.importUsers).toMatchObject({ imported: 1, failed: [{ index: 0, code: 'BAD_USER_INPUT', field: 'passwordHash' }] });
  });
});
