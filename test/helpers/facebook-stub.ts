import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stub of the two Graph API calls signInWithAccessToken makes: `GET /debug_token` (which
 * must carry the app token `app_id|app_secret`) and `GET /me` (which must carry the right
 * `appsecret_proof`). Tokens are whatever the test puts in `tokens`. `calls` records each
 * request's path and whether its app credential or proof checked out.
 */
export interface FacebookToken {
  userId: string;
  appId: string;
  isValid?: boolean;
  expiresAt?: number;
  email?: string;
  firstName?: string;
  lastName?: string;
}

export interface FacebookStub {
  url: string;
  tokens: Map<string, FacebookToken>;
  calls: { path: string; proofOk?: boolean; appTokenOk?: boolean }[];
  close(): Promise<void>;
}

export async function startFacebookStub(app: { appId: string; appSecret: string }): Promise<FacebookStub> {
  const stub: FacebookStub = { url: '', tokens: new Map(), calls: [], close: async () => {} };
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://stub');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/debug_token') {
      const appTokenOk = url.searchParams.get('access_token') === `${app.appId}|${app.appSecret}`;
      stub.calls.push({ path: '/debug_token', appTokenOk });
      if (!appTokenOk) return send(400, { error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 } });
      const token = stub.tokens.get(url.searchParams.get('input_token') ?? '');
      if (!token) return send(200, { data: { is_valid: false, error: { code: 190, message: 'Invalid OAuth access token.' } } });
      return send(200, { data: { app_id: token.appId, type: 'USER', application: 'Shop', is_valid: token.isValid ?? true, user_id: token.userId, expires_at: token.expiresAt ?? Math.floor(Date.now() / 1000) + 3600, scopes: ['email', 'public_profile'] } });
    }
    if (url.pathname === '/me') {
      const accessToken = url.searchParams.get('access_token') ?? '';
      const proofOk = url.searchParams.get('appsecret_proof') === createHmac('sha256', app.appSecret).update(accessToken).digest('hex');
      stub.calls.push({ path: '/me', proofOk });
      const token = stub.tokens.get(accessToken);
      if (!proofOk || !token) return send(400, { error: { message: 'Invalid appsecret_proof provided in the API argument', type: 'GraphMethodException', code: 100 } });
      return send(200, { id: token.userId, email: token.email, first_name: token.firstName, last_name: token.lastName });
    }
    send(404, { error: { message: 'unknown path' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return stub;
}
