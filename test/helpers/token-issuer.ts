import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A minimal OpenID issuer for the cases a real provider will not produce on demand (an
 * expired token, another audience, a Microsoft-style claim set, a key rotation): the test
 * mints ID tokens with jose under key pairs this server publishes as its JWKS over real HTTP,
 * with a discovery document. `rotate()` replaces the published key, as a provider rotating its
 * keys does; `jwksFetches` counts how often the gateway read the key set.
 */
export interface TokenIssuer {
  issuer: string;
  jwksUri: string;
  jwksFetches: number;
  mint(claims: JWTPayload, options?: { alg?: string; expiresIn?: number; issuedAt?: number; key?: 'current' | 'unpublished' }): Promise<string>;
  rotate(): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

export async function startTokenIssuer(): Promise<TokenIssuer> {
  const prefix = randomBytes(4).toString('hex');
  let generation = 1;
  let current = await newKey(`${prefix}-1`);
  const unpublished = await newKey('never-published');
  const server = createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      return send({
        issuer: issuer.issuer,
        jwks_uri: issuer.jwksUri,
        authorization_endpoint: `${issuer.issuer}/authorize`,
        token_endpoint: `${issuer.issuer}/token`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
      });
    }
    if (req.url === '/jwks') {
      issuer.jwksFetches++;
      return send({ keys: [current.publicJwk] });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer: TokenIssuer = {
    issuer: base,
    jwksUri: `${base}/jwks`,
    jwksFetches: 0,
    async mint(claims, { alg = 'ES256', expiresIn = 600, issuedAt, key = 'current' } = {}) {
      const iat = issuedAt ?? Math.floor(Date.now() / 1000);
      const signer = key === 'current' ? current : unpublished;
      const jwt = new SignJWT({ iss: base, iat, exp: iat + expiresIn, ...claims }).setProtectedHeader({ alg, kid: signer.kid, typ: 'JWT' });
      if (alg.startsWith('HS')) return jwt.sign(new TextEncoder().encode('a shared secret nobody should accept'));
      return jwt.sign(signer.privateKey);
    },
    async rotate() {
      current = await newKey(`${prefix}-${++generation}`);
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return issuer;
}
