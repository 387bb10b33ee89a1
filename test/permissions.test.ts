import { gql } from '@apollo/client/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloClient, run } from './helpers/client';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';

/**
 * SPEC §1 "Who may call what", row by row, against every kind of caller. The expectations are
 * written here from the SPEC, not read from the code's table, so a wrong rule fails the test.
 * "ok" means the call got past the shield (it may still fail on its own terms, e.g. not found).
 */
type Caller = 'none' | 'forged' | 'revoked' | 'publishable' | 'secret' | 'bearer';
type Expect = 'ok' | 'UNAUTHENTICATED' | 'FORBIDDEN';

const ANY_KEY: Record<Caller, Expect> = { none: 'UNAUTHENTICATED', forged: 'UNAUTHENTICATED', revoked: 'UNAUTHENTICATED', publishable: 'ok', secret: 'ok', bearer: 'FORBIDDEN' };
const SECRET_ONLY: Record<Caller, Expect> = { ...ANY_KEY, publishable: 'FORBIDDEN' };
const BEARER_ONLY: Record<Caller, Expect> = { ...ANY_KEY, publishable: 'FORBIDDEN', secret: 'FORBIDDEN', bearer: 'ok' };

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
];

let gw: TestGateway;
let app: TestApp;
const headers: Record<Caller, Record<string, string>> = {} as never;

beforeAll(async () => {
  gw = await startGateway();
  app = await gw.createApp('Permissions');
  const doomed = await gw.createApp('Doomed');
  await gw.gateway.services.apps.revokeKey(gw.gateway.orm.em.fork(), doomed.secretKeyId);
  Object.assign(headers, {
    none: {},
    forged: { 'x-api-key': 'sk_' + 'A'.repeat(32) },
    revoked: { 'x-api-key': doomed.secretKey },
    publishable: { 'x-api-key': app.publishableKey },
    secret: { 'x-api-key': app.secretKey },
  });
});

let bearerCount = 0;
/** A fresh signed-in user per test, so logout in one row cannot affect another. */
async function bearerHeaders(): Promise<Record<string, string>> {
  const register = gql`mutation($e: String!) { register(input: { email: $e, password: "permission test pw" }) { auth { accessToken } } }`;
  const result = await run(apolloClient(gw.url, headers.publishable), register, { e: `bearer${++bearerCount}@example.com` });
  return { authorization: `Bearer ${result.data!.register.auth.accessToken}` };
}
afterAll(() => gw.close());

describe('the shield (SPEC §1)', () => {
  for (const row of ROWS) {
    for (const caller of Object.keys(row.expect) as Caller[]) {
      const expected = row.expect[caller];
      it(`${row.operation} with ${caller} → ${expected}`, async () => {
        const callerHeaders = caller === 'bearer' ? await bearerHeaders() : headers[caller];
        const result = await run(apolloClient(gw.url, callerHeaders), row.document, row.variables);
        if (expected === 'ok') {
          expect(['UNAUTHENTICATED', 'FORBIDDEN']).not.toContain(result.code);
        } else {
          expect(result.code).toBe(expected);
          expect(JSON.stringify(result.errors)).not.toMatch(/stack|\.ts:|node_modules/);
        }
      });
    }
  }

  it('answers a key that is not a key at all with UNAUTHENTICATED', async () => {
    for (const key of ['', 'garbage', 'pk_', app.publishableKey + 'x', app.secretKey.replace('sk_', 'pk_')]) {
      const result = await run(apolloClient(gw.url, { 'x-api-key': key }), ROWS[0].document);
      expect(result.code, key).toBe('UNAUTHENTICATED');
    }
  });

  it('stops a key the moment it is revoked, while another key of the app keeps working', async () => {
    const second = await gw.gateway.services.apps.createKey(gw.gateway.orm.em.fork(), app.appId, 'secret');
    const client = apolloClient(gw.url, { 'x-api-key': second.key });
    expect((await run(client, ROWS[2].document)).errors).toEqual([]);
    await gw.gateway.services.apps.revokeKey(gw.gateway.orm.em.fork(), second.id);
    expect((await run(client, ROWS[2].document)).code).toBe('UNAUTHENTICATED');
    expect((await run(apolloClient(gw.url, headers.secret), ROWS[2].document)).errors).toEqual([]);
  });

  it('denies profile fields to a publishable key even through a nested path', async () => {
    // No operation open to a publishable key returns another person's User; this guards the type itself.
    const result = await run(apolloClient(gw.url, headers.publishable), gql`query { user(email: "a@example.com") { email } }`);
    expect(result.code).toBe('FORBIDDEN');
  });
});
