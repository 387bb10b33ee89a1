import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, CHROMIUM_PATH, launchBrowser } from './helpers/browser';
import { apolloClient, run, type Client } from './helpers/client';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';
import { logInAndConsent, startOidcProvider, type TestOidcProvider } from './helpers/oidc-provider';
import { EXCHANGE_LOGIN_TICKET, ME_IDENTITIES, START_SOCIAL_SIGN_IN, USER_IDENTITIES } from './helpers/social-documents';

/**
 * The web redirect flow of social sign-in (SPEC §4.9): startSocialSignIn → the provider's
 * login (a real oidc-provider with a confidential web client, authorization code + PKCE,
 * answering by form_post) → GET|POST /oauth/callback/:provider → the brand's page with
 * `?lt=` → exchangeLoginTicket → me. Once in headless Chromium, end to end through a brand
 * page this test serves; the refusals over plain HTTP.
 */

let gw: TestGateway;
let op: TestOidcProvider;
let brand: Server;
let brandUrl: string;
let app: TestApp;
let frontend: Client;
let seq = 0;
const tag = () => `${++seq}${Date.now().toString(36)}`;

/** The brand's two pages: /start begins the flow (PKCE verifier kept in sessionStorage), /signed-in finishes it. */
function brandPages(gatewayUrl: string, publishableKey: string) {
  const script = (body: string) => `<!doctype html><html><head><meta charset="utf-8"></head><body><pre id="result"></pre><script>
const GATEWAY = ${JSON.stringify(gatewayUrl)}, KEY = ${JSON.stringify(publishableKey)};
const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
async function gql(query, variables, headers = { 'x-api-key': KEY }) {
  const response = await fetch(GATEWAY + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return response.json();
}
(async () => { ${body} })().catch((e) => { document.getElementById('result').textContent = 'failed: ' + e; });
</script></body></html>`;
  return {
    start: script(`
      const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
      sessionStorage.setItem('verifier', verifier);
      const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
      const started = await gql('mutation($i: StartSocialSignInInput!) { startSocialSignIn(input: $i) { authorizationUrl } }',
        { i: { provider: 'test', redirectUri: location.origin + '/signed-in', codeChallenge: challenge } });
      location.assign(started.data.startSocialSignIn.authorizationUrl);`),
    signedIn: script(`
      const lt = new URLSearchParams(location.search).get('lt');
      const exchanged = await gql('mutation($lt: String!, $v: String) { exchangeLoginTicket(lt: $lt, codeVerifier: $v) { accessToken } }', { lt, v: sessionStorage.getItem('verifier') });
      const me = await gql('{ me { id email isSocial identities { provider subject } } }', {}, { authorization: 'Bearer ' + exchanged.data.exchangeLoginTicket.accessToken });
      document.getElementById('result').textContent = JSON.stringify(me.data.me);`),
  };
}

beforeAll(async () => {
  gw = await startGateway();
  op = await startOidcProvider({ webRedirectUris: [`${gw.url}/oauth/callback/test`] });
  brand = createServer();
  await new Promise<void>((resolve) => brand.listen(0, '127.0.0.1', resolve));
  brandUrl = `http://127.0.0.1:${(brand.address() as AddressInfo).port}`;
  app = await gw.createApp('Web shop', {
    allowedOrigins: [brandUrl],
    socialProviders: [
      { id: 'test', kind: 'OIDC', issuer: op.issuer, clientIds: [op.webClientId], clientSecret: op.webClientSecret, redirectUris: [`${brandUrl}/signed-in`, 'com.example.shop:/after-login'] },
    ],
  });
  const pages = brandPages(gw.url, app.publishableKey);
  brand.on('request', (req, res) => {
    const path = new URL(req.url!, brandUrl).pathname;
    const html = path === '/start' ? pages.start : path === '/signed-in' ? pages.signedIn : null;
    res.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html ?? 'not found');
  });
  frontend = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
});
afterAll(async () => {
  await gw?.close();
  await op?.close();
  await new Promise((resolve) => (brand ? brand.close(resolve) : resolve(undefined)));
});

describe.skipIf(!hasChromium)(`in a browser (${CHROMIUM_PATH})`, () => {
  it('start → provider login → callback → lt → exchangeLoginTicket → me', async () => {
    const account = `web-${tag()}`;
    const email = `${account}@example.com`;
    op.accounts.set(account, { email, email_verified: true, given_name: 'Webb' });
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${brandUrl}/start`);
      // The provider's development login form (any login is that account), then consent.
      await page.waitForURL((url) => url.origin === op.issuer && url.pathname.startsWith('/interaction/'), { timeout: 15_000 });
      await page.fill('input[name=login]', account);
      await page.fill('input[name=password]', 'anything');
      await page.click('button[type=submit]');
      await page.waitForSelector('input[name=prompt][value=consent]', { state: 'attached', timeout: 15_000 });
      await page.click('button[type=submit]');
      await page.waitForURL(`${brandUrl}/signed-in?lt=*`, { timeout: 15_000 });
      await page.waitForSelector('#result:not(:empty)', { timeout: 15_000 });
      const shown = await page.textContent('#result');
      expect(JSON.parse(shown!)).toMatchObject({ email, isSocial: true, identities: [{ provider: 'test', subject: account }] });
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('the redirect flow over HTTP', () => {
  async function startAndLogIn(account: string, options: { codeChallenge?: string; redirectUri?: string } = {}) {
    const started = await run(frontend, START_SOCIAL_SIGN_IN, { input: { provider: 'test', redirectUri: options.redirectUri ?? `${brandUrl}/signed-in`, codeChallenge: options.codeChallenge } });
    expect(started.errors).toEqual([]);
    const url = new URL(started.data!.startSocialSignIn.authorizationUrl);
    expect(url.origin).toBe(op.issuer);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ client_id: op.webClientId, response_type: 'code', code_challenge_method: 'S256', response_mode: 'form_post', redirect_uri: `${gw.url}/oauth/callback/test` });
    return new URL(await logInAndConsent(url.toString(), account));
  }

  it('needs the page’s code verifier when it started with a code challenge', async () => {
    const account = `pkce-${tag()}`;
    op.accounts.set(account, { email: `${account}@example.com`, email_verified: true });
    const verifier = randomBytes(32).toString('base64url');
    const back = await startAndLogIn(account, { codeChallenge: createHash('sha256').update(verifier).digest('base64url') });
    expect(back.origin + back.pathname).toBe(`${brandUrl}/signed-in`);
    const lt = back.searchParams.get('lt')!;
    expect((await run(frontend, EXCHANGE_LOGIN_TICKET, { lt })).code).toBe('INVALID_LOGIN_TICKET');

    const again = await startAndLogIn(account, { codeChallenge: createHash('sha256').update(verifier).digest('base64url') });
    const exchanged = await run(frontend, EXCHANGE_LOGIN_TICKET, { lt: again.searchParams.get('lt'), codeVerifier: verifier });
    expect(exchanged.errors).toEqual([]);
    const me = await run(apolloClient(gw.url, { authorization: `Bearer ${exchanged.data!.exchangeLoginTicket.accessToken}` }), ME_IDENTITIES);
    expect(me.data!.me.identities).toEqual([expect.objectContaining({ provider: 'test', subject: account })]);
  });

  it('ends on a custom-scheme page of a mobile app, and a state is good once', async () => {
    const account = `app-${tag()}`;
    op.accounts.set(account, { email: `${account}@example.com`, email_verified: true });
    const started = await run(frontend, START_SOCIAL_SIGN_IN, { input: { provider: 'test', redirectUri: 'com.example.shop:/after-login' } });
    const authorizationUrl = started.data!.startSocialSignIn.authorizationUrl;
    const back = await logInAndConsent(authorizationUrl, account);
    expect(back).toMatch(/^com\.example\.shop:\/after-login\?lt=lt_/);
    const state = new URL(authorizationUrl).searchParams.get('state')!;
    const replay = await fetch(`${gw.url}/oauth/callback/test?state=${state}&code=whatever`, { redirect: 'manual' });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toMatch(/expired or was already completed/);
    const user = await run(apolloClient(gw.url, { 'x-api-key': app.secretKey }), USER_IDENTITIES, { email: `${account}@example.com` });
    expect(user.data!.user.identities).toHaveLength(1);
  });

  it('matches redirect URIs exactly and refuses a forged state', async () => {
    for (const redirectUri of [`${brandUrl}/signed-in/`, `${brandUrl}/signed-in?x=1`, `${brandUrl.replace('127.0.0.1', 'localhost')}/signed-in`, 'https://evil.example/signed-in']) {
      const refused = await run(frontend, START_SOCIAL_SIGN_IN, { input: { provider: 'test', redirectUri } });
      expect([refused.code, refused.errors[0].extensions!.field], redirectUri).toEqual(['BAD_USER_INPUT', 'redirectUri']);
    }
    const forged = await fetch(`${gw.url}/oauth/callback/test?state=forged&code=x`, { redirect: 'manual' });
    expect(forged.status).toBe(400);
    expect(forged.headers.get('cache-control')).toBe('no-store');
  });

  it('sends a customer who cancels at the provider back with an error', async () => {
    const started = await run(frontend, START_SOCIAL_SIGN_IN, { input: { provider: 'test', redirectUri: `${brandUrl}/signed-in` } });
    const state = new URL(started.data!.startSocialSignIn.authorizationUrl).searchParams.get('state')!;
    const cancelled = await fetch(`${gw.url}/oauth/callback/test`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `error=access_denied&state=${state}` });
    expect(cancelled.status).toBe(303);
    const location = new URL(cancelled.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${brandUrl}/signed-in`);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('lt')).toBeNull();
  });
});
