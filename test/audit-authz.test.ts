import { gql } from '@apollo/client/core';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
