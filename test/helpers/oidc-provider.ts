import { exportJWK, generateKeyPair } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real OpenID Provider on loopback: panva's `oidc-provider`, the certified implementation,
 * with its development interactions (they sign anyone in: POST `prompt=login` with a login,
 * then `prompt=consent`). Two clients:
 * - `native-app`: a native client with `response_types: ['id_token']` (implicit): the test
 *   drives the authorization request with plain fetch and a cookie jar and takes the ID token
 *   out of the redirect's fragment, as a mobile SDK would;
 * - `web-app`: a confidential web client for the authorization code flow with PKCE, whose
 *   redirect URI is the gateway's `/oauth/callback/:provider`.
 * Accounts are whatever the test puts in `accounts` (their claims go into the ID token).
 */

export interface ProviderAccount {
  email?: string;
  email_verified?: boolean;
  given_name?: string;
  family_name?: string;
}

export interface TestOidcProvider {
  issuer: string;
  accounts: Map<string, ProviderAccount>;
  nativeClientId: string;
  nativeRedirectUri: string;
  webClientId: string;
  webClientSecret: string;
  /** A fresh ID token for `accountId` from the implicit flow of the native client. */
  idToken(accountId: string, options?: { nonce?: string; clientId?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startOidcProvider(options: { webRedirectUris: string[] }): Promise<TestOidcProvider> {
  const { default: Provider } = await import('oidc-provider');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signing = { ...(await exportJWK(privateKey)), kid: 'op-key-1', alg: 'RS256', use: 'sig' };
  const accounts = new Map<string, ProviderAccount>();
  const nativeRedirectUri = 'com.example.shop:/oauth2redirect';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'native-app',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        response_types: ['id_token'],
        grant_types: ['implicit'],
        redirect_uris: [nativeRedirectUri],
      },
      {
        client_id: 'other-app',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        response_types: ['id_token'],
        grant_types: ['implicit'],
        redirect_uris: [nativeRedirectUri],
      },
      {
        client_id: 'web-app',
        client_secret: 'web-app-secret-of-the-test-provider',
        token_endpoint_auth_method: 'client_secret_basic',
        response_types: ['code'],
        grant_types: ['authorization_code'],
        redirect_uris: options.webRedirectUris,
      },
    ],
    jwks: { keys: [signing] },
    cookies: { keys: ['test-provider-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name'] },
    // Put the scope's claims in the ID token of the code flow too, as Google does.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, IdToken: 3600, AuthorizationCode: 60 },
    pkce: { required: () => true },
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub, ...(accounts.get(sub) ?? {}) }),
    }),
  });
  provider.on('server_error', (_ctx: unknown, error: Error) => console.error('test OpenID provider:', error));
  server.on('request', provider.callback());

  const provided: TestOidcProvider = {
    issuer,
    accounts,
    nativeClientId: 'native-app',
    nativeRedirectUri,
    webClientId: 'web-app',
    webClientSecret: 'web-app-secret-of-the-test-provider',
    async idToken(accountId, { nonce, clientId = 'native-app' } = {}) {
      const authorize = new URL('/auth', issuer);
      authorize.search = new URLSearchParams({
        client_id: clientId,
        response_type: 'id_token',
        scope: 'openid email profile',
        redirect_uri: nativeRedirectUri,
        ...(nonce ? { nonce } : {}),
      }).toString();
      const final = await logInAndConsent(authorize.toString(), accountId);
      const fragment = new URLSearchParams(new URL(final).hash.slice(1));
      const token = fragment.get('id_token');
      if (!token) throw new Error(`the test provider returned no id_token: ${final}`);
      return token;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return provided;
}

/**
 * Follows an authorization request through the provider's development interactions: the
 * login form (any login is accepted as the account id), then the consent form, up to the
 * redirect back to the client, whose URL it returns.
 */
export async function logInAndConsent(authorizationUrl: string, accountId: string): Promise<string> {
  const jar = new Map<string, string>();
  let url = authorizationUrl;
  let method = 'GET';
  let body: string | undefined;
  for (let hop = 0; hop < 20; hop++) {
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body,
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    if (response.status >= 300 && response.status < 400) {
      const next = new URL(response.headers.get('location')!, url).toString();
      if (!next.startsWith(new URL(authorizationUrl).origin)) return next;
      url = next;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`test provider answered ${response.status}: ${html.slice(0, 300)}`);
    if (html.includes('<title>Submitting Callback</title>')) {
      // response_mode=form_post: the page a browser would auto-submit to the client's redirect URI.
      const target = /<form method="post" action="([^"]+)"/.exec(html)![1].replace(/&amp;/g, '&');
      const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)].map((m) => [m[1], unescapeHtml(m[2])]));
      const posted = await fetch(target, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
      return posted.headers.get('location') ?? `${posted.status} ${await posted.text()}`;
    }
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!prompt || !action) throw new Error(`unexpected page from the test provider: ${html.slice(0, 300)}`);
    url = new URL(action.replace(/&amp;/g, '&'), url).toString();
    method = 'POST';
    body = new URLSearchParams(prompt === 'login' ? { prompt, login: accountId, password: 'anything' } : { prompt }).toString();
  }
  throw new Error('too many redirects at the test provider');
}

function unescapeHtml(value: string): string {
  return value.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code))).replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
