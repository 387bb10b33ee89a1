import { gql } from '@apollo/client/core';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouse } from './helpers/cli';
import { apolloClient, run, type Client } from './helpers/client';
import { startSmtpPeer, type SmtpPeer } from './helpers/delivery-peers';
import { CHECK_EMAIL } from './helpers/documents';
import { startFacebookStub, type FacebookStub } from './helpers/facebook-stub';
import { startGateway, TEST_DATABASE_URL, type TestApp, type TestGateway } from './helpers/gateway';
import { startOidcProvider, type TestOidcProvider } from './helpers/oidc-provider';
import { SECURITY_EVENTS } from './helpers/lifecycle-documents';
import { REQUEST_OTP, VALIDATE_OTP } from './helpers/otp-documents';
import { CHANGE_PASSWORD, LOGIN, REGISTER } from './helpers/session-documents';
import {
  LINK_IDENTITY,
  ME_IDENTITIES,
  SIGN_IN_WITH_ACCESS_TOKEN,
  SIGN_IN_WITH_ID_TOKEN,
  SOCIAL_NONCE,
  UNLINK_IDENTITY,
  USER_IDENTITIES,
} from './helpers/social-documents';
import { startTokenIssuer, type TokenIssuer } from './helpers/token-issuer';

/**
 * Social sign-in (SPEC §4.9, issue 16) against a real OpenID Provider on loopback (panva's
 * oidc-provider: real ID tokens from its implicit flow for a native client), a test issuer
 * that mints the tokens no real provider hands out on demand (expired, Microsoft-shaped,
 * rotated keys) under a JWKS it serves over HTTP, and a Graph API stub for Facebook.
 * Runs on SQLite and, in the PostgreSQL pass, on PostgreSQL + Redis.
 */

const PASSWORD = 'correct horse battery';
let gw: TestGateway;
let smtp: SmtpPeer;
let op: TestOidcProvider;
let minted: TokenIssuer;
let microsoft: TokenIssuer;
let fb: FacebookStub;
let shop: TestApp;
let other: TestApp;
let frontend: Client;
let partner: Client;
let seq = 0;
const tag = () => `${++seq}${Date.now().toString(36)}`;
const bearer = (token: string) => apolloClient(gw.url, { authorization: `Bearer ${token}` });

beforeAll(async () => {
  smtp = await startSmtpPeer();
  gw = await startGateway({ smtpUrl: smtp.url });
  [op, minted, microsoft] = await Promise.all([startOidcProvider({ webRedirectUris: [`${gw.url}/oauth/callback/test`] }), startTokenIssuer(), startTokenIssuer()]);
  fb = await startFacebookStub({ appId: 'fb-app-1', appSecret: 'fb-app-secret-1' });
  shop = await gw.createApp('Shop', {
    signUpMethods: ['EMAIL_PASSWORD'],
    socialProviders: [
      // Discovery finds the real provider's JWKS; the native client's id is the audience.
      { id: 'test', kind: 'OIDC', issuer: op.issuer, clientIds: [op.nativeClientId] },
      { id: 'minted', kind: 'OIDC', issuer: minted.issuer, jwksUri: minted.jwksUri, clientIds: ['shop-ios', 'shop-android'] },
      { id: 'noemail', kind: 'OIDC', issuer: `${minted.issuer}/untrusted`, jwksUri: minted.jwksUri, clientIds: ['shop-ios'], trustEmail: false },
      { id: 'microsoft', kind: 'OIDC', issuer: microsoft.issuer, jwksUri: microsoft.jwksUri, clientIds: ['shop-entra'], emailVerifiedClaim: 'xms_edov' },
      { id: 'facebook', kind: 'FACEBOOK', clientIds: ['fb-app-1'], clientSecret: 'fb-app-secret-1', graphApiUrl: fb.url },
    ],
  });
  // Another brand whose client at the same provider is `other-app`.
  other = await gw.createApp('Other', { socialProviders: [{ id: 'test', kind: 'OIDC', issuer: op.issuer, clientIds: ['other-app'] }] });
  frontend = apolloClient(gw.url, { 'x-api-key': shop.publishableKey });
  partner = apolloClient(gw.url, { 'x-api-key': shop.secretKey });
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([op?.close(), minted?.close(), microsoft?.close(), fb?.close(), smtp?.close()]);
});

async function nonce(provider: string, client = frontend): Promise<string> {
  const result = await run(client, SOCIAL_NONCE, { provider });
  expect(result.errors).toEqual([]);
  return result.data!.socialNonce.nonce;
}

/** A real ID token from the test provider for `account`, carrying a fresh nonce of ours. */
async function realToken(account: string, claims: Parameters<TestOidcProvider['accounts']['set']>[1]) {
  op.accounts.set(account, claims);
  const n = await nonce('test');
  return { idToken: await op.idToken(account, { nonce: n }), nonce: n };
}

async function mintedToken(claims: Record<string, unknown>, options: Parameters<TokenIssuer['mint']>[1] = {}, issuer = minted, provider = 'minted', aud = 'shop-ios') {
  const n = await nonce(provider);
  return { idToken: await issuer.mint({ aud, nonce: n, ...claims }, options), nonce: n };
}

async function identitiesByEmail(email: string) {
  const result = await run(partner, USER_IDENTITIES, { email });
  expect(result.errors).toEqual([]);
  return result.data!.user;
}

/** A customer who registered with a password and proved the email with a code. */
async function verifiedCustomer(email: string) {
  const registered = await run(frontend, REGISTER, { input: { email, password: PASSWORD, firstName: 'Vera' } });
  expect(registered.errors).toEqual([]);
  expect((await run(frontend, REQUEST_OTP, { input: { email, purpose: 'VERIFY' } })).errors).toEqual([]);
  await gw.delivered(); // the courier sends after the commit, not inside the request
  const validated = await run(frontend, VALIDATE_OTP, { input: { email, code: smtp.codeFor(email) } });
  expect(validated.data!.validateOtp.user.emailVerified).toBe(true);
  return registered.data!.register.user as { id: string };
}

describe('sign-up and sign-in with a real provider ID token (native app)', () => {
  it('signs up with the ID token, comes back to the same account; checkEmail says isSocial; a partner sees the identity', async () => {
    const email = `alice${tag()}@example.com`;
    const account = `alice-${tag()}`;
    const first = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'test', ...(await realToken(account, { email, email_verified: true, given_name: 'Alice', family_name: 'Liddell' })) } });
    expect(first.errors).toEqual([]);
    const user = first.data!.signInWithIdToken.user;
    expect(user).toMatchObject({ email, emailVerified: true, firstName: 'Alice', lastName: 'Liddell', isSocial: true, hasPassword: false });
    expect(user.identities).toEqual([expect.objectContaining({ provider: 'test', subject: account, email, emailVerified: true })]);

    // The access token works as any other.
    const me = await run(bearer(first.data!.signInWithIdToken.accessToken), ME_IDENTITIES);
    expect(me.data!.me).toMatchObject({ id: user.id, isSocial: true, identities: [{ provider: 'test', subject: account }] });

    const again = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'test', ...(await realToken(account, { email, email_verified: true })) } });
    expect(again.errors).toEqual([]);
    expect(again.data!.signInWithIdToken.user.id).toBe(user.id);

    expect((await run(frontend, CHECK_EMAIL, { email })).data!.checkEmail).toEqual({ exists: true, isSocial: true });
    const seen = await identitiesByEmail(email);
    expect(seen).toMatchObject({ id: user.id, isSocial: true, identities: [{ provider: 'test', subject: account, email, emailVerified: true }] });
    expect(new Date(seen.identities[0].linkedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('links an existing customer whose email is verified: same account, the password still works', async () => {
    const email = `vera${tag()}@example.com`;
    const customer = await verifiedCustomer(email);
    const account = `vera-${tag()}`;
    const signedIn = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'test', ...(await realToken(account, { email: email.toUpperCase(), email_verified: true })) } });
    expect(signedIn.errors).toEqual([]);
    expect(signedIn.data!.signInWithIdToken.user).toMatchObject({ id: customer.id, isSocial: false, hasPassword: true });
    expect((await identitiesByEmail(email)).identities).toEqual([expect.objectContaining({ provider: 'test', subject: account })]);
    expect((await run(frontend, LOGIN, { input: { email, password: PASSWORD } })).data!.login.user.id).toBe(customer.id);
    expect((await run(frontend, CHECK_EMAIL, { email })).data!.checkEmail).toEqual({ exists: true, isSocial: false });
  });

  it('uses the name the app passes (Apple sends it once, outside the token) for a new account only', async () => {
    const email = `apple${tag()}@example.com`;
    const claims = { sub: `apple-${tag()}`, email, email_verified: 'true' };
    const created = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', firstName: 'Grace', lastName: 'Hopper', locale: 'en-US', ...(await mintedToken(claims)) } });
    expect(created.errors).toEqual([]);
    expect(created.data!.signInWithIdToken.user).toMatchObject({ firstName: 'Grace', lastName: 'Hopper', emailVerified: true, isSocial: true });
    const later = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', firstName: 'Someone', lastName: 'Else', ...(await mintedToken(claims)) } });
    expect(later.data!.signInWithIdToken.user).toMatchObject({ id: created.data!.signInWithIdToken.user.id, firstName: 'Grace', lastName: 'Hopper' });
  });

  it('accepts the nonce as its SHA-256 in the token (Apple’s SDK) and any of the provider’s client ids', async () => {
    const n = await nonce('minted');
    const idToken = await minted.mint({ sub: `hashed-${tag()}`, aud: 'shop-android', nonce: createHash('sha256').update(n).digest('hex') });
    expect((await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', idToken, nonce: n } })).errors).toEqual([]);
  });
});

describe('account takeover cases: refused with the right code, nothing linked', () => {
  it('an unverified local account with the victim’s email: LINK_REQUIRED; its password never reaches the victim', async () => {
    const email = `victim${tag()}@example.com`;
    // The attacker registers first with the victim's address and a password of their own.
    const squatter = await run(frontend, REGISTER, { input: { email, password: 'attacker password 1' } });
    expect(squatter.data!.register.user.emailVerified).toBe(false);
    const account = `victim-${tag()}`;
    const refused = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'test', ...(await realToken(account, { email, email_verified: true })) } });
    expect(refused.code).toBe('LINK_REQUIRED');
    expect(refused.data).toBeNull();
    expect((await identitiesByEmail(email)).identities).toEqual([]);

    // The way back for the victim: prove the address by a password reset (which replaces the
    // attacker's password and ends every session), sign in, then link.
    const reset = await run(partner, gql`mutation($email: String!) { requestPasswordReset(input: { email: $email, sendEmail: false }) { verificationString } }`, { email });
    const token = reset.data!.requestPasswordReset.verificationString;
    expect((await run(frontend, gql`mutation($token: String!) { resetPassword(input: { token: $token, password: "victim's own password" }) }`, { token })).errors).toEqual([]);
    expect((await run(frontend, LOGIN, { input: { email, password: 'attacker password 1' } })).code).toBe('INVALID_CREDENTIALS');
    const login = await run(frontend, LOGIN, { input: { email, password: "victim's own password" } });
    const linked = await run(bearer(login.data!.login.accessToken), LINK_IDENTITY, { input: { provider: 'test', ...(await realToken(account, { email, email_verified: true })) } });
    expect(linked.errors).toEqual([]);
    // The provider vouched for the address the account holds: it is verified now.
    expect(linked.data!.linkIdentity).toMatchObject({ emailVerified: true, identities: [{ provider: 'test', subject: account }] });
    const back = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'test', ...(await realToken(account, { email, email_verified: true })) } });
    expect(back.data!.signInWithIdToken.user.id).toBe(squatter.data!.register.user.id);
  });

  it('a provider that does not vouch for the email: never linked to the verified account that has it, and no account made with it', async () => {
    const email = `owner${tag()}@example.com`;
    await verifiedCustomer(email);
    const unverified = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'test', ...(await realToken(`intruder-${tag()}`, { email, email_verified: false })) } });
    expect(unverified.code).toBe('LINK_REQUIRED');
    // A provider the app does not trust on email (trustEmail: false) even when it says "verified".
    const untrusted = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'noemail', ...(await mintedToken({ sub: `u-${tag()}`, email, email_verified: true, iss: `${minted.issuer}/untrusted` }, {}, minted, 'noemail')) } });
    expect(untrusted.code).toBe('LINK_REQUIRED');
    expect((await identitiesByEmail(email)).identities).toEqual([]);

    // With no account of that email, the sign-up is made without it: an address nobody vouched
    // for neither takes the email from its owner nor lets a later "reset" hand its owner an
    // account the provider user can still enter. It is kept on the identity only.
    const fresh = `nobody${tag()}@example.com`;
    const created = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'test', ...(await realToken(`anon-${tag()}`, { email: fresh, email_verified: false })) } });
    expect(created.errors).toEqual([]);
    expect(created.data!.signInWithIdToken.user).toMatchObject({ email: null, emailVerified: false, isSocial: true });
    expect(created.data!.signInWithIdToken.user.identities[0]).toMatchObject({ email: fresh, emailVerified: false });
    expect((await run(frontend, CHECK_EMAIL, { email: fresh })).data!.checkEmail.exists).toBe(false);
  });

  it('a Microsoft-style provider: its email is trusted only with xms_edov, and the account is keyed on iss + sub', async () => {
    const email = `ceo${tag()}@example.com`;
    const customer = await verifiedCustomer(email);
    // Anyone can put any address in an Entra tenant's `email`: email_verified means nothing there.
    const forged = await run(frontend, SIGN_IN_WITH_ID_TOKEN, {
      input: { provider: 'microsoft', ...(await mintedToken({ sub: `ms-attacker-${tag()}`, email, email_verified: true }, {}, microsoft, 'microsoft', 'shop-entra')) },
    });
    expect(forged.code).toBe('LINK_REQUIRED');
    expect((await identitiesByEmail(email)).identities).toEqual([]);
    // The same address with the domain-owner-verified claim links.
    const subject = `ms-ceo-${tag()}`;
    const owner = await run(frontend, SIGN_IN_WITH_ID_TOKEN, {
      input: { provider: 'microsoft', ...(await mintedToken({ sub: subject, email, xms_edov: true }, {}, microsoft, 'microsoft', 'shop-entra')) },
    });
    expect(owner.data!.signInWithIdToken.user.id).toBe(customer.id);
    // Later the address in the claim changes (mutable): still the account of iss + sub.
    const renamed = await run(frontend, SIGN_IN_WITH_ID_TOKEN, {
      input: { provider: 'microsoft', ...(await mintedToken({ sub: subject, email: `renamed${tag()}@example.com` }, {}, microsoft, 'microsoft', 'shop-entra')) },
    });
    expect(renamed.data!.signInWithIdToken.user.id).toBe(customer.id);
  });

  it('a token minted for another app’s client id (audience confusion): INVALID_ID_TOKEN naming aud', async () => {
    const email = `confused${tag()}@example.com`;
    op.accounts.set('confused', { email, email_verified: true });
    const n = await nonce('test');
    const forOther = await op.idToken('confused', { nonce: n, clientId: 'other-app' });
    const refused = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'test', idToken: forOther, nonce: n } });
    expect(refused.code).toBe('INVALID_ID_TOKEN');
    expect(refused.errors[0].message).toMatch(/aud/);
    // The other app accepts it (its client id), and Shop has no such account.
    const otherNonce = await nonce('test', apolloClient(gw.url, { 'x-api-key': other.publishableKey }));
    const theirs = await op.idToken('confused', { nonce: otherNonce, clientId: 'other-app' });
    const accepted = await run(apolloClient(gw.url, { 'x-api-key': other.publishableKey }), SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'test', idToken: theirs, nonce: otherNonce } });
    expect(accepted.errors).toEqual([]);
    expect((await run(frontend, CHECK_EMAIL, { email })).data!.checkEmail.exists).toBe(false);
  });

  it('a missing, wrong or replayed nonce, and a replayed token: INVALID_ID_TOKEN saying which', async () => {
    const account = `nonce-${tag()}`;
    op.accounts.set(account, { email: `n${tag()}@example.com`, email_verified: true });
    const n = await nonce('test');
    const token = await op.idToken(account, { nonce: n });
    const attempt = (input: Record<string, unknown>) => run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'test', ...input } });

    const missing = await attempt({ idToken: token });
    expect([missing.code, missing.errors[0].message]).toEqual(['INVALID_ID_TOKEN', expect.stringMatching(/requires the nonce/)]);
    // (The provider refuses an implicit request without a nonce, so this token is minted.)
    const noClaim = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', idToken: await minted.mint({ sub: account, aud: 'shop-ios' }), nonce: await nonce('minted') } });
    expect(noClaim.errors[0].message).toMatch(/carries no nonce/);
    const wrong = await attempt({ idToken: token, nonce: await nonce('test') });
    expect(wrong.errors[0].message).toMatch(/nonce does not match/);
    const forged = await attempt({ idToken: await op.idToken(account, { nonce: 'made-up-by-the-client' }), nonce: 'made-up-by-the-client' });
    expect(forged.errors[0].message).toMatch(/nonce is unknown, expired or already used/);

    expect((await attempt({ idToken: token, nonce: n })).errors).toEqual([]);
    const replayed = await attempt({ idToken: token, nonce: n });
    expect([replayed.code, replayed.errors[0].message]).toEqual(['INVALID_ID_TOKEN', expect.stringMatching(/already used/)]);
    // Another account's token carrying the same (spent) nonce.
    op.accounts.set(`${account}-2`, { email: `n2${tag()}@example.com`, email_verified: true });
    const sameNonce = await attempt({ idToken: await op.idToken(`${account}-2`, { nonce: n }), nonce: n });
    expect(sameNonce.errors[0].message).toMatch(/nonce is unknown, expired or already used/);
    // A nonce expires after 10 minutes.
    const late = await nonce('test');
    const lateToken = await op.idToken(account, { nonce: late });
    gw.clock.advance(11 * 60_000);
    try {
      expect((await attempt({ idToken: lateToken, nonce: late })).errors[0].message).toMatch(/nonce is unknown, expired/);
    } finally {
      gw.clock.advance(-11 * 60_000);
    }
  });

  it('an expired token: INVALID_ID_TOKEN (exp), with 60 s of skew allowed', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...(await mintedToken({ sub: `old-${tag()}` }, { issuedAt: now - 700, expiresIn: 600 })) } });
    expect([expired.code, expired.errors[0].message]).toEqual(['INVALID_ID_TOKEN', expect.stringMatching(/expired \(exp\)/)]);
    const skewed = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...(await mintedToken({ sub: `skew-${tag()}` }, { issuedAt: now - 630, expiresIn: 600 })) } });
    expect(skewed.errors).toEqual([]);
    const stale = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...(await mintedToken({ sub: `stale-${tag()}` }, { issuedAt: now - 7200, expiresIn: 86_400 })) } });
    expect(stale.errors[0].message).toMatch(/issued too long ago/);
  });

  it('refuses another issuer, a bad signature, an unpublished key and symmetric or no algorithms', async () => {
    const attempt = async (make: (n: string) => Promise<string> | string) => {
      const n = await nonce('minted');
      return run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', idToken: await make(n), nonce: n } });
    };
    expect((await attempt((n) => microsoft.mint({ sub: 'x', aud: 'shop-ios', nonce: n }))).errors[0].message).toMatch(/does not publish/);
    expect((await attempt((n) => minted.mint({ sub: 'x', aud: 'shop-ios', nonce: n, iss: 'https://accounts.example.com' }))).errors[0].message).toMatch(/another issuer/);
    expect((await attempt((n) => minted.mint({ sub: 'x', aud: 'shop-ios', nonce: n }, { key: 'unpublished' }))).errors[0].message).toMatch(/does not publish/);
    expect((await attempt((n) => minted.mint({ sub: 'x', aud: 'shop-ios', nonce: n }, { alg: 'HS256' }))).errors[0].message).toMatch(/algorithm/);
    const tampered = await attempt(async (n) => {
      const [h, p, s] = (await minted.mint({ sub: 'x', aud: 'shop-ios', nonce: n })).split('.');
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      return [h, Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url'), s].join('.');
    });
    expect(tampered.errors[0].message).toMatch(/signature/);
    const none = await attempt((n) => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: minted.issuer, sub: 'x', aud: 'shop-ios', nonce: n })).toString('base64url')}.`);
    expect(none.code).toBe('INVALID_ID_TOKEN');
  });

  it('follows a JWKS rotation at the provider: a new kid is fetched (at most every few seconds) and accepted', async () => {
    const sub = `rotating-${tag()}`;
    expect((await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...(await mintedToken({ sub })) } })).errors).toEqual([]);
    const fetches = minted.jwksFetches;
    await minted.rotate();
    gw.clock.advance(6_000);
    try {
      const after = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...(await mintedToken({ sub })) } });
      expect(after.errors).toEqual([]);
      expect(minted.jwksFetches).toBe(fetches + 1);
      // A burst of unknown kids right after costs no more fetches (the cooldown).
      await minted.rotate();
      const burst = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...(await mintedToken({ sub })) } });
      expect(burst.errors[0].message).toMatch(/does not publish/);
      expect(minted.jwksFetches).toBe(fetches + 1);
      gw.clock.advance(6_000);
      expect((await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...(await mintedToken({ sub })) } })).errors).toEqual([]);
    } finally {
      gw.clock.advance(-12_000);
    }
  });
});

describe('Facebook classic access tokens (debug_token, then /me with appsecret_proof)', () => {
  it('signs up and in; an email Facebook gives is kept on the identity, not trusted for the account', async () => {
    const email = `fb${tag()}@example.com`;
    fb.tokens.set('EAAB-good', { userId: '10001', appId: 'fb-app-1', email, firstName: 'Mark', lastName: 'Z' });
    const created = await run(frontend, SIGN_IN_WITH_ACCESS_TOKEN, { input: { provider: 'facebook', accessToken: 'EAAB-good' } });
    expect(created.errors).toEqual([]);
    expect(created.data!.signInWithAccessToken.user).toMatchObject({ email: null, firstName: 'Mark', isSocial: true, identities: [{ provider: 'facebook', subject: '10001', email }] });
    expect(fb.calls.slice(-2)).toEqual([{ path: '/debug_token', appTokenOk: true }, { path: '/me', proofOk: true }]);
    // A token signs in once.
    expect((await run(frontend, SIGN_IN_WITH_ACCESS_TOKEN, { input: { provider: 'facebook', accessToken: 'EAAB-good' } })).errors[0].message).toMatch(/already used/);
    fb.tokens.set('EAAB-next', { userId: '10001', appId: 'fb-app-1', email });
    const again = await run(frontend, SIGN_IN_WITH_ACCESS_TOKEN, { input: { provider: 'facebook', accessToken: 'EAAB-next' } });
    expect(again.data!.signInWithAccessToken.user.id).toBe(created.data!.signInWithAccessToken.user.id);
  });

  it('refuses a token of another Facebook app, an invalid one and an unknown one', async () => {
    fb.tokens.set('EAAB-other-app', { userId: '10002', appId: 'fb-app-of-someone-else' });
    fb.tokens.set('EAAB-invalid', { userId: '10003', appId: 'fb-app-1', isValid: false });
    const cases: [string, RegExp][] = [['EAAB-other-app', /another app/], ['EAAB-invalid', /not valid/], ['EAAB-unknown', /not valid/]];
    for (const [accessToken, message] of cases) {
      const refused = await run(frontend, SIGN_IN_WITH_ACCESS_TOKEN, { input: { provider: 'facebook', accessToken } });
      expect([refused.code, refused.errors[0].message], accessToken).toEqual(['INVALID_ID_TOKEN', expect.stringMatching(message)]);
    }
    expect((await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'facebook', idToken: 'x' } })).code).toBe('BAD_USER_INPUT');
  });
});

describe('linkIdentity and unlinkIdentity', () => {
  it('links a provider to a password account and unlinks it; the last way to sign in answers LAST_CREDENTIAL', async () => {
    const email = `linker${tag()}@example.com`;
    const registered = await run(frontend, REGISTER, { input: { email, password: PASSWORD } });
    const client = bearer(registered.data!.register.auth.accessToken);
    const sub = `link-${tag()}`;
    const linked = await run(client, LINK_IDENTITY, { input: { provider: 'minted', ...(await mintedToken({ sub, email: `other${tag()}@example.com` })) } });
    expect(linked.data!.linkIdentity.identities).toEqual([expect.objectContaining({ provider: 'minted', subject: sub })]);
    // Linked: the provider signs in to this account.
    expect((await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...(await mintedToken({ sub })) } })).data!.signInWithIdToken.user.id).toBe(registered.data!.register.user.id);
    // Another account cannot take it.
    const someone = await run(frontend, REGISTER, { input: { email: `someone${tag()}@example.com`, password: PASSWORD } });
    const taken = await run(bearer(someone.data!.register.auth.accessToken), LINK_IDENTITY, { input: { provider: 'minted', ...(await mintedToken({ sub })) } });
    expect(taken.code).toBe('IDENTITY_TAKEN');
    expect((await run(client, UNLINK_IDENTITY, { provider: 'minted' })).data!.unlinkIdentity).toBe(true);
    expect((await run(client, ME_IDENTITIES)).data!.me.identities).toEqual([]);
    expect((await run(client, UNLINK_IDENTITY, { provider: 'minted' })).code).toBe('BAD_USER_INPUT');
    // SPEC §4.10: one identity.linked and one identity.unlinked; the refused link of the other account records nothing.
    const events = await run(partner, SECURITY_EVENTS, { filter: { userId: registered.data!.register.user.id } });
    const types = events.data!.securityEvents.edges.map((e: { node: { type: string; detail: Record<string, unknown> } }) => [e.node.type, e.node.detail.provider ?? null]);
    expect(types.filter(([type]: [string]) => type.startsWith('identity.'))).toEqual([
      ['identity.linked', 'minted'],
      ['identity.unlinked', 'minted'],
    ]);
    const theirs = await run(partner, SECURITY_EVENTS, { filter: { userId: someone.data!.register.user.id, type: 'identity.linked' } });
    expect(theirs.data!.securityEvents.totalCount).toBe(0);
  });

  it('refuses to unlink the only credential of a social account until it has a password', async () => {
    const sub = `only-${tag()}`;
    const signedIn = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...(await mintedToken({ sub, email: `only${tag()}@example.com`, email_verified: true })) } });
    const client = bearer(signedIn.data!.signInWithIdToken.accessToken);
    const refused = await run(client, UNLINK_IDENTITY, { provider: 'minted' });
    expect(refused.code).toBe('LAST_CREDENTIAL');
    const signedUp = await run(partner, SECURITY_EVENTS, { filter: { userId: signedIn.data!.signInWithIdToken.user.id, type: 'user.signed_up' } });
    expect(signedUp.data!.securityEvents.edges.map((e: { node: { detail: unknown } }) => e.node.detail)).toEqual([{ method: 'social', provider: 'minted' }]);
    expect((await run(client, ME_IDENTITIES)).data!.me.identities).toHaveLength(1);
    expect((await run(client, CHANGE_PASSWORD, { newPassword: 'a password of my own' })).errors).toEqual([]);
    expect((await run(client, UNLINK_IDENTITY, { provider: 'minted' })).data!.unlinkIdentity).toBe(true);
  });

  it('refuses link and unlink with a key (bearer only) and sign-in with a bearer (keys only)', async () => {
    expect((await run(frontend, UNLINK_IDENTITY, { provider: 'minted' })).code).toBe('FORBIDDEN');
    const signedIn = await run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...(await mintedToken({ sub: `b-${tag()}` })) } });
    expect((await run(bearer(signedIn.data!.signInWithIdToken.accessToken), SOCIAL_NONCE, { provider: 'minted' })).code).toBe('FORBIDDEN');
  });
});

describe('provider settings', () => {
  it('answers METHOD_DISABLED for a provider the app does not have, or one that may not sign up', async () => {
    expect((await run(frontend, SOCIAL_NONCE, { provider: 'google' })).code).toBe('METHOD_DISABLED');
    const closed = await gw.createApp('Closed', { socialProviders: [{ id: 'minted', kind: 'OIDC', issuer: minted.issuer, jwksUri: minted.jwksUri, clientIds: ['shop-ios'], allowSignUp: false }] });
    const client = apolloClient(gw.url, { 'x-api-key': closed.publishableKey });
    const n = await nonce('minted', client);
    const refused = await run(client, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', idToken: await minted.mint({ sub: `c-${tag()}`, aud: 'shop-ios', nonce: n }), nonce: n } });
    expect(refused.code).toBe('METHOD_DISABLED');
  });

  it('validates providers by name, stores the client secret sealed, and never shows it', async () => {
    const services = gw.gateway.services;
    const em = gw.gateway.orm.em.fork();
    await expect(services.apps.updateSettings(em, shop.appId, { socialProviders: [{ id: 'g', kind: 'OIDC', issuer: 'https://accounts.google.com', clientIds: ['x'], clientSecrt: 'typo' }] })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      extensions: { field: 'settings.socialProviders.0.clientSecrt' },
    });
    await expect(services.apps.updateSettings(em, shop.appId, { socialProviders: [{ id: 'g', kind: 'OIDC', issuer: 'http://accounts.example.com', clientIds: ['x'] }] })).rejects.toMatchObject({
      extensions: { field: 'settings.socialProviders.0.issuer' },
    });
    const app = await gw.createApp('Sealed', { socialProviders: [{ id: 'google', kind: 'OIDC', issuer: 'https://accounts.google.com', clientIds: ['web.apps.googleusercontent.com'], clientSecret: 'GOCSPX-very-secret', redirectUris: ['https://shop.example/after'] }] });
    const row = await em.getConnection().execute<{ settings: unknown }[]>('select settings from app where id = ?', [app.appId]);
    const stored = typeof row[0].settings === 'string' ? row[0].settings : JSON.stringify(row[0].settings);
    expect(stored).not.toContain('GOCSPX-very-secret');
    expect(stored).toMatch(/"clientSecret":"sealed:v1:/);
    const provider = services.apps.settingsOf(await services.apps.requireApp(em, app.appId)).socialProviders[0];
    expect(provider).toMatchObject({ requireNonce: true, trustEmail: true, allowSignUp: true, emailVerifiedClaim: 'email_verified', scopes: ['openid', 'email', 'profile'] });
    // Changing other fields keeps the stored secret (it is never shown, so nobody could send it back).
    const updated = await gatehouse(gw.gateway.config.databaseUrl, 'app', 'update', app.appId, '--settings', JSON.stringify({ socialProviders: [{ id: 'google', kind: 'OIDC', issuer: 'https://accounts.google.com', clientIds: ['web.apps.googleusercontent.com', 'ios.apps.googleusercontent.com'] }] }));
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).not.toMatch(/GOCSPX|sealed:v1/);
    expect(JSON.parse(updated.stdout).socialProviders[0].clientSecret).toBe('[set]');
    const again = services.apps.settingsOf(await em.fork().findOneOrFail('App', { id: app.appId }));
    expect(again.socialProviders[0].clientSecret).toMatch(/^sealed:v1:/);
    expect(await services.social['secretBox'].open(em, again.socialProviders[0].clientSecret!)).toBe('GOCSPX-very-secret');
    // Microsoft's issuer gets xms_edov as its email-verified claim by default.
    const ms = await gw.createApp('Entra', { socialProviders: [{ id: 'microsoft', kind: 'OIDC', issuer: 'https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0', clientIds: ['x'] }] });
    expect(services.apps.settingsOf(await services.apps.requireApp(em, ms.appId)).socialProviders[0].emailVerifiedClaim).toBe('xms_edov');
  });
});

describe(`storage (${TEST_DATABASE_URL ? 'PostgreSQL' : 'SQLite'})`, () => {
  it('keeps one account per provider account when two first sign-ins race', async () => {
    const sub = `race-${tag()}`;
    const email = `race${tag()}@example.com`;
    const tokens = await Promise.all([0, 1, 2, 3].map(() => mintedToken({ sub, email, email_verified: true, jti: `j-${tag()}` })));
    const results = await Promise.all(tokens.map((t) => run(frontend, SIGN_IN_WITH_ID_TOKEN, { input: { provider: 'minted', ...t } })));
    const ids = new Set(results.map((r) => r.data?.signInWithIdToken.user.id));
    expect(results.map((r) => r.errors)).toEqual([[], [], [], []]);
    expect(ids.size).toBe(1);
    expect((await identitiesByEmail(email)).identities).toHaveLength(1);
  });
});
