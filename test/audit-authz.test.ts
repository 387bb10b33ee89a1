import { gql } from '@apollo/client/core';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SingleUseToken, User } from '../src/db/entities';
import { apolloClient, postRaw, run, type Client } from './helpers/client';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';
import { ME, REGISTER, UPDATE_PROFILE } from './helpers/session-documents';

/**
 * The attacks of issue 11's findings 1–4, 13 and 14, each performed as the audit did and
 * refused with the SPEC's code, next to the legitimate path that must keep working.
 */

const SHOP = 'https://shop.example.com';
const OTHER_BRAND = 'https://other-brand.example.net';
const PASSWORD = 'audit test password';

let gw: TestGateway;
let app: TestApp;
let frontend: Client;
let partner: Client;
let seq = 0;
const email = () => `audit${++seq}-${Date.now()}@example.com`;
const bearer = (token: string) => apolloClient(gw.url, { authorization: `Bearer ${token}` });

async function signUp(client = frontend, input: Record<string, unknown> = {}) {
  const result = await run(client, REGISTER, { input: { email: email(), password: PASSWORD, firstName: 'Ada', lastName: 'Lovelace', ...input } });
  expect(result.errors).toEqual([]);
  return result.data!.register.auth;
}

beforeAll(async () => {
  gw = await startGateway();
  app = await gw.createApp('Audit shop', { allowedOrigins: [SHOP] });
  frontend = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
  partner = apolloClient(gw.url, { 'x-api-key': app.secretKey });
});
afterAll(() => gw.close());

describe('finding 3: only access tokens authenticate a bearer request (SPEC §2)', () => {
  it('refuses the ID token as a bearer with UNAUTHENTICATED invalid_token, while the access token works', async () => {
    const auth = await signUp();
    for (const [document, variables] of [[ME, {}], [UPDATE_PROFILE, { input: { city: 'Mallory town' } }]] as const) {
      const refused = await run(bearer(auth.idToken), document, variables);
      expect(refused.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'invalid_token' });
      expect(refused.data ?? null).toBeNull();
    }
    expect((await run(bearer(auth.accessToken), ME)).data!.me.id).toBe(auth.user.id);
    expect((await run(partner, gql`query($id: ID) { user(id: $id) { city } }`, { id: auth.user.id })).data!.user.city).toBeNull();
  });

  it('issues RFC 9068 access tokens (typ at+jwt, client_id) and ID tokens typed JWT, both verifiable with jose', async () => {
    const auth = await signUp();
    const jwks = createRemoteJWKSet(new URL(`${gw.url}/.well-known/jwks.json`));
    const access = await jwtVerify(auth.accessToken, jwks, { issuer: gw.url, audience: app.appId, typ: 'at+jwt', currentDate: gw.clock.now() });
    expect(access.payload).toMatchObject({ sub: auth.user.id, aud: app.appId, client_id: app.appId, scope: 'openid profile email phone' });
    expect(decodeProtectedHeader(auth.idToken).typ).toBe('JWT');
  });

  it('decides by the signed header typ alone: JWT or none refused, at+jwt in any case or with application/ accepted', async () => {
    const auth = await signUp();
    const key = await gw.gateway.services.signingKeys.current();
    const claims = jwt.decode(auth.accessToken) as Record<string, unknown>;
    const signed = (typ: string | undefined) =>
      jwt.sign(claims, key.privateKey, { algorithm: key.alg, keyid: key.kid, header: typ === undefined ? { alg: key.alg } : { alg: key.alg, typ } });
    for (const typ of [undefined, 'JWT', 'jwt', 'at+jwt+x', 'id_token']) {
      const result = await run(bearer(signed(typ)), ME);
      expect(result.errors[0]?.extensions, String(typ)).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'invalid_token' });
    }
    for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/AT+JWT']) {
      expect((await run(bearer(signed(typ)), ME)).errors, typ).toEqual([]);
    }
  });
});

describe('finding 13: a publishable key does not work from another brand’s pages (SPEC §1)', () => {
  const CHECK = JSON.stringify({ query: '{ checkEmail(email: "a@example.com") { exists } }' });

  it('refuses the key from an origin its app does not list with INVALID_DOMAIN, and serves its own origin', async () => {
    const brandB = await gw.createApp('Brand B', { allowedOrigins: [OTHER_BRAND] });
    // The attack: brand B's page (an origin CORS lets through, since brand B lists it) uses brand A's key.
    const stolen = await postRaw(gw.url, CHECK, { 'x-api-key': app.publishableKey, origin: OTHER_BRAND });
    expect(stolen.json.errors[0].extensions.code).toBe('INVALID_DOMAIN');
    expect(stolen.json.data ?? null).toBeNull();
    expect(stolen.text).not.toContain('exists');
    // The same request from the key's own app's page, and brand B with its own key, work.
    const own = await postRaw(gw.url, CHECK, { 'x-api-key': app.publishableKey, origin: SHOP });
    expect(own.json).toEqual({ data: { checkEmail: { exists: false } } });
    const b = await postRaw(gw.url, CHECK, { 'x-api-key': brandB.publishableKey, origin: OTHER_BRAND });
    expect(b.json).toEqual({ data: { checkEmail: { exists: false } } });
  });

  it('leaves requests without Origin, same-origin requests (the playground) and apps without allowedOrigins alone', async () => {
    expect((await postRaw(gw.url, CHECK, { 'x-api-key': app.publishableKey })).json.data).toEqual({ checkEmail: { exists: false } });
    const self = new URL(gw.url).origin;
    expect((await postRaw(gw.url, CHECK, { 'x-api-key': app.publishableKey, origin: self })).json.data).toEqual({ checkEmail: { exists: false } });
    const open = await gw.createApp('No origin list');
    expect((await postRaw(gw.url, CHECK, { 'x-api-key': open.publishableKey, origin: OTHER_BRAND })).json.data).toEqual({ checkEmail: { exists: false } });
    // Secret keys are server-side credentials: an Origin header does not restrict them (see README).
    expect((await postRaw(gw.url, CHECK, { 'x-api-key': app.secretKey, origin: OTHER_BRAND })).json.data).toEqual({ checkEmail: { exists: false } });
  });

  it('counts the PUBLIC_URL origin as the gateway’s own (a proxy may rewrite Host)', async () => {
    const proxied = await startGateway({ publicUrl: 'https://id.example.com', publicUrlExplicit: true });
    try {
      const shop = await proxied.createApp('Proxied shop', { allowedOrigins: [SHOP] });
      const own = await postRaw(proxied.url, CHECK, { 'x-api-key': shop.publishableKey, origin: 'https://id.example.com' });
      expect(own.json.data).toEqual({ checkEmail: { exists: false } });
      const foreign = await postRaw(proxied.url, CHECK, { 'x-api-key': shop.publishableKey, origin: 'https://id.example.com.evil.net' });
      expect(foreign.json.errors[0].extensions.code).toBe('INVALID_DOMAIN');
    } finally {
      await proxied.close();
    }
  });
});

const AUTOLOGIN = gql`
  mutation Autologin($input: AutologinInput!) { autologin(input: $input) { status registered lt } }
`;
const EXCHANGE = gql`
  mutation Exchange($lt: String!) {
    exchangeLoginTicket(lt: $lt) { accessToken refreshToken refreshExpiresIn idToken scope user { id externalId firstName lastName } }
  }
`;
const FULL_ME = gql`query { me { id externalId firstName lastName email dob address } }`;
const PARTICIPANT_ME = gql`query { me { id externalId firstName lastName } }`;

describe('finding 2: client-side autologin gives a participant session only (SPEC §4.8)', () => {
  let promo: TestApp;
  let promoFrontend: Client;
  let victim: { id: string; externalId: string };

  beforeAll(async () => {
    promo = await gw.createApp('Promo', { allowedOrigins: [SHOP], clientAutologin: true });
    promoFrontend = apolloClient(gw.url, { 'x-api-key': promo.publishableKey });
    const promoPartner = apolloClient(gw.url, { 'x-api-key': promo.secretKey });
    // The victim: a customer the partner created, with personal data and no password yet.
    const created = await run(promoPartner, gql`mutation($input: CreateUserInput!) { createUser(input: $input) { id externalId } }`, {
      input: { email: email(), externalId: 'victim-1', firstName: 'Vic', lastName: 'Tim', dob: '1980-02-03', address: '1 Main St' },
    });
    victim = created.data!.createUser;
  });

  it('is off unless the app sets clientAutologin: METHOD_DISABLED, even from an allowed origin', async () => {
    const forged = apolloClient(gw.url, { origin: SHOP });
    const result = await run(forged, AUTOLOGIN, { input: { appId: app.appId, externalId: 'victim-1', firstName: 'M', lastName: 'X' } });
    expect(result.code).toBe('METHOD_DISABLED');
    expect(result.data ?? null).toBeNull();
  });

  it('answers a forged Origin with a participant session: no refresh token, me shows only id, externalId and names', async () => {
    // The attack, as curl would send it: no key, a forged Origin, the victim's external id.
    const forged = apolloClient(gw.url, { origin: SHOP });
    const ticket = await run(forged, AUTOLOGIN, { input: { appId: promo.appId, externalId: 'victim-1', firstName: 'M', lastName: 'X' } });
    expect(ticket.errors).toEqual([]);
    expect(ticket.data!.autologin.registered).toBe(false);
    const session = await run(promoFrontend, EXCHANGE, { lt: ticket.data!.autologin.lt });
    expect(session.errors).toEqual([]);
    const auth = session.data!.exchangeLoginTicket;
    expect(auth).toMatchObject({ refreshToken: null, refreshExpiresIn: null, scope: 'participant' });
    expect(auth.user).toEqual({ id: victim.id, externalId: 'victim-1', firstName: 'Vic', lastName: 'Tim' });
    // The ID token names the user and nothing more.
    const idClaims = jwt.decode(auth.idToken) as Record<string, unknown>;
    expect(idClaims).toMatchObject({ sub: victim.id, given_name: 'Vic', family_name: 'Tim' });
    expect(idClaims).not.toHaveProperty('email');
    expect(idClaims).not.toHaveProperty('phone_number');

    const participant = bearer(auth.accessToken);
    expect((await run(participant, PARTICIPANT_ME)).data!.me).toEqual({ id: victim.id, externalId: 'victim-1', firstName: 'Vic', lastName: 'Tim' });
    const full = await run(participant, FULL_ME);
    const denied = full.errors.map((e) => [e.path?.join('.'), e.extensions?.code]);
    expect(denied).toEqual(expect.arrayContaining([['me.email', 'FORBIDDEN'], ['me.dob', 'FORBIDDEN'], ['me.address', 'FORBIDDEN']]));
    expect(JSON.stringify(full.data ?? null)).not.toMatch(/1980|Main St|@example\.com/);
  });

  it('answers every other bearer operation of a participant session with FORBIDDEN, and lets it end only itself', async () => {
    const forged = apolloClient(gw.url, { origin: SHOP });
    const lt = (await run(forged, AUTOLOGIN, { input: { appId: promo.appId, externalId: 'victim-1', firstName: 'M', lastName: 'X' } })).data!.autologin.lt;
    const auth = (await run(promoFrontend, EXCHANGE, { lt })).data!.exchangeLoginTicket;
    const participant = bearer(auth.accessToken);
    const attempts: [ReturnType<typeof gql>, Record<string, unknown>][] = [
      [gql`mutation { changePassword(newPassword: "attacker chosen password") }`, {}],
      [UPDATE_PROFILE, { input: { city: 'Attacker town' } }],
      [gql`mutation { acceptLegalAgreement(input: { deviceUuid: "d", documents: ["terms"] }) { id } }`, {}],
      [gql`mutation { logout(allSessions: true) }`, {}],
    ];
    for (const [document, variables] of attempts) {
      const result = await run(participant, document, variables);
      expect(result.code, JSON.stringify(result.errors)).toBe('FORBIDDEN');
    }
    // Nothing was changed: no password, no city.
    const seen = await run(apolloClient(gw.url, { 'x-api-key': promo.secretKey }), gql`query($id: ID) { user(id: $id) { hasPassword city } }`, { id: victim.id });
    expect(seen.data!.user).toEqual({ hasPassword: false, city: null });
    // Ending its own session is harmless, and works.
    expect((await run(participant, gql`mutation { logout }`)).data!.logout).toBe(true);
    expect((await run(participant, PARTICIPANT_ME)).errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'session_ended' });
  });

  it('refuses an email on the client-side path (FORBIDDEN naming it) and creates nothing', async () => {
    const forged = apolloClient(gw.url, { origin: SHOP });
    const result = await run(forged, AUTOLOGIN, { input: { appId: promo.appId, externalId: 'fresh-9', firstName: 'M', lastName: 'X', email: 'attacker@example.net' } });
    expect(result.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'email' });
    const found = await run(apolloClient(gw.url, { 'x-api-key': promo.secretKey }), gql`query { user(externalId: "fresh-9") { id } }`);
    expect(found.data!.user).toBeNull();
  });

  it('still gives the partner server (secret key) a full session with a refresh token', async () => {
    const promoPartner = apolloClient(gw.url, { 'x-api-key': promo.secretKey });
    const ticket = await run(promoPartner, AUTOLOGIN, { input: { externalId: 'victim-1', firstName: 'Vic', lastName: 'Tim' } });
    const auth = (await run(promoFrontend, EXCHANGE, { lt: ticket.data!.autologin.lt })).data!.exchangeLoginTicket;
    expect(auth.scope).toBe('openid profile email phone');
    expect(auth.refreshToken).toMatch(/^rt_/);
    const me = await run(bearer(auth.accessToken), FULL_ME);
    expect(me.errors).toEqual([]);
    expect(me.data!.me).toMatchObject({ id: victim.id, dob: '1980-02-03', address: '1 Main St' });
  });
});

const LOGIN_SCOPE = gql`
  mutation Login($input: LoginInput!) { login(input: $input) { accessToken scope } }
`;

describe('finding 4: a client gets only scopes its app allows (SPEC §2)', () => {
  it('refuses scopes the app does not allow with BAD_USER_INPUT on scope, and gives a normal subset', async () => {
    const address = email();
    await signUp(frontend, { email: address });
    const attack = await run(frontend, LOGIN_SCOPE, { input: { email: address, password: PASSWORD, scope: 'openid admin root:all' } });
    expect(attack.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scope' });
    expect(attack.errors[0].message).toContain('admin root:all');
    // Participant is internal: no client may ask for it.
    const participant = await run(frontend, LOGIN_SCOPE, { input: { email: address, password: PASSWORD, scope: 'participant' } });
    expect(participant.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scope' });

    const subset = await run(frontend, LOGIN_SCOPE, { input: { email: address, password: PASSWORD, scope: 'openid email' } });
    expect(subset.errors).toEqual([]);
    expect(subset.data!.login.scope).toBe('openid email');
    expect((jwt.decode(subset.data!.login.accessToken) as { scope: string }).scope).toBe('openid email');
    const all = await run(frontend, LOGIN_SCOPE, { input: { email: address, password: PASSWORD } });
    expect(all.data!.login.scope).toBe('openid profile email phone');
  });

  it('answers an over-long scope with BAD_USER_INPUT, never INTERNAL (on PostgreSQL too)', async () => {
    const address = email();
    await signUp(frontend, { email: address });
    for (const scope of [Array.from({ length: 20 }, (_, i) => `s${i}`.padEnd(64, 'x')).join(' '), 'openid '.repeat(200), 'x'.repeat(5000)]) {
      const result = await run(frontend, LOGIN_SCOPE, { input: { email: address, password: PASSWORD, scope } });
      expect(result.errors[0].extensions, scope.slice(0, 20)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scope' });
    }
  });

  it('takes a per-app allowedScopes, validated like the other settings', async () => {
    const custom = await gw.createApp('Loyalty', { allowedScopes: ['openid', 'loyalty:read'] });
    const client = apolloClient(gw.url, { 'x-api-key': custom.publishableKey });
    const address = email();
    await signUp(client, { email: address });
    expect((await run(client, LOGIN_SCOPE, { input: { email: address, password: PASSWORD, scope: 'loyalty:read' } })).data!.login.scope).toBe('loyalty:read');
    expect((await run(client, LOGIN_SCOPE, { input: { email: address, password: PASSWORD, scope: 'email' } })).errors[0].extensions!.field).toBe('scope');
    expect((await run(client, LOGIN_SCOPE, { input: { email: address, password: PASSWORD } })).data!.login.scope).toBe('openid loyalty:read');

    const em = gw.gateway.orm.em.fork();
    for (const allowedScopes of [[], ['participant'], ['bad scope'], 'openid', Array.from({ length: 5 }, (_, i) => `${i}`.padEnd(64, 'y'))]) {
      await expect(gw.gateway.services.apps.updateSettings(em, custom.appId, { allowedScopes })).rejects.toMatchObject({
        code: 'BAD_USER_INPUT',
        extensions: { field: 'settings.allowedScopes' },
      });
    }
  });
});

describe('finding 1: partner-key fields are written only with a secret key (SPEC §1)', () => {
  const ADMIN_AUTOLOGIN = AUTOLOGIN;

  it('refuses register with externalId from a publishable key (FORBIDDEN naming the field), so the partner’s autologin creates its own customer', async () => {
    const address = email();
    const attack = await run(frontend, REGISTER, { input: { email: address, password: PASSWORD, externalId: 'easy-777' } });
    expect(attack.errors[0]).toMatchObject({ extensions: { code: 'FORBIDDEN', field: 'externalId' } });
    expect(attack.errors[0].message).toContain('externalId');
    const typed = await run(frontend, REGISTER, { input: { email: email(), password: PASSWORD, externalIdType: 'crm' } });
    expect(typed.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'externalIdType' });
    // Nothing was created by the refused calls.
    expect((await run(partner, gql`query($e: String) { user(email: $e) { id } }`, { e: address })).data!.user).toBeNull();
    // The partner's server-side autologin then registers its real customer, not the attacker's account.
    const auto = await run(partner, ADMIN_AUTOLOGIN, { input: { externalId: 'easy-777', firstName: 'Real', lastName: 'Customer' } });
    expect(auto.data!.autologin.registered).toBe(true);
  });

  it('answers a taken external id the same FORBIDDEN as a free one: no enumeration', async () => {
    await run(partner, gql`mutation { createUser(input: { externalId: "taken-1" }) { id } }`);
    const taken = await run(frontend, REGISTER, { input: { email: email(), password: PASSWORD, externalId: 'taken-1' } });
    const free = await run(frontend, REGISTER, { input: { email: email(), password: PASSWORD, externalId: 'free-1' } });
    expect(taken.errors).toEqual(free.errors);
    expect(taken.errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'externalId' });
  });

  it('refuses updateProfile setting or clearing externalId with a bearer token, and leaves the account as it was', async () => {
    const created = await run(partner, CREATE_PARTNER_USER, { input: { email: email(), externalId: 'crm-42', externalIdType: 'crm' } });
    const address = created.data!.createUser.email;
    // The partner's contact proves their email and signs in; here through a reset link.
    const reset = await run(partner, gql`mutation($e: String) { requestPasswordReset(input: { email: $e, sendEmail: false }) { verificationString } }`, { e: address });
    await run(frontend, gql`mutation($t: String!) { resetPassword(input: { token: $t, password: "${PASSWORD}" }) }`, { t: reset.data!.requestPasswordReset.verificationString });
    const auth = (await run(frontend, gql`mutation($e: String) { login(input: { email: $e, password: "${PASSWORD}" }) { accessToken } }`, { e: address })).data!.login;
    const customer = bearer(auth.accessToken);
    for (const input of [{ externalId: 'easy-777' }, { externalId: null }, { externalIdType: 'other' }, { city: 'Paris', externalId: 'x' }]) {
      const result = await run(customer, UPDATE_PROFILE, { input });
      expect(result.errors[0]?.extensions, JSON.stringify(input)).toMatchObject({ code: 'FORBIDDEN', field: Object.keys(input).find((k) => k !== 'city') });
    }
    const seen = await run(partner, gql`query($id: ID) { user(id: $id) { externalId city identifiers { externalId externalIdType } } }`, { id: created.data!.createUser.id });
    expect(seen.data!.user).toEqual({ externalId: 'crm-42', city: null, identifiers: [{ externalId: 'crm-42', externalIdType: 'crm' }] });
    // Other profile fields stay the customer's own.
    expect((await run(customer, UPDATE_PROFILE, { input: { city: 'Paris' } })).data!.updateProfile.city).toBe('Paris');
  });

  it('lets a partner set externalId with its secret key: createUser, updateUser, importUsers and register', async () => {
    const created = await run(partner, CREATE_PARTNER_USER, { input: { email: email(), externalId: 'p-1', externalIdType: 'crm' } });
    expect(created.data!.createUser.externalId).toBe('p-1');
    const updated = await run(partner, gql`mutation($id: ID!) { updateUser(id: $id, input: { externalId: "p-2" }) { externalId } }`, { id: created.data!.createUser.id });
    expect(updated.data!.updateUser.externalId).toBe('p-2');
    const imported = await run(partner, gql`mutation { importUsers(input: [{ email: "imported-p3@example.com", externalId: "p-3" }]) { imported failed { code } } }`);
    expect(imported.data!.importUsers).toEqual({ imported: 1, failed: [] });
    const registered = await run(partner, REGISTER, { input: { email: email(), password: PASSWORD, externalId: 'p-4' } });
    expect(registered.errors).toEqual([]);
    const found = await run(partner, gql`query { user(externalId: "p-4") { id } }`);
    expect(found.data!.user.id).toBe(registered.data!.register.user.id);
    // A publishable register without those fields (or with them null) works as before.
    expect((await run(frontend, REGISTER, { input: { email: email(), password: PASSWORD, externalId: null } })).errors).toEqual([]);
  });
});

const CREATE_PARTNER_USER = gql`
  mutation($input: CreateUserInput!) { createUser(input: $input) { id email externalId } }
`;

describe('finding 14: a suspended account cannot complete resetPassword', () => {
  const RESET = gql`mutation($t: String!, $p: String!) { resetPassword(input: { token: $t, password: $p }) }`;
  const REQUEST = gql`mutation($id: ID) { requestPasswordReset(input: { userId: $id, sendEmail: false }) { verificationString } }`;

  it('answers ACCOUNT_SUSPENDED and leaves the token unused; the same token works once the account is reinstated', async () => {
    const auth = await signUp();
    const token = (await run(partner, REQUEST, { id: auth.user.id })).data!.requestPasswordReset.verificationString;
    // There is no suspendUser operation yet: suspend through the gateway's own storage.
    const em = gw.gateway.orm.em.fork();
    await em.nativeUpdate(User, { id: auth.user.id }, { suspended: true });
    const attempt = await run(frontend, RESET, { t: token, p: 'attacker new password' });
    expect(attempt.code).toBe('ACCOUNT_SUSPENDED');
    const row = await em.fork().findOneOrFail(SingleUseToken, { user: auth.user.id, purpose: 'password_reset' });
    expect(row.usedAt).toBeNull();
    const stored = await em.fork().findOneOrFail(User, { id: auth.user.id });
    expect(await gw.gateway.services.hasher.verify(stored.passwordHash!, PASSWORD)).toBe(true);

    await em.nativeUpdate(User, { id: auth.user.id }, { suspended: false });
    expect((await run(frontend, RESET, { t: token, p: 'a fresh new password' })).errors).toEqual([]);
    expect((await run(frontend, RESET, { t: token, p: 'a fresh new password' })).code).toBe('INVALID_RESET_TOKEN');
  });
});
