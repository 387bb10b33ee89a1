import { gql } from '@apollo/client/core';
import bcrypt from 'bcrypt';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RefreshToken, Session, User } from '../src/db/entities';
import { HotStore } from '../src/db/fast';
import { gatehouse } from './helpers/cli';
import { apolloClient, run, type Client } from './helpers/client';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';
import { CHANGE_PASSWORD, IMPORT_USERS, LOGIN, LOGOUT, ME, REFRESH, REGISTER, UPDATE_PROFILE } from './helpers/session-documents';

let gw: TestGateway;
let app: TestApp;
let other: TestApp;
let frontend: Client;
const PASSWORD = 'correct horse battery';
let seq = 0;
const email = () => `user${++seq}-${Date.now()}@example.com`;

const bearer = (token: string) => apolloClient(gw.url, { authorization: `Bearer ${token}` });

async function signUp(address = email(), password = PASSWORD, client = frontend) {
  const result = await run(client, REGISTER, { input: { email: address, password, firstName: 'Ada', lastName: 'Lovelace' } });
  expect(result.errors).toEqual([]);
  return result.data!.register.auth;
}

beforeAll(async () => {
  gw = await startGateway();
  app = await gw.createApp('Sessions');
  other = await gw.createApp('Other brand');
  frontend = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
});
afterAll(() => gw.close());

describe('tokens (SPEC §2)', () => {
  it('issues tokens that verify against the served JWKS with a standard JOSE library', async () => {
    const auth = await signUp();
    expect(auth.tokenType).toBe('Bearer');
    expect(auth.expiresIn).toBe(900);
    expect(auth.refreshExpiresIn).toBe(30 * 24 * 3600);
    const discovery = (await (await fetch(`${gw.url}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    expect(discovery.issuer).toBe(gw.url);
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    const now = gw.clock.now();
    const { payload, protectedHeader } = await jwtVerify(auth.accessToken, jwks, { issuer: gw.url, audience: app.appId, currentDate: now });
    expect(protectedHeader.alg).toBe('ES256');
    expect(protectedHeader.kid).toEqual(expect.any(String));
    expect(payload).toMatchObject({ sub: auth.user.id, scope: 'openid profile email phone' });
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.sid).toEqual(expect.any(String));
    const id = await jwtVerify(auth.idToken, jwks, { issuer: gw.url, audience: app.appId, currentDate: now });
    expect(id.payload).toMatchObject({ sub: auth.user.id, email: auth.user.email, email_verified: false, given_name: 'Ada', family_name: 'Lovelace', name: 'Ada Lovelace' });
    expect(id.payload.auth_time).toEqual(expect.any(Number));
  });

  it('signs one id token per answer, however often it is selected, with the access token’s second and session', async () => {
    const auth = await signUp();
    const twice = gql`mutation RefreshTwice($refreshToken: String!) { refresh(refreshToken: $refreshToken) { accessToken a: idToken b: idToken } }`;
    const { data } = await run(frontend, twice, { refreshToken: auth.refreshToken });
    const { accessToken, a, b } = data!.refresh as { accessToken: string; a: string; b: string };
    expect(a).toBe(b);
    const jwks = createRemoteJWKSet(new URL(`${gw.url}/.well-known/jwks.json`));
    const now = gw.clock.now();
    const access = await jwtVerify(accessToken, jwks, { issuer: gw.url, audience: app.appId, currentDate: now });
    const id = await jwtVerify(a, jwks, { issuer: gw.url, audience: app.appId, currentDate: now });
    expect(id.protectedHeader.typ).toBe('JWT');
    expect(id.payload).toMatchObject({ sub: auth.user.id, sid: access.payload.sid, iat: access.payload.iat, exp: access.payload.exp });
  });

  it('applies an app edit made by another process to the next bearer request (the app record is re-read when its updatedAt moves)', async () => {
    const brand = await gw.createApp('Edited elsewhere');
    const auth = await signUp(email(), PASSWORD, apolloClient(gw.url, { 'x-api-key': brand.publishableKey }));
    const client = bearer(auth.accessToken);
    const legal = gql`query MeLegal { me { id legalAccepted } }`;
    expect((await run(client, legal)).data!.me.legalAccepted).toBe(true);
    // The real CLI, a process of its own, on the gateway's database.
    for (const [required, accepted] of [[true, false], [false, true]] as const) {
      const updated = await gatehouse(gw.gateway.config.databaseUrl, 'app', 'update', brand.appId, '--settings', JSON.stringify({ requireLegalAcceptance: required }));
      expect(updated.code).toBe(0);
      expect((await run(client, legal)).data!.me.legalAccepted).toBe(accepted);
    }
  });

  it('serves me to the bearer and lets them update their own profile', async () => {
    const auth = await signUp();
    const me = await run(bearer(auth.accessToken), ME);
    expect(me.errors).toEqual([]);
    expect(me.data!.me.id).toBe(auth.user.id);
    const updated = await run(bearer(auth.accessToken), UPDATE_PROFILE, { input: { city: 'London' } });
    expect(updated.data!.updateProfile.city).toBe('London');
  });

  it('refuses alg none, a tampered signature, an expired token, another app, and a token after logout', async () => {
    const auth = await signUp();
    const [h, p] = auth.accessToken.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const none = `${Buffer.from(JSON.stringify({ ...header, alg: 'none' })).toString('base64url')}.${p}.`;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: '01a20828-0000-7000-8000-000000000000' })).toString('base64url');
    const tampered = `${h}.${forgedPayload}.${auth.accessToken.split('.')[2]}`;
    for (const token of [none, tampered, 'not.a.jwt', auth.accessToken.slice(0, -3) + 'AAA']) {
      expect((await run(bearer(token), ME)).errors[0].extensions, token).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'invalid_token' });
    }
    // a token of app A presented with app B's key
    const mixed = apolloClient(gw.url, { authorization: `Bearer ${auth.accessToken}`, 'x-api-key': other.publishableKey });
    expect((await run(mixed, ME)).code).toBe('UNAUTHENTICATED');
    // expired: move the clock past the 15-minute lifetime
    const fresh = await signUp();
    gw.clock.advance(16 * 60 * 1000);
    expect((await run(bearer(fresh.accessToken), ME)).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'token_expired' });
    gw.clock.advance(-16 * 60 * 1000);
    // after logout
    expect((await run(bearer(auth.accessToken), LOGOUT)).data!.logout).toBe(true);
    expect((await run(bearer(auth.accessToken), ME)).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'session_ended' });
    expect((await run(frontend, REFRESH, { refreshToken: auth.refreshToken })).code).toBe('INVALID_REFRESH_TOKEN');
  });

  it("refuses one app's refresh token at another app", async () => {
    const auth = await signUp();
    const result = await run(apolloClient(gw.url, { 'x-api-key': other.publishableKey }), REFRESH, { refreshToken: auth.refreshToken });
    expect(result.code).toBe('INVALID_REFRESH_TOKEN');
  });

  it('keeps verifying tokens of the old key after signing-key rotation, and serves both keys', async () => {
    const before = await signUp();
    const oldKid = decodeProtectedHeader(before.accessToken).kid;
    await gw.gateway.services.signingKeys.rotate('RS256');
    const after = await signUp();
    expect(decodeProtectedHeader(after.accessToken)).toMatchObject({ alg: 'RS256' });
    expect(decodeProtectedHeader(after.accessToken).kid).not.toBe(oldKid);
    expect((await run(bearer(before.accessToken), ME)).errors).toEqual([]);
    expect((await run(bearer(after.accessToken), ME)).errors).toEqual([]);
    const jwks = (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(expect.arrayContaining([oldKid, decodeProtectedHeader(after.accessToken).kid]));
    expect(JSON.stringify(jwks)).not.toMatch(/"d":/);
  });
});

describe('refresh rotation (SPEC §2)', () => {
  it('rotates on every use, so the new token works and the pair is new', async () => {
    const auth = await signUp();
    const next = await run(frontend, REFRESH, { refreshToken: auth.refreshToken });
    expect(next.errors).toEqual([]);
    expect(next.data!.refresh.refreshToken).not.toBe(auth.refreshToken);
    expect((await run(bearer(next.data!.refresh.accessToken), ME)).errors).toEqual([]);
    const third = await run(frontend, REFRESH, { refreshToken: next.data!.refresh.refreshToken });
    expect(third.errors).toEqual([]);
  });

  it('returns the same child to a client that raced itself within the grace interval', async () => {
    const auth = await signUp();
    const [a, b] = await Promise.all([
      run(frontend, REFRESH, { refreshToken: auth.refreshToken }),
      run(frontend, REFRESH, { refreshToken: auth.refreshToken }),
    ]);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    expect(a.data!.refresh.refreshToken).toBe(b.data!.refresh.refreshToken);
    gw.clock.advance(5_000);
    const late = await run(frontend, REFRESH, { refreshToken: auth.refreshToken });
    expect(late.data!.refresh.refreshToken).toBe(a.data!.refresh.refreshToken);
  });

  it('treats reuse after the grace interval as theft: REFRESH_TOKEN_REUSED and the whole family revoked', async () => {
    const auth = await signUp();
    const child = (await run(frontend, REFRESH, { refreshToken: auth.refreshToken })).data!.refresh;
    gw.clock.advance(11_000);
    const reused = await run(frontend, REFRESH, { refreshToken: auth.refreshToken });
    expect(reused.code).toBe('REFRESH_TOKEN_REUSED');
    expect((await run(frontend, REFRESH, { refreshToken: child.refreshToken })).code).toBe('INVALID_REFRESH_TOKEN');
    expect((await run(bearer(child.accessToken), ME)).code).toBe('UNAUTHENTICATED');
  });

  it('answers INVALID_REFRESH_TOKEN for garbage', async () => {
    for (const token of ['', 'rt_nope', 'x'.repeat(500)]) {
      expect((await run(frontend, REFRESH, { refreshToken: token })).code).toBe('INVALID_REFRESH_TOKEN');
    }
  });
});

describe('register and login (SPEC §4.2, §4.4)', () => {
  it('gives exactly one account and 19 EMAIL_TAKEN to 20 concurrent registrations of one email', async () => {
    const address = email();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => run(frontend, REGISTER, { input: { email: address, password: PASSWORD } })),
    );
    const codes = results.map((r) => r.code ?? 'ok');
    expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
    expect(codes.filter((c) => c === 'EMAIL_TAKEN')).toHaveLength(19);
    const count = await gw.gateway.orm.em.fork().count(User, { emailKey: address });
    expect(count).toBe(1);
  });

  it('logs in with email (any case) and password, and refuses a wrong password with INVALID_CREDENTIALS', async () => {
    const address = email();
    await signUp(address);
    const ok = await run(frontend, LOGIN, { input: { email: address.toUpperCase(), password: PASSWORD } });
    expect(ok.errors).toEqual([]);
    expect(ok.data!.login.user.email).toBe(address);
    const wrong = await run(frontend, LOGIN, { input: { email: address, password: 'wrong password' } });
    const unknown = await run(frontend, LOGIN, { input: { email: email(), password: 'wrong password' } });
    expect(wrong.code).toBe('INVALID_CREDENTIALS');
    expect(unknown.code).toBe('INVALID_CREDENTIALS');
    expect(unknown.errors[0].message).toBe(wrong.errors[0].message);
  });

  it('does the same password-verification work for an unknown email as for a wrong password', async () => {
    const address = email();
    await signUp(address);
    const hasher = gw.gateway.services.hasher;
    const count = async (input: Record<string, string>) => {
      const before = hasher.verifications;
      await run(frontend, LOGIN, { input });
      return hasher.verifications - before;
    };
    expect(await count({ email: address, password: 'wrong password' })).toBe(1);
    expect(await count({ email: email(), password: 'wrong password' })).toBe(1);
  });

  it('logs in with a phone number too', async () => {
    const result = await run(frontend, REGISTER, { input: { email: email(), phoneNumber: '+35799123456', password: PASSWORD } });
    expect(result.errors).toEqual([]);
    const login = await run(frontend, LOGIN, { input: { phoneNumber: '99123456', countryCode: 'CYP', password: PASSWORD } });
    expect(login.errors).toEqual([]);
  });

  it('locks an account after 5 failures in 15 minutes, even for the right password, with retryAfter', async () => {
    const address = email();
    await signUp(address);
    for (let i = 0; i < 5; i++) {
      expect((await run(frontend, LOGIN, { input: { email: address, password: `wrong ${i}` } })).code).toBe('INVALID_CREDENTIALS');
    }
    const locked = await run(frontend, LOGIN, { input: { email: address, password: PASSWORD } });
    expect(locked.code).toBe('TOO_MANY_ATTEMPTS');
    expect(locked.errors[0].extensions!.retryAfter).toBeGreaterThan(0);
  });

  it('counts concurrent failures exactly: 12 parallel wrong guesses make at most 5 verifications', async () => {
    const address = email();
    await signUp(address);
    const before = gw.gateway.services.hasher.verifications;
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => run(frontend, LOGIN, { input: { email: address, password: `guess ${i}` } })));
    expect(gw.gateway.services.hasher.verifications - before).toBe(5);
    expect(results.filter((r) => r.code === 'TOO_MANY_ATTEMPTS')).toHaveLength(7);
  });

  it('answers WEAK_PASSWORD with every failed rule under the STRICT policy', async () => {
    const strict = await gw.createApp('Strict', { passwordPolicy: 'STRICT' });
    const client = apolloClient(gw.url, { 'x-api-key': strict.publishableKey });
    const weak = await run(client, REGISTER, { input: { email: email(), password: 'abc:' } });
    expect(weak.code).toBe('WEAK_PASSWORD');
    expect(weak.errors[0].extensions!.rules).toEqual(['MIN_LENGTH', 'DIGIT', 'UPPERCASE', 'SPECIAL_CHARACTER', 'FORBIDDEN_CHARACTER']);
    const ok = await run(client, REGISTER, { input: { email: email(), password: 'Let!MeIn8410' } });
    expect(ok.errors).toEqual([]);
    const defaultPolicy = await run(frontend, REGISTER, { input: { email: email(), password: 'short' } });
    expect(defaultPolicy.errors[0].extensions!.rules).toEqual(['MIN_LENGTH']);
  });

  it('answers METHOD_DISABLED when the app has email + password sign-up off', async () => {
    const codesOnly = await gw.createApp('Codes only', { signUpMethods: ['EMAIL_OTP'] });
    const result = await run(apolloClient(gw.url, { 'x-api-key': codesOnly.publishableKey }), REGISTER, { input: { email: email(), password: PASSWORD } });
    expect(result.code).toBe('METHOD_DISABLED');
  });

  it('refuses a suspended account with ACCOUNT_SUSPENDED and stops its bearer tokens', async () => {
    const address = email();
    const auth = await signUp(address);
    const em = gw.gateway.orm.em.fork();
    await em.nativeUpdate(User, { id: auth.user.id }, { suspended: true });
    // SPEC §4.10: a suspended account's bearer requests, refresh and sign-ins answer ACCOUNT_SUSPENDED
    // (the bearer one with reason session_ended: a client that only reads reasons still signs out).
    expect((await run(bearer(auth.accessToken), ME)).errors[0].extensions).toMatchObject({ code: 'ACCOUNT_SUSPENDED', reason: 'session_ended' });
    expect((await run(frontend, REFRESH, { refreshToken: auth.refreshToken })).code).toBe('ACCOUNT_SUSPENDED');
    expect((await run(frontend, LOGIN, { input: { email: address, password: PASSWORD } })).code).toBe('ACCOUNT_SUSPENDED');
  });
});

describe('passwords (SPEC §3, §4.5, §4.6)', () => {
  it('revokes every other session on changePassword, keeps the current one, and needs the current password', async () => {
    const address = email();
    const first = await signUp(address);
    const second = (await run(frontend, LOGIN, { input: { email: address, password: PASSWORD } })).data!.login;
    const wrong = await run(bearer(first.accessToken), CHANGE_PASSWORD, { currentPassword: 'nope nope', newPassword: 'a brand new secret' });
    expect(wrong.code).toBe('INVALID_CREDENTIALS');
    const changed = await run(bearer(first.accessToken), CHANGE_PASSWORD, { currentPassword: PASSWORD, newPassword: 'a brand new secret' });
    expect(changed.errors).toEqual([]);
    expect((await run(bearer(first.accessToken), ME)).errors).toEqual([]);
    expect((await run(bearer(second.accessToken), ME)).code).toBe('UNAUTHENTICATED');
    expect((await run(frontend, REFRESH, { refreshToken: second.refreshToken })).code).toBe('INVALID_REFRESH_TOKEN');
    expect((await run(frontend, LOGIN, { input: { email: address, password: 'a brand new secret' } })).errors).toEqual([]);
  });

  it('imports a bcrypt hash, logs in with it and upgrades it to argon2id', async () => {
    const partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
    const address = email();
    const legacy = await bcrypt.hash('legacy password', 10);
    const imported = await run(partner, IMPORT_USERS, {
      input: [
        { email: address, firstName: 'Legacy', passwordHash: legacy },
        { email: 'broken', passwordHash: legacy },
        { email: email(), passwordHash: 'md5:5f4dcc3b5aa765d61d8327deb882cf99' },
        { email: address, passwordHash: legacy },
      ],
    });
    expect(imported.errors).toEqual([]);
    expect(imported.data!.importUsers.imported).toBe(1);
    expect(imported.data!.importUsers.failed.map((f: any) => [f.index, f.code, f.field])).toEqual([
      [1, 'BAD_USER_INPUT', 'email'],
      [2, 'BAD_USER_INPUT', 'passwordHash'],
      [3, 'EMAIL_TAKEN', 'email'],
    ]);
    const login = await run(frontend, LOGIN, { input: { email: address, password: 'legacy password' } });
    expect(login.errors).toEqual([]);
    const user = await gw.gateway.orm.em.fork().findOneOrFail(User, { emailKey: address });
    expect(user.passwordHash).toMatch(/^\$argon2id\$v=19\$/);
    expect(gw.gateway.services.hasher.needsRehash(user.passwordHash!)).toBe(false);
    expect((await run(frontend, LOGIN, { input: { email: address, password: 'legacy password' } })).errors).toEqual([]);
  });

  it('imports argon2 and scrypt PHC hashes as they are', async () => {
    const partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
    const { scryptSync, randomBytes } = await import('node:crypto');
    const salt = randomBytes(16);
    const scrypt = `$scrypt$ln=14,r=8,p=1$${salt.toString('base64')}$${scryptSync('scrypt password', salt, 32, { N: 2 ** 14, r: 8, p: 1 }).toString('base64')}`;
    const argon = await gw.gateway.services.hasher.hash('argon password');
    const [a, b] = [email(), email()];
    const result = await run(partner, IMPORT_USERS, { input: [{ email: a, passwordHash: scrypt }, { email: b, passwordHash: argon }] });
    expect(result.data!.importUsers).toEqual({ imported: 2, failed: [] });
    expect((await run(frontend, LOGIN, { input: { email: a, password: 'scrypt password' } })).errors).toEqual([]);
    expect((await run(frontend, LOGIN, { input: { email: b, password: 'argon password' } })).errors).toEqual([]);
    expect((await run(frontend, LOGIN, { input: { email: a, password: 'wrong password' } })).code).toBe('INVALID_CREDENTIALS');
  });
});

describe('signIn on the prepared path, alone and inside a caller’s transaction (issue 13)', () => {
  /** A tenant as a keyed request holds it: the key cache's plain, frozen app record, no entity. */
  async function tenantAndUser() {
    const { services, orm } = gw.gateway;
    const owner = (await services.apps.authenticateKey(orm.em.fork(), app.secretKey))!;
    expect(Object.isFrozen(owner.app)).toBe(true);
    const auth = await signUp();
    return { services, orm, tenant: { app: owner.app, settings: owner.settings }, userId: auth.user.id as string };
  }
  const sessionsOf = (userId: string) => gw.gateway.orm.em.fork().count(Session, { user: userId });

  it('writes the session and its refresh token in the caller’s transaction: rolled back, nothing remains', async () => {
    const { services, orm, tenant, userId } = await tenantAndUser();
    const before = await sessionsOf(userId);
    let issued: { refreshToken: string | null; accessToken: string } | undefined;
    await expect(
      orm.em.fork().transactional(async (tx) => {
        issued = await services.sessions.signIn(tx, tenant, await tx.findOneOrFail(User, { id: userId }));
        // The ORM sees the prepared path's rows in the same transaction.
        const claims = JSON.parse(Buffer.from(issued.accessToken.split('.')[1], 'base64url').toString()) as { sid: string };
        expect((await tx.findOneOrFail(Session, { id: claims.sid })).scope).toBe('openid profile email phone');
        expect(await tx.count(RefreshToken, { session: claims.sid })).toBe(1);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await sessionsOf(userId)).toBe(before);
    expect((await run(frontend, REFRESH, { refreshToken: issued!.refreshToken })).code).toBe('INVALID_REFRESH_TOKEN');
    expect((await run(bearer(issued!.accessToken), ME)).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'session_ended' });
  });

  it('commits with the caller’s transaction, the ORM’s writes of that transaction included', async () => {
    const { services, orm, tenant, userId } = await tenantAndUser();
    const auth = await orm.em.fork().transactional(async (tx) => {
      const user = await tx.findOneOrFail(User, { id: userId });
      user.city = 'Paphos';
      return services.sessions.signIn(tx, tenant, user);
    });
    expect((await orm.em.fork().findOneOrFail(User, { id: userId })).city).toBe('Paphos');
    const next = await run(frontend, REFRESH, { refreshToken: auth.refreshToken });
    expect(next.errors).toEqual([]);
    expect((await run(bearer(next.data!.refresh.accessToken), ME)).data!.me.id).toBe(userId);
  });

  it('outside a transaction, commits what the unit of work holds with the session, or neither', async () => {
    const { services, orm, tenant, userId } = await tenantAndUser();
    const store = HotStore.of(orm.em);
    const before = await sessionsOf(userId);
    // The session insert fails: the user's pending change (written first) is rolled back with it.
    const em = orm.em.fork();
    const user = await em.findOneOrFail(User, { id: userId });
    user.city = 'Limassol';
    const spy = vi.spyOn(store, 'createSession').mockRejectedValueOnce(new Error('insert failed'));
    try {
      await expect(services.sessions.signIn(em, tenant, user)).rejects.toThrow('insert failed');
    } finally {
      spy.mockRestore();
    }
    expect((await orm.em.fork().findOneOrFail(User, { id: userId })).city).not.toBe('Limassol');
    expect(await sessionsOf(userId)).toBe(before);

    // Both succeed: both are there.
    const fresh = orm.em.fork();
    const again = await fresh.findOneOrFail(User, { id: userId });
    again.city = 'Larnaca';
    await services.sessions.signIn(fresh, tenant, again);
    expect((await orm.em.fork().findOneOrFail(User, { id: userId })).city).toBe('Larnaca');
    expect(await sessionsOf(userId)).toBe(before + 1);
  });

  it('signs in a plain user record (no entity) and ends sessions on the prepared path', async () => {
    const { services, orm, tenant, userId } = await tenantAndUser();
    const record = (await HotStore.of(orm.em).userById(orm.em.fork(), tenant.app.id, userId))!;
    const em = orm.em.fork();
    const [a, b] = [await services.sessions.signIn(em, tenant, record), await services.sessions.signIn(em, tenant, record)];
    expect(em.getUnitOfWork().getIdentityMap().values()).toEqual([]);
    expect((await run(bearer(a.accessToken), ME)).data!.me.id).toBe(userId);
    const sid = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { sid: string }).sid;
    await services.sessions.revokeAll(orm.em.fork(), userId, 'password_changed', sid(b.accessToken));
    expect((await run(bearer(a.accessToken), ME)).errors[0].extensions).toMatchObject({ reason: 'session_ended' });
    expect((await run(bearer(b.accessToken), ME)).errors).toEqual([]);
    expect((await orm.em.fork().findOneOrFail(Session, { id: sid(a.accessToken) })).revokedReason).toBe('password_changed');
  });
});

describe('the JWK Set after a rotation by another process', () => {
  it('publishes the key the CLI rotated to once a second has passed, beside the key it retired', async () => {
    const kidsServed = async () => ((await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const before = await kidsServed();
    const rotated = await gatehouse(gw.gateway.config.databaseUrl, 'signing-key', 'rotate');
    expect(rotated.code).toBe(0);
    // The set is re-read at most once a second (an unauthenticated endpoint is no query per request).
    gw.clock.advance(1_500);
    const after = await kidsServed();
    expect(after).toEqual(expect.arrayContaining(before));
    expect(after).toHaveLength(before.length + 1);
  });
});
