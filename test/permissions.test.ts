import { gql } from '@apollo/client/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, User } from '../src/db/entities';
import { apolloClient, run, type GqlResult } from './helpers/client';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';

/**
 * SPEC §1 "Who may call what", row by row, against every kind of caller. The expectations are
 * written here from the SPEC, not read from the code's table, so a wrong rule fails the test.
 * "ok" means the call got past the shield (it may still fail on its own terms, e.g. not found);
 * "UNAUTHENTICATED:reason" means UNAUTHENTICATED with that `extensions.reason`.
 *
 * Besides one credential alone, the callers a real client is: its key *and* its bearer token
 * on every request (valid, expired, ended, garbage, or another app's). The key operations
 * work with the app's own token alongside, expired or not; the token of another app never.
 */
type Caller =
  | 'none' | 'forged' | 'revoked' | 'publishable' | 'secret'
  | 'bearer' | 'expired' | 'ended' | 'suspended' | 'garbage'
  | 'publishable+bearer' | 'publishable+expired' | 'publishable+garbage' | 'publishable+foreign' | 'secret+expired';
type Expect = 'ok' | 'FORBIDDEN' | 'ACCOUNT_SUSPENDED:session_ended' | `UNAUTHENTICATED:${'missing_credentials' | 'invalid_key' | 'revoked_key' | 'invalid_token' | 'token_expired' | 'session_ended'}`;

const ANY_KEY: Record<Caller, Expect> = {
  none: 'UNAUTHENTICATED:missing_credentials',
  forged: 'UNAUTHENTICATED:invalid_key',
  revoked: 'UNAUTHENTICATED:revoked_key',
  publishable: 'ok',
  secret: 'ok',
  bearer: 'FORBIDDEN',
  expired: 'UNAUTHENTICATED:token_expired',
  ended: 'UNAUTHENTICATED:session_ended',
  // SPEC §4.10: a suspended account's token is refused as such, its reason still session_ended.
  suspended: 'ACCOUNT_SUSPENDED:session_ended',
  garbage: 'UNAUTHENTICATED:invalid_token',
  'publishable+bearer': 'ok',
  'publishable+expired': 'ok',
  'publishable+garbage': 'ok',
  'publishable+foreign': 'UNAUTHENTICATED:invalid_token',
  'secret+expired': 'ok',
};
const SECRET_ONLY: Record<Caller, Expect> = {
  ...ANY_KEY,
  publishable: 'FORBIDDEN',
  'publishable+bearer': 'FORBIDDEN',
  'publishable+expired': 'FORBIDDEN',
  'publishable+garbage': 'FORBIDDEN',
};
const BEARER_ONLY: Record<Caller, Expect> = {
  ...ANY_KEY,
  publishable: 'FORBIDDEN',
  secret: 'FORBIDDEN',
  bearer: 'ok',
  'publishable+bearer': 'ok',
  'publishable+expired': 'UNAUTHENTICATED:token_expired',
  'publishable+garbage': 'UNAUTHENTICATED:invalid_token',
  'secret+expired': 'UNAUTHENTICATED:token_expired',
};

const ROWS: { operation: string; document: ReturnType<typeof gql>; variables?: Record<string, unknown>; expect: Record<Caller, Expect> }[] = [
  { operation: 'checkEmail', document: gql`query { checkEmail(email: "a@example.com") { exists } }`, expect: ANY_KEY },
  { operation: 'checkPhoneNumber', document: gql`query { checkPhoneNumber(phoneNumber: "+35799478230") { exists } }`, expect: ANY_KEY },
  { operation: 'user', document: gql`query { user(email: "a@example.com") { id } }`, expect: SECRET_ONLY },
  { operation: 'users', document: gql`query { users(filter: {}) { totalCount } }`, expect: SECRET_ONLY },
  { operation: 'createUser', document: gql`mutation($e: String) { createUser(input: { email: $e }) { id } }`, variables: { e: 'perm@example.com' }, expect: SECRET_ONLY },
  {
    operation: 'updateUser',
    document: gql`mutation { updateUser(id: "01a20828-0000-7000-8000-000000000000", input: { firstName: "X" }) { id } }`,
    expect: SECRET_ONLY,
  },
  { operation: 'importUsers', document: gql`mutation { importUsers(input: []) { imported } }`, expect: SECRET_ONLY },
  { operation: 'register', document: gql`mutation { register(input: { email: "not-an-email", password: "x" }) { user { id } } }`, expect: ANY_KEY },
  { operation: 'login', document: gql`mutation { login(input: { email: "nobody@example.com", password: "x" }) { accessToken } }`, expect: ANY_KEY },
  { operation: 'refresh', document: gql`mutation { refresh(refreshToken: "rt_x") { accessToken } }`, expect: ANY_KEY },
  { operation: 'me', document: gql`query { me { id email } }`, expect: BEARER_ONLY },
  { operation: 'updateProfile', document: gql`mutation { updateProfile(input: { city: "Paris" }) { id } }`, expect: BEARER_ONLY },
  { operation: 'changePassword', document: gql`mutation { changePassword(currentPassword: "x", newPassword: "y") }`, expect: BEARER_ONLY },
  { operation: 'logout', document: gql`mutation { logout }`, expect: BEARER_ONLY },
  { operation: 'requestPasswordReset', document: gql`mutation { requestPasswordReset(input: { email: "nobody@example.com" }) { sent } }`, expect: ANY_KEY },
  { operation: 'resetPassword', document: gql`mutation { resetPassword(input: { token: "prt_x", password: "long enough pw" }) }`, expect: ANY_KEY },
  { operation: 'exchangeLoginTicket', document: gql`mutation { exchangeLoginTicket(lt: "lt_x") { accessToken } }`, expect: ANY_KEY },
  {
    operation: 'autologin',
    document: gql`mutation { autologin(input: { externalId: "perm", firstName: "P", lastName: "Q" }) { lt } }`,
    // no credentials passes the shield; the resolver then checks the origin (see account.test.ts)
    expect: { ...SECRET_ONLY, none: 'ok' },
  },
  { operation: 'socialNonce', document: gql`mutation { socialNonce(provider: "google") { nonce } }`, expect: ANY_KEY },
  { operation: 'signInWithIdToken', document: gql`mutation { signInWithIdToken(input: { provider: "google", idToken: "x", nonce: "n" }) { accessToken } }`, expect: ANY_KEY },
  { operation: 'signInWithAccessToken', document: gql`mutation { signInWithAccessToken(input: { provider: "facebook", accessToken: "x" }) { accessToken } }`, expect: ANY_KEY },
  { operation: 'startSocialSignIn', document: gql`mutation { startSocialSignIn(input: { provider: "google", redirectUri: "https://shop.example/" }) { authorizationUrl } }`, expect: ANY_KEY },
  { operation: 'linkIdentity', document: gql`mutation { linkIdentity(input: { provider: "google", idToken: "x" }) { id } }`, expect: BEARER_ONLY },
  { operation: 'unlinkIdentity', document: gql`mutation { unlinkIdentity(provider: "google") }`, expect: BEARER_ONLY },
  {
    operation: 'acceptLegalAgreement',
    document: gql`mutation { acceptLegalAgreement(input: { deviceUuid: "d", documents: ["terms"] }) { id } }`,
    expect: BEARER_ONLY,
  },
  // account lifecycle (SPEC §4.10); each call passes the shield and then fails on its own terms
  { operation: 'requestEmailChange', document: gql`mutation { requestEmailChange(newEmail: "not-an-email") { sent } }`, expect: BEARER_ONLY },
  { operation: 'requestPhoneChange', document: gql`mutation { requestPhoneChange(newPhoneNumber: "x") { sent } }`, expect: BEARER_ONLY },
  { operation: 'confirmContactChange', document: gql`mutation { confirmContactChange(code: "000000") { id } }`, expect: BEARER_ONLY },
  { operation: 'sessions', document: gql`query { sessions { id current } }`, expect: BEARER_ONLY },
  { operation: 'revokeSession', document: gql`mutation { revokeSession(id: "01a20828-0000-7000-8000-000000000000") }`, expect: BEARER_ONLY },
  { operation: 'deleteAccount', document: gql`mutation { deleteAccount(code: "000000") }`, expect: BEARER_ONLY },
  { operation: 'suspendUser', document: gql`mutation { suspendUser(id: "01a20828-0000-7000-8000-000000000000", reason: "r") { id } }`, expect: SECRET_ONLY },
  { operation: 'reinstateUser', document: gql`mutation { reinstateUser(id: "01a20828-0000-7000-8000-000000000000") { id } }`, expect: SECRET_ONLY },
  { operation: 'deleteUser', document: gql`mutation { deleteUser(id: "01a20828-0000-7000-8000-000000000000") }`, expect: SECRET_ONLY },
  { operation: 'revokeUserSessions', document: gql`mutation { revokeUserSessions(id: "01a20828-0000-7000-8000-000000000000") }`, expect: SECRET_ONLY },
  {
    operation: 'setUserContact',
    document: gql`mutation { setUserContact(id: "01a20828-0000-7000-8000-000000000000", input: { email: "a@example.com", verified: true }) { id } }`,
    expect: SECRET_ONLY,
  },
  { operation: 'securityEvents', document: gql`query { securityEvents { totalCount } }`, expect: SECRET_ONLY },
];

let gw: TestGateway;
let app: TestApp;
let otherApp: TestApp;
let userId: string;
let otherUserId: string;
let suspendedToken: string;
const headers: Partial<Record<Caller, Record<string, string>>> = {};

beforeAll(async () => {
  gw = await startGateway();
  app = await gw.createApp('Permissions');
  otherApp = await gw.createApp('Other brand');
  const doomed = await gw.createApp('Doomed');
  await gw.gateway.services.apps.revokeKey(gw.gateway.orm.em.fork(), doomed.secretKeyId);
  Object.assign(headers, {
    none: {},
    forged: { 'x-api-key': 'sk_' + 'A'.repeat(32) },
    revoked: { 'x-api-key': doomed.secretKey },
    publishable: { 'x-api-key': app.publishableKey },
    secret: { 'x-api-key': app.secretKey },
  });
  const register = gql`mutation($e: String!) { register(input: { email: $e, password: "permission test pw" }) { user { id } } }`;
  userId = (await run(apolloClient(gw.url, headers.publishable), register, { e: 'bearer@example.com' })).data!.register.user.id;
  otherUserId = (await run(apolloClient(gw.url, { 'x-api-key': otherApp.publishableKey }), register, { e: 'other@example.com' })).data!.register.user.id;
  // A customer holding a token when a partner suspended it.
  const suspendedId = (await run(apolloClient(gw.url, headers.publishable), register, { e: 'suspended@example.com' })).data!.register.user.id;
  suspendedToken = await accessToken(app.appId, suspendedId);
  const em = gw.gateway.orm.em.fork();
  const found = await em.findOneOrFail(App, { id: app.appId });
  await gw.gateway.services.lifecycle.accounts.suspend(em, { app: found, settings: gw.gateway.services.apps.settingsOf(found) }, suspendedId, 'permissions test', { by: 'partner', ip: null });
});
afterAll(() => gw.close());

/**
 * A fresh session per test (so logout in one row cannot affect another), started by the
 * gateway's own session service for an account registered above: the same tokens a login
 * gives, without paying a password hash per row.
 */
async function accessToken(appId = app.appId, user = userId): Promise<string> {
  const { services, orm } = gw.gateway;
  const em = orm.em.fork();
  const found = await em.findOneOrFail(App, { id: appId });
  const tenant = { app: found, settings: services.apps.settingsOf(found) };
  return (await services.sessions.signIn(em, tenant, await em.findOneOrFail(User, { id: user }))).accessToken;
}

/** The headers of a caller; `expired` ones are checked after the clock has moved past the token's 15 minutes. */
async function callerHeaders(caller: Caller): Promise<{ headers: Record<string, string>; expired: boolean }> {
  const fixed = headers[caller];
  if (fixed) return { headers: fixed, expired: false };
  const [key, token] = caller.includes('+') ? caller.split('+') : [null, caller];
  const result: Record<string, string> = key ? { ...headers[key as Caller] } : {};
  if (token === 'garbage') result.authorization = 'Bearer not-a-token';
  else if (token === 'suspended') result.authorization = `Bearer ${suspendedToken}`;
  else if (token === 'foreign') result.authorization = `Bearer ${await accessToken(otherApp.appId, otherUserId)}`;
  else {
    const access = await accessToken();
    result.authorization = `Bearer ${access}`;
    if (token === 'ended') await run(apolloClient(gw.url, { authorization: `Bearer ${access}` }), gql`mutation { logout }`);
  }
  return { headers: result, expired: token === 'expired' };
}

describe('the shield (SPEC §1)', () => {
  for (const row of ROWS) {
    for (const caller of Object.keys(row.expect) as Caller[]) {
      const expected = row.expect[caller];
      it(`${row.operation} with ${caller} → ${expected}`, async () => {
        const { headers: sent, expired } = await callerHeaders(caller);
        if (expired) gw.clock.advance(16 * 60 * 1000);
        let result: GqlResult;
        try {
          result = await run(apolloClient(gw.url, sent), row.document, row.variables);
        } finally {
          if (expired) gw.clock.advance(-16 * 60 * 1000);
        }
        if (expected === 'ok') {
          expect(['UNAUTHENTICATED', 'FORBIDDEN'], JSON.stringify(result.errors)).not.toContain(result.code);
          return;
        }
        const [code, reason] = expected.split(':');
        expect(result.code, JSON.stringify(result.errors)).toBe(code);
        expect(result.errors[0].extensions!.reason).toBe(reason);
        expect(JSON.stringify(result.errors)).not.toMatch(/stack|\.ts:|node_modules/);
        if (code === 'FORBIDDEN') {
          // SPEC §1: the message names the credential the operation needs.
          expect(result.errors[0].message).toMatch(new RegExp(`^${row.operation} needs .*(API key \\(x-api-key\\)|Authorization: Bearer)`));
        }
      });
    }
  }

  it('names the credential each kind of operation needs', async () => {
    const cases: [Caller, number, string][] = [
      ['bearer', ROWS.findIndex((r) => r.operation === 'login'), 'login needs a publishable or secret API key (x-api-key)'],
      ['publishable', ROWS.findIndex((r) => r.operation === 'user'), 'user needs a secret API key (x-api-key)'],
      ['secret', ROWS.findIndex((r) => r.operation === 'me'), 'me needs a bearer access token (Authorization: Bearer …)'],
      ['publishable', ROWS.findIndex((r) => r.operation === 'autologin'), "autologin needs a secret API key (x-api-key), or no credentials from one of the app's allowed origins (client-side)"],
    ];
    for (const [caller, index, message] of cases) {
      const result = await run(apolloClient(gw.url, (await callerHeaders(caller)).headers), ROWS[index].document, ROWS[index].variables);
      expect(result.errors[0]).toMatchObject({ message, extensions: { code: 'FORBIDDEN' } });
    }
  });

  it('lets a client refresh with its expired access token still attached, as clients do', async () => {
    const login = gql`mutation { login(input: { email: "bearer@example.com", password: "permission test pw" }) { accessToken refreshToken } }`;
    const auth = (await run(apolloClient(gw.url, headers.publishable), login)).data!.login;
    const both = apolloClient(gw.url, { ...headers.publishable, authorization: `Bearer ${auth.accessToken}` });
    gw.clock.advance(16 * 60 * 1000);
    try {
      const me = await run(both, gql`query { me { id } }`);
      expect(me.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'token_expired' });
      const refreshed = await run(both, gql`mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }`, { t: auth.refreshToken });
      expect(refreshed.errors).toEqual([]);
      const renewed = apolloClient(gw.url, { ...headers.publishable, authorization: `Bearer ${refreshed.data!.refresh.accessToken}` });
      expect((await run(renewed, gql`query { me { id } }`)).data!.me.id).toBe(userId);
    } finally {
      gw.clock.advance(-16 * 60 * 1000);
    }
  });

  it('answers a key that is not a key at all with UNAUTHENTICATED', async () => {
    for (const key of ['', 'garbage', 'pk_', app.publishableKey + 'x', app.secretKey.replace('sk_', 'pk_')]) {
      const result = await run(apolloClient(gw.url, { 'x-api-key': key }), ROWS[0].document);
      expect(result.code, key).toBe('UNAUTHENTICATED');
      expect(result.errors[0].extensions!.reason, key).toBe('invalid_key');
    }
  });

  it('stops a key the moment it is revoked, while another key of the app keeps working', async () => {
    const second = await gw.gateway.services.apps.createKey(gw.gateway.orm.em.fork(), app.appId, 'secret');
    const client = apolloClient(gw.url, { 'x-api-key': second.key });
    expect((await run(client, ROWS[2].document)).errors).toEqual([]);
    await gw.gateway.services.apps.revokeKey(gw.gateway.orm.em.fork(), second.id);
    expect((await run(client, ROWS[2].document)).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'revoked_key' });
    expect((await run(apolloClient(gw.url, headers.secret), ROWS[2].document)).errors).toEqual([]);
  });

  it('denies profile fields to a publishable key even through a nested path', async () => {
    // No operation open to a publishable key returns another person's User; this guards the type itself.
    const result = await run(apolloClient(gw.url, headers.publishable), gql`query { user(email: "a@example.com") { email } }`);
    expect(result.code).toBe('FORBIDDEN');
  });
});
