import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloClient, run } from './helpers/client';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';
import { LOGIN, LOGOUT, ME, REFRESH, REGISTER } from './helpers/session-documents';

/**
 * SPEC §4.11: the OAuth 2.0 endpoints, driven by the clients partners use — openid-client 6
 * (discovery, password and refresh grants, userinfo, revocation, introspection) and jose
 * (tokens verified from the JWKS) — and by raw HTTP, as curl would send it.
 */

let gw: TestGateway;
let app: TestApp;
let other: TestApp;
const PASSWORD = 'correct horse battery';
let seq = 0;
const email = () => `oauth${++seq}-${Date.now()}@example.com`;
// The tests talk to a loopback http:// issuer; openid-client wants https unless told otherwise.
const insecure = { execute: [oidc.allowInsecureRequests] };

beforeAll(async () => {
  gw = await startGateway();
  app = await gw.createApp('OAuth brand');
  other = await gw.createApp('Other brand');
});
afterAll(() => gw.close());

async function signUp(tenant = app, address = email()) {
  const result = await run(apolloClient(gw.url, { 'x-api-key': tenant.publishableKey }), REGISTER, {
    input: { email: address, password: PASSWORD, firstName: 'Ada', lastName: 'Lovelace' },
  });
  expect(result.errors).toEqual([]);
  return { email: address, id: result.data!.register.user.id as string, auth: result.data!.register.auth };
}

/** A partner server: client_id = app id, client_secret = a secret key. */
const confidential = (tenant = app, method: 'basic' | 'post' = 'basic') =>
  oidc.discovery(new URL(gw.url), tenant.appId, undefined, method === 'basic' ? oidc.ClientSecretBasic(tenant.secretKey) : oidc.ClientSecretPost(tenant.secretKey), insecure);
/** A public client (SPA, mobile): client_id only. */
const publicClient = (tenant = app) => oidc.discovery(new URL(gw.url), tenant.appId, undefined, oidc.None(), insecure);

/** What curl sends: a form body, optionally with Basic client credentials. */
async function post(path: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : null };
}
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` });

/** openid-client's error for an OAuth error body (or a WWW-Authenticate challenge). */
async function oauthError(promise: Promise<unknown>): Promise<{ error: string; status: number; code?: string }> {
  try {
    await promise;
  } catch (thrown) {
    if (thrown instanceof oidc.ResponseBodyError) return { error: thrown.error, status: thrown.status, code: (thrown.cause as { code?: string }).code };
    if (thrown instanceof oidc.WWWAuthenticateChallengeError) {
      const challenge = thrown.cause[0];
      return { error: String(challenge.parameters.error ?? challenge.scheme), status: thrown.response.status };
    }
    throw thrown;
  }
  throw new Error('expected an OAuth error');
}

describe('discovery (RFC 8414, OpenID Connect Discovery)', () => {
  it('lists every endpoint that exists and only those, the same in both documents', async () => {
    const [oidcDoc, oauthDoc] = await Promise.all(
      ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'].map(async (path) => (await fetch(`${gw.url}${path}`)).json() as Promise<Record<string, any>>),
    );
    expect(oauthDoc).toEqual(oidcDoc);
    expect(oidcDoc).toMatchObject({
      issuer: gw.url,
      token_endpoint: `${gw.url}/oauth/token`,
      userinfo_endpoint: `${gw.url}/oauth/userinfo`,
      revocation_endpoint: `${gw.url}/oauth/revoke`,
      introspection_endpoint: `${gw.url}/oauth/introspect`,
      jwks_uri: `${gw.url}/.well-known/jwks.json`,
      grant_types_supported: ['password', 'refresh_token'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    });
    // no redirect flows, so no authorization endpoint is claimed
    expect(oidcDoc.authorization_endpoint).toBeUndefined();
    // every *_endpoint and *_uri named answers (none is a 404)
    const urls = Object.entries(oidcDoc).filter(([key]) => key.endsWith('_endpoint') || key.endsWith('_uri')).map(([, url]) => url as string);
    expect(urls).toHaveLength(6);
    for (const url of urls) {
      const method = /jwks|userinfo/.test(url) ? 'GET' : 'POST';
      const response = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      expect(response.status, url).not.toBe(404);
    }
  });

  it('is accepted by openid-client, by either well-known document', async () => {
    for (const algorithm of ['oidc', 'oauth2'] as const) {
      const config = await oidc.discovery(new URL(gw.url), app.appId, undefined, oidc.None(), { ...insecure, algorithm });
      expect(config.serverMetadata().token_endpoint).toBe(`${gw.url}/oauth/token`);
      expect(config.clientMetadata().client_id).toBe(app.appId);
    }
  });
});

describe('POST /oauth/token with openid-client', () => {
  it('password grant (confidential client, Basic): tokens whose ID and access tokens verify from the JWKS (RFC 9068 claims)', async () => {
    const user = await signUp();
    const config = await confidential();
    const tokens = await oidc.genericGrantRequest(config, 'password', { username: user.email, password: PASSWORD, scope: 'openid profile email' });
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 900, scope: 'openid profile email' });
    expect(tokens.refresh_token).toMatch(/^rt_/);
    // openid-client validated the ID token (iss, aud = client_id, exp, iat, alg from the metadata)
    expect(tokens.claims()).toMatchObject({ sub: user.id, aud: app.appId, email: user.email, given_name: 'Ada' });

    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    const access = await jwtVerify(tokens.access_token, jwks, { issuer: gw.url, audience: app.appId, typ: 'at+jwt', currentDate: gw.clock.now() });
    expect(access.protectedHeader).toMatchObject({ typ: 'at+jwt', alg: 'ES256', kid: expect.any(String) });
    expect(access.payload).toMatchObject({ iss: gw.url, sub: user.id, aud: app.appId, client_id: app.appId, scope: 'openid profile email' });
    expect(access.payload.jti).toEqual(expect.any(String));
    expect(access.payload.exp! - access.payload.iat!).toBe(900);
    const id = await jwtVerify(tokens.id_token!, jwks, { issuer: gw.url, audience: app.appId, currentDate: gw.clock.now() });
    expect(id.payload).toMatchObject({ sub: user.id, email: user.email, email_verified: false, name: 'Ada Lovelace', auth_time: expect.any(Number) });
  });

  it('password grant (client_secret_post, and a public client with email as SessionM sends it)', async () => {
    const user = await signUp();
    const post = await oidc.genericGrantRequest(await confidential(app, 'post'), 'password', { username: user.email, password: PASSWORD });
    expect(post.scope).toBe('openid profile email phone');
    const pub = await oidc.genericGrantRequest(await publicClient(), 'password', { email: user.email, password: PASSWORD });
    expect(pub.claims()!.sub).toBe(user.id);
  });

  it('refresh grant rotates, and a rotated token presented again revokes the session (the same reuse detection as GraphQL)', async () => {
    const user = await signUp();
    const config = await publicClient();
    const first = await oidc.genericGrantRequest(config, 'password', { username: user.email, password: PASSWORD });
    const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.claims()!.sub).toBe(user.id);
    // within the grace interval the same child comes back (a client racing itself)
    const raced = await oidc.refreshTokenGrant(config, first.refresh_token!);
    expect(raced.refresh_token).toBe(second.refresh_token);
    // past it, the rotated token is theft: invalid_grant, and the whole family is revoked
    gw.clock.advance(11_000);
    expect(await oauthError(oidc.refreshTokenGrant(config, first.refresh_token!))).toEqual({ error: 'invalid_grant', status: 400, code: 'REFRESH_TOKEN_REUSED' });
    expect(await oauthError(oidc.refreshTokenGrant(config, second.refresh_token!))).toMatchObject({ error: 'invalid_grant', code: 'INVALID_REFRESH_TOKEN' });
  });

  it('shares rotation with GraphQL: a token from login refreshed here, then reused through GraphQL, revokes the session', async () => {
    const user = await signUp();
    const web = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const login = await run(web, LOGIN, { input: { email: user.email, password: PASSWORD } });
    const rotated = await oidc.refreshTokenGrant(await publicClient(), login.data!.login.refreshToken);
    gw.clock.advance(11_000);
    expect((await run(web, REFRESH, { refreshToken: login.data!.login.refreshToken })).code).toBe('REFRESH_TOKEN_REUSED');
    expect((await run(web, REFRESH, { refreshToken: rotated.refresh_token })).code).toBe('INVALID_REFRESH_TOKEN');
  });

  it('keeps a refresh token to its own app and to the scopes of its session', async () => {
    const user = await signUp();
    const tokens = await oidc.genericGrantRequest(await publicClient(), 'password', { username: user.email, password: PASSWORD, scope: 'openid email' });
    expect(await oauthError(oidc.refreshTokenGrant(await publicClient(other), tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant', code: 'INVALID_REFRESH_TOKEN' });
    expect(await oauthError(oidc.refreshTokenGrant(await publicClient(), tokens.refresh_token!, { scope: 'openid phone' }))).toMatchObject({ error: 'invalid_scope' });
    // the refused scope did not rotate the token; a scope within the session's works
    const narrower = await oidc.refreshTokenGrant(await publicClient(), tokens.refresh_token!, { scope: 'openid' });
    expect(narrower.scope).toBe('openid email');
  });

  it('locks the account after 5 failures, for OAuth and GraphQL alike, with Retry-After', async () => {
    const user = await signUp();
    const config = await confidential();
    for (let i = 0; i < 5; i++) {
      expect(await oauthError(oidc.genericGrantRequest(config, 'password', { username: user.email, password: 'wrong password' }))).toEqual({ error: 'invalid_grant', status: 400, code: 'INVALID_CREDENTIALS' });
    }
    const locked = await post('/oauth/token', { grant_type: 'password', username: user.email, password: PASSWORD }, basic(app.appId, app.secretKey));
    expect(locked.status).toBe(400);
    expect(locked.json).toMatchObject({ error: 'invalid_grant', code: 'TOO_MANY_ATTEMPTS' });
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    const graphql = await run(apolloClient(gw.url, { 'x-api-key': app.publishableKey }), LOGIN, { input: { email: user.email, password: PASSWORD } });
    expect(graphql.code).toBe('TOO_MANY_ATTEMPTS');
  });
});

describe('POST /oauth/token over raw HTTP (curl)', () => {
  it('takes a form body with Basic client credentials and answers no-store JSON', async () => {
    const user = await signUp();
    // curl -u "$APP_ID:$SECRET_KEY" -d grant_type=password -d username=… -d password=… -d scope='openid email' $URL/oauth/token
    const response = await post('/oauth/token', { grant_type: 'password', username: user.email, password: PASSWORD, scope: 'openid email' }, basic(app.appId, app.secretKey));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    expect(response.json).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: expect.stringMatching(/^rt_/),
      refresh_expires_in: 30 * 24 * 3600,
      scope: 'openid email',
      id_token: expect.any(String),
      created_at: expect.any(Number),
    });
    expect(decodeJwt(response.json.access_token)).toMatchObject({ sub: user.id, client_id: app.appId });
  });

  it('takes the SessionM JSON request (public client, email)', async () => {
    const user = await signUp();
    const response = await fetch(`${gw.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password', email: user.email, password: PASSWORD, client_id: app.appId, scope: 'openid profile email' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ token_type: 'Bearer', scope: 'openid profile email' });
  });

  it('answers RFC 6749 errors', async () => {
    const user = await signUp();
    const good = { grant_type: 'password', username: user.email, password: PASSWORD };
    const cases: [string, Record<string, string>, Record<string, string>, number, string][] = [
      ['wrong secret (Basic)', good, basic(app.appId, other.secretKey), 401, 'invalid_client'],
      ['a publishable key is no secret', { ...good, client_id: app.appId, client_secret: app.publishableKey }, {}, 401, 'invalid_client'],
      ['unknown client_id', { ...good, client_id: '01a20828-0000-7000-8000-000000000000' }, {}, 401, 'invalid_client'],
      ['no client_id', good, {}, 401, 'invalid_client'],
      ['two client authentication methods', { ...good, client_secret: app.secretKey }, basic(app.appId, app.secretKey), 400, 'invalid_request'],
      ['no grant_type', { username: user.email, password: PASSWORD, client_id: app.appId }, {}, 400, 'invalid_request'],
      ['an unsupported grant', { grant_type: 'client_credentials', client_id: app.appId }, {}, 400, 'unsupported_grant_type'],
      ['an authorization_code grant', { grant_type: 'authorization_code', code: 'x', client_id: app.appId }, {}, 400, 'unsupported_grant_type'],
      ['no password', { grant_type: 'password', username: user.email, client_id: app.appId }, {}, 400, 'invalid_request'],
      ['a malformed scope', { ...good, client_id: app.appId, scope: 'openid "all"' }, {}, 400, 'invalid_scope'],
      ['a wrong password', { ...good, client_id: app.appId, password: 'nope nope nope' }, {}, 400, 'invalid_grant'],
      ['an unknown user', { ...good, client_id: app.appId, username: 'nobody@example.com' }, {}, 400, 'invalid_grant'],
      ['no refresh_token', { grant_type: 'refresh_token', client_id: app.appId }, {}, 400, 'invalid_request'],
      ['a bad refresh_token', { grant_type: 'refresh_token', refresh_token: 'rt_nope', client_id: app.appId }, {}, 400, 'invalid_grant'],
    ];
    for (const [what, params, headers, status, error] of cases) {
      const response = await post('/oauth/token', params, headers);
      expect({ what, status: response.status, error: response.json.error }).toEqual({ what, status, error });
      expect(response.json.error_description, what).toEqual(expect.any(String));
      expect(response.headers.get('cache-control'), what).toBe('no-store');
    }
    const challenged = await post('/oauth/token', good, basic(app.appId, 'sk_wrong'));
    expect(challenged.headers.get('www-authenticate')).toMatch(/^Basic realm="gatehouse"/);
    const duplicated = await fetch(`${gw.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=password&grant_type=refresh_token&client_id=${app.appId}` });
    expect(duplicated.status).toBe(400);
    expect(((await duplicated.json()) as { error: string }).error).toBe('invalid_request');
    const xml = await fetch(`${gw.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<grant/>' });
    expect(((await xml.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('turns the public client off with the app’s last publishable key, and checks a browser’s Origin', async () => {
    const shop = await gw.createApp('Shop', { allowedOrigins: ['https://shop.example.com'] });
    const user = await signUp(shop);
    const params = { grant_type: 'password', username: user.email, password: PASSWORD, client_id: shop.appId };
    expect((await post('/oauth/token', params, { origin: 'https://shop.example.com' })).status).toBe(200);
    expect((await post('/oauth/token', params, { origin: 'https://evil.example.com' })).json).toMatchObject({ error: 'invalid_client', code: 'INVALID_DOMAIN' });
    await gw.gateway.services.apps.revokeKey(gw.gateway.orm.em.fork(), shop.publishableKeyId);
    expect((await post('/oauth/token', params)).json).toMatchObject({ error: 'invalid_client' });
    // a confidential client still works
    expect((await post('/oauth/token', { ...params, client_secret: shop.secretKey })).status).toBe(200);
  });

  it('counts against the same per-IP budget as the GraphQL operation (429 slow_down)', async () => {
    const small = await gw.createApp('Small', { ipRateLimitPerMinute: 2 });
    const user = await signUp(small);
    const web = apolloClient(gw.url, { 'x-api-key': small.publishableKey });
    const signUpCalls = (await run(web, LOGIN, { input: { email: user.email, password: PASSWORD } })).errors;
    expect(signUpCalls).toEqual([]);
    const params = { grant_type: 'password', username: user.email, password: PASSWORD, client_id: small.appId };
    expect((await post('/oauth/token', params)).status).toBe(200);
    const refused = await post('/oauth/token', params);
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ error: 'slow_down', code: 'TOO_MANY_ATTEMPTS' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await run(web, LOGIN, { input: { email: user.email, password: PASSWORD } })).code).toBe('TOO_MANY_ATTEMPTS');
  });
});

describe('GET|POST /oauth/userinfo', () => {
  it('answers the ID token’s OIDC claims to openid-client, and checks the session is live', async () => {
    const user = await signUp();
    const config = await confidential();
    const tokens = await oidc.genericGrantRequest(config, 'password', { username: user.email, password: PASSWORD });
    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
    const { iss: _iss, aud: _aud, exp: _exp, iat: _iat, auth_time: _auth, sid: _sid, ...oidcClaims } = tokens.claims()!;
    expect(info).toEqual(oidcClaims);
    expect(info).toMatchObject({ sub: user.id, email: user.email, email_verified: false, given_name: 'Ada', family_name: 'Lovelace', name: 'Ada Lovelace' });

    // POST with the token as a form parameter (RFC 6750 §2.2)
    const posted = await post('/oauth/userinfo', { access_token: tokens.access_token });
    expect(posted.status).toBe(200);
    expect(posted.json).toEqual(info);
    expect(posted.headers.get('cache-control')).toBe('no-store');

    // logout through GraphQL ends the session: the (unexpired) token stops working here too
    await run(apolloClient(gw.url, { authorization: `Bearer ${tokens.access_token}` }), LOGOUT);
    expect(await oauthError(oidc.fetchUserInfo(config, tokens.access_token, user.id))).toEqual({ error: 'invalid_token', status: 401 });
  });

  it('releases claims by scope, and wants a bearer', async () => {
    const user = await signUp();
    const tokens = await oidc.genericGrantRequest(await publicClient(), 'password', { username: user.email, password: PASSWORD, scope: 'openid email' });
    expect(await oidc.fetchUserInfo(await publicClient(), tokens.access_token, user.id)).toEqual({ sub: user.id, email: user.email, email_verified: false });
    const none = await fetch(`${gw.url}/oauth/userinfo`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');
    const noOpenid = await oidc.genericGrantRequest(await publicClient(), 'password', { username: user.email, password: PASSWORD, scope: 'email' });
    const insufficient = await fetch(`${gw.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${noOpenid.access_token}` } });
    expect(insufficient.status).toBe(403);
    expect(insufficient.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    // an ID token is not an access token, though signed with the same key
    const withId = await fetch(`${gw.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.id_token}` } });
    expect(withId.status).toBe(401);
  });

  it('refuses an expired access token with invalid_token', async () => {
    const user = await signUp();
    const tokens = await oidc.genericGrantRequest(await publicClient(), 'password', { username: user.email, password: PASSWORD });
    gw.clock.advance(16 * 60 * 1000);
    const expired = await fetch(`${gw.url}/oauth/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse", error="invalid_token"');
  });
});

describe('POST /oauth/revoke (RFC 7009) and /oauth/introspect (RFC 7662)', () => {
  it('introspects for a confidential client, revokes for any client of the app', async () => {
    const user = await signUp();
    const partner = await confidential();
    const tokens = await oidc.genericGrantRequest(await publicClient(), 'password', { username: user.email, password: PASSWORD });

    const access = await oidc.tokenIntrospection(partner, tokens.access_token);
    expect(access).toMatchObject({ active: true, token_type: 'Bearer', client_id: app.appId, sub: user.id, aud: app.appId, iss: gw.url, scope: 'openid profile email phone' });
    expect(access.exp! - access.iat!).toBe(900);
    expect(access.jti).toBe(decodeJwt(tokens.access_token).jti);
    const refresh = await oidc.tokenIntrospection(partner, tokens.refresh_token!);
    expect(refresh).toMatchObject({ active: true, token_type: 'refresh_token', client_id: app.appId, sub: user.id });
    // another app's partner learns nothing; nor does anyone about garbage
    expect(await oidc.tokenIntrospection(await confidential(other), tokens.access_token)).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(partner, 'rt_garbage')).toEqual({ active: false });
    // an ID token is no access token; revoking with it does nothing
    expect(await oidc.tokenIntrospection(partner, tokens.id_token!)).toEqual({ active: false });
    await oidc.tokenRevocation(partner, tokens.id_token!);
    expect((await oidc.tokenIntrospection(partner, tokens.access_token)).active).toBe(true);
    // public clients may not introspect
    expect(await oauthError(oidc.tokenIntrospection(await publicClient(), tokens.access_token))).toMatchObject({ error: 'invalid_client', status: 401 });

    // another app's client cannot revoke it (200, nothing happens)
    await oidc.tokenRevocation(await publicClient(other), tokens.refresh_token!);
    expect((await oidc.tokenIntrospection(partner, tokens.refresh_token!)).active).toBe(true);
    // the app's public client revokes the session by its refresh token
    await oidc.tokenRevocation(await publicClient(), tokens.refresh_token!);
    expect(await oidc.tokenIntrospection(partner, tokens.refresh_token!)).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(partner, tokens.access_token)).toEqual({ active: false });
    expect((await run(apolloClient(gw.url, { authorization: `Bearer ${tokens.access_token}` }), ME)).code).toBe('UNAUTHENTICATED');
    expect(await oauthError(oidc.refreshTokenGrant(await publicClient(), tokens.refresh_token!))).toMatchObject({ error: 'invalid_grant' });
    // unknown tokens answer 200 too
    const unknown = await post('/oauth/revoke', { token: 'rt_unknown', client_id: app.appId });
    expect(unknown.status).toBe(200);
    expect(unknown.headers.get('cache-control')).toBe('no-store');
  });

  it('revokes a session by its access token', async () => {
    const user = await signUp();
    const tokens = await oidc.genericGrantRequest(await confidential(), 'password', { username: user.email, password: PASSWORD });
    await oidc.tokenRevocation(await confidential(app, 'post'), tokens.access_token);
    expect(await oidc.tokenIntrospection(await confidential(), tokens.refresh_token!)).toEqual({ active: false });
  });
});

describe('the README', () => {
  it('shows partner code that type-checks under strict against openid-client 6', () => {
    const root = resolve(__dirname, '..');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const start = readme.indexOf('## For partners');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const snippets = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(snippets).toHaveLength(1);
    mkdirSync(join(root, '.vitest-tmp'), { recursive: true });
    const work = mkdtempSync(join(root, '.vitest-tmp', 'oauth-'));
    try {
      // .mts: an ES module, as openid-client is, with top-level await as in the README
      writeFileSync(join(work, 'partner.mts'), `${snippets[0]}\nexport { profile };\n`);
      writeFileSync(
        join(work, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM'], strict: true, noEmit: true, skipLibCheck: true, types: [] },
          files: ['partner.mts'],
        }),
      );
      const checked = spawnSync('npx', ['tsc', '-p', join(work, 'tsconfig.json')], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(`${checked.stdout}${checked.stderr}`.replace(/npm warn.*\n?/g, '').trim()).toBe('');
      expect(checked.status).toBe(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
