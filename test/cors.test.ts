import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';

/** CORS per app's allowed origins (SPEC §7). */

const SHOP = 'https://shop.example.com';
const LATER = 'https://later.example.com';
const EVIL = 'https://evil.example.net';

let gw: TestGateway;
let app: TestApp;
beforeAll(async () => {
  gw = await startGateway();
  app = await gw.createApp('Shop', { allowedOrigins: [SHOP, 'http://localhost:3000'] });
  await gw.createApp('No origins');
});
afterAll(() => gw.close());

function preflight(origin: string, requestHeaders = 'content-type, x-api-key') {
  return fetch(`${gw.url}/graphql`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders },
  });
}

describe('preflight (OPTIONS /graphql)', () => {
  it('allows an origin that an app lists, with the headers clients send', async () => {
    const response = await preflight(SHOP);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(response.headers.get('access-control-allow-headers')).toBe('content-type, x-api-key');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/origin/i);
    expect(response.headers.get('vary')).toMatch(/access-control-request-headers/i);
  });

  // Issue 15, item 4: tracing and Apollo's client headers were refused in preflight.
  it('answers the headers a browser client asks for: tracing, Apollo client name and version, CSRF header', async () => {
    const asked = 'authorization, content-type, traceparent, tracestate, baggage, apollographql-client-name, apollographql-client-version, apollo-require-preflight, x-apollo-operation-name, sentry-trace';
    const response = await preflight(SHOP, asked);
    expect(response.headers.get('access-control-allow-headers')).toBe(asked);
  });

  it('allows the usual headers when a preflight names none, or names them in a form that is not a header list', async () => {
    for (const asked of ['', 'x-a, <script>', 'a;b']) {
      const allowed = (await preflight(SHOP, asked)).headers.get('access-control-allow-headers')!.split(/,\s*/);
      expect(allowed, asked).toEqual(expect.arrayContaining(['content-type', 'x-api-key', 'authorization', 'x-request-id', 'apollo-require-preflight']));
      expect(allowed).not.toContain('<script>');
    }
  });

  it('still gives a foreign origin nothing, whatever headers it asks for', async () => {
    const response = await preflight(EVIL, 'traceparent, authorization');
    expect(response.headers.get('access-control-allow-headers')).toBeNull();
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('matches origins exactly as browsers send them (scheme, host and port)', async () => {
    expect((await preflight('http://localhost:3000')).headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    for (const near of ['http://shop.example.com', 'https://shop.example.com:8443', 'https://evil-shop.example.com', 'https://shop.example.com.evil.net', 'null']) {
      expect((await preflight(near)).headers.get('access-control-allow-origin'), near).toBeNull();
    }
  });

  it('gives a foreign origin no CORS headers at all', async () => {
    const response = await preflight(EVIL);
    expect(response.status).toBe(204);
    for (const [name] of response.headers) expect(name).not.toMatch(/^access-control-/);
  });

  it('picks up an origin given to an app while the gateway runs', async () => {
    expect((await preflight(LATER)).headers.get('access-control-allow-origin')).toBeNull();
    await gw.gateway.services.apps.updateSettings(gw.gateway.orm.em.fork(), app.appId, { allowedOrigins: [SHOP, LATER] });
    // A miss re-reads the apps at most once a second; move the clock instead of sleeping.
    gw.clock.advance(2_000);
    expect((await preflight(LATER)).headers.get('access-control-allow-origin')).toBe(LATER);
  });
});

describe('discovery and keys (public documents)', () => {
  it('let any page read /.well-known/openid-configuration and /.well-known/jwks.json (CORS *)', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/jwks.json']) {
      const response = await fetch(`${gw.url}${path}`, { headers: { origin: EVIL } });
      expect(response.status, path).toBe(200);
      expect(response.headers.get('access-control-allow-origin'), path).toBe('*');
    }
    const jwks = (await (await fetch(`${gw.url}/.well-known/jwks.json`, { headers: { origin: SHOP } })).json()) as { keys: unknown[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
  });
});

describe('actual requests', () => {
  it('lets an allowed origin read the answer and the request id', async () => {
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { origin: SHOP, 'content-type': 'application/json', 'x-api-key': app.publishableKey },
      body: JSON.stringify({ query: '{ checkEmail(email: "ada@example.com") { exists } }' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(response.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(await response.json()).toEqual({ data: { checkEmail: { exists: false } } });
  });

  it('keeps the CORS headers on refusals before GraphQL runs (413), so the page can see why', async () => {
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { origin: SHOP, 'content-type': 'application/json', 'x-api-key': app.publishableKey },
      body: JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(200_000) } }),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
  });

  it('answers a foreign origin (the server cannot stop it) but without CORS headers, so its browser hides the answer', async () => {
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { origin: EVIL, 'content-type': 'application/json', 'x-api-key': app.publishableKey },
      body: JSON.stringify({ query: '{ checkEmail(email: "ada@example.com") { exists } }' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets an allowed origin run a GET query with the header that passes CSRF prevention', async () => {
    const query = encodeURIComponent('{ checkEmail(email: "ada@example.com") { exists } }');
    const response = await fetch(`${gw.url}/graphql?query=${query}`, {
      headers: { origin: SHOP, 'x-api-key': app.publishableKey, 'apollo-require-preflight': 'true' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(await response.json()).toEqual({ data: { checkEmail: { exists: false } } });
  });

  it('adds nothing for server-to-server calls without an Origin', async () => {
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': app.secretKey },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
