import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { GraphQLHandler, RouteHandler } from './http';
import { assetSecurityHeaders, htmlSecurityHeaders } from './security-headers';

/**
 * The GraphQL playground (SPEC §7): GraphiQL served by the gateway itself on `GET /graphql`
 * to a browser, with everything it loads coming from our own origin, so it works offline and
 * under a strict CSP.
 *
 * GraphiQL 4 is the last major that ships a self-contained UMD build (graphiql.min.js, with
 * its own graphql-js and CodeMirror inside); React 18 is the last that ships UMD files. So
 * there is no bundler step: the files are read from node_modules and served as they are.
 */

export interface PlaygroundExample {
  /** The operation name; unique across the list. */
  name: string;
  /** Shown as a comment above the operation: what it does and which credential it needs. */
  description: string;
  /** One named operation. */
  document: string;
  /**
   * Its variables. The page has one variables editor shared by all examples, so a variable
   * name used by two examples must have the same value in both (checked when this loads).
   */
  variables?: Record<string, unknown>;
}

/**
 * The example operations the page opens with. Add new flows here (register, login, …);
 * test/playground.test.ts validates every entry against the served schema.
 */
export const PLAYGROUND_EXAMPLES: PlaygroundExample[] = [
  {
    name: 'CheckEmail',
    description: 'Does this email have an account? Any API key (pk_… or sk_…).',
    document: `query CheckEmail($email: String!) {
  checkEmail(email: $email) {
    exists
    isSocial
  }
}`,
    variables: { email: 'ada@example.com' },
  },
  {
    name: 'CheckPhoneNumber',
    description: 'Does this phone number have an account? Any API key. National numbers need countryCode.',
    document: `query CheckPhoneNumber(
  $phoneNumber: String!
  $countryCode: String
) {
  checkPhoneNumber(
    phoneNumber: $phoneNumber
    countryCode: $countryCode
  ) {
    exists
  }
}`,
    variables: { phoneNumber: '99478230', countryCode: 'CY' },
  },
  {
    name: 'FindUserByEmail',
    description: 'Look a customer up (null when not found). Secret key (sk_…) only.',
    document: `query FindUserByEmail($email: String!) {
  user(email: $email) {
    id
    externalId
    email
    firstName
    lastName
    referrerCode
    createdAt
  }
}`,
    variables: { email: 'ada@example.com' },
  },
  {
    name: 'CreateUser',
    description: 'Create a back-office contact (no password needed). Secret key (sk_…) only.',
    document: `mutation CreateUser(
  $newUser: CreateUserInput!
) {
  createUser(input: $newUser) {
    id
    email
    firstName
    lastName
    referrerCode
  }
}`,
    variables: { newUser: { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', externalId: 'crm-1815' } },
  },
  {
    name: 'Register',
    description: 'Sign up with email + password and get tokens. Any API key. (Leave out password to get a code instead.)',
    document: `mutation Register($signUp: RegisterInput!) {
  register(input: $signUp) {
    user { id email referrerCode }
    auth { accessToken refreshToken expiresIn }
    verification {
      channel
      destination
      expiresIn
    }
  }
}`,
    variables: { signUp: { email: 'grace@example.com', password: 'a long passphrase', firstName: 'Grace', lastName: 'Hopper' } },
  },
  {
    name: 'Login',
    description: 'Email or phone + password. Any API key. Put the accessToken in an Authorization: Bearer header for Me.',
    document: `mutation Login($credentials: LoginInput!) {
  login(input: $credentials) {
    accessToken
    refreshToken
    expiresIn
    user { id email }
  }
}`,
    variables: { credentials: { email: 'grace@example.com', password: 'a long passphrase' } },
  },
  {
    name: 'Refresh',
    description: 'Trade a refresh token for a new pair (the old one stops working). Any API key.',
    document: `mutation Refresh($refreshToken: String!) {
  refresh(refreshToken: $refreshToken) {
    accessToken
    refreshToken
  }
}`,
    variables: { refreshToken: 'rt_paste-one-here' },
  },
  {
    name: 'Me',
    description: 'The signed-in customer. Bearer token: add "Authorization": "Bearer <accessToken>" to Headers (the key may stay: Me acts with the token).',
    document: `query Me {
  me {
    id
    email
    emailVerified
    firstName
    lastName
    legalAccepted
  }
}`,
  },
  {
    name: 'RequestOtp',
    description: 'Send a one-time code (REGISTER, LOGIN or VERIFY). Any API key. In development the code lands in `npx gatehouse outbox`.',
    document: `mutation RequestOtp(
  $codeRequest: RequestOtpInput!
) {
  requestOtp(input: $codeRequest) {
    sent
    channel
    destination
    expiresIn
    resendAfter
  }
}`,
    variables: { codeRequest: { email: 'grace@example.com', purpose: 'LOGIN' } },
  },
  {
    name: 'ValidateOtp',
    description: 'Sign in with the code. Any API key.',
    document: `mutation ValidateOtp(
  $codeCheck: ValidateOtpInput!
) {
  validateOtp(input: $codeCheck) {
    accessToken
    refreshToken
    user { id emailVerified }
  }
}`,
    variables: { codeCheck: { email: 'grace@example.com', code: '123456' } },
  },
  {
    name: 'RequestPasswordReset',
    description: 'Start a reset. With a secret key and sendEmail: false the answer carries the link for your own mailer.',
    document: `mutation RequestPasswordReset(
  $reset: RequestPasswordResetInput!
) {
  requestPasswordReset(input: $reset) {
    sent
    verificationString
    resetLink
    expiresIn
  }
}`,
    variables: { reset: { email: 'grace@example.com', sendEmail: false } },
  },
  {
    name: 'ResetPassword',
    description: 'Set a new password with the verification string (every session ends). Any API key.',
    document: `mutation ResetPassword(
  $newPassword: ResetPasswordInput!
) {
  resetPassword(input: $newPassword)
}`,
    variables: { newPassword: { token: 'prt_paste-one-here', password: 'another long passphrase' } },
  },
  {
    name: 'Autologin',
    description: 'Find or create a customer by your id and get a one-time login ticket. Secret key (sk_…).',
    document: `mutation Autologin($promo: AutologinInput!) {
  autologin(input: $promo) {
    status
    registered
    lt
    loginUrl
  }
}`,
    variables: { promo: { externalId: 'crm-1906', firstName: 'Grace', lastName: 'Hopper' } },
  },
  {
    name: 'ExchangeLoginTicket',
    description: 'Turn an autologin ticket into a session. Any API key.',
    document: `mutation ExchangeLoginTicket($lt: String!) {
  exchangeLoginTicket(lt: $lt) {
    accessToken
    registrationRequired
  }
}`,
    variables: { lt: 'lt_paste-one-here' },
  },
  {
    name: 'SocialNonce',
    description: 'A single-use nonce to give the provider\'s SDK before signInWithIdToken (the app needs socialProviders). Any API key.',
    document: `mutation SocialNonce($provider: String!) {
  socialNonce(provider: $provider) {
    nonce
    expiresAt
  }
}`,
    variables: { provider: 'google' },
  },
  {
    name: 'SignInWithIdToken',
    description: 'Sign in or up with the provider\'s ID token and the nonce it carries. Any API key.',
    document: `mutation SignInWithIdToken(
  $social: SignInWithIdTokenInput!
) {
  signInWithIdToken(input: $social) {
    accessToken
    user {
      id
      email
      isSocial
      identities { provider subject }
    }
  }
}`,
    variables: { social: { provider: 'google', idToken: 'eyJ…paste-one-here', nonce: 'from-socialNonce' } },
  },
  {
    name: 'AcceptLegalAgreement',
    description: 'Record that the signed-in customer accepted documents. Bearer token.',
    document: `mutation AcceptLegalAgreement(
  $legal: LegalAgreementInput!
) {
  acceptLegalAgreement(input: $legal) {
    id
    acceptedAt
  }
}`,
    variables: { legal: { deviceUuid: 'device-1', documents: ['terms-v1'] } },
  },
];

/** The asset files the page loads, by the path they are served under. */
const ASSETS: Record<string, { pkg: string; file: string; type: string }> = {
  '/playground/react.production.min.js': { pkg: 'react', file: 'umd/react.production.min.js', type: 'text/javascript' },
  '/playground/react-dom.production.min.js': { pkg: 'react-dom', file: 'umd/react-dom.production.min.js', type: 'text/javascript' },
  '/playground/graphiql.min.js': { pkg: 'graphiql', file: 'graphiql.min.js', type: 'text/javascript' },
  '/playground/graphiql.min.css': { pkg: 'graphiql', file: 'graphiql.min.css', type: 'text/css' },
};
const APP_JS = '/playground/app.js';

// Relative URLs (no leading slash) so the page also works behind a proxy that mounts the
// gateway under a path prefix. The only inline code is style rules (allowed by the CSP).
// GraphiQL caps its dropdowns at 400 px, so the run menu (one entry per operation in the
// editor) hid a third of the examples in a 1280×800 window; it may use the height the
// window has below the button (Radix measures it) and scrolls only past that, and its entries
// are a little tighter than GraphiQL's (2 px margins, 4 px padding) so that every example fits.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse playground</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="playground/graphiql.min.css">
<style>
html, body, #graphiql { height: 100%; margin: 0; }
.graphiql-dropdown-content { max-height: calc(var(--radix-dropdown-menu-content-available-height) - 10px); }
.graphiql-dropdown-item { margin: 2px var(--px-4); padding: var(--px-4) var(--px-8); }
</style>
</head>
<body>
<div id="graphiql">Loading the playground…</div>
<noscript>The playground needs JavaScript. The API itself answers POST /graphql.</noscript>
<script src="playground/react.production.min.js"></script>
<script src="playground/react-dom.production.min.js"></script>
<script src="playground/graphiql.min.js"></script>
<script src="playground/app.js"></script>
</body>
</html>
`;

/**
 * The widest line of the default document, in characters. GraphiQL opens with the editor
 * and the results side by side, so in a 1280 px window the editor shows about 50 columns
 * (test/playground.test.ts measures it in Chromium); 48 leaves room for a wider font.
 * Descriptions are wrapped to it, the how-to and the example documents are written to it.
 */
export const PLAYGROUND_COLUMNS = 48;

/** The one document the query editor opens with: a how-to, then every example. */
export function playgroundDocument(examples: PlaygroundExample[] = PLAYGROUND_EXAMPLES): string {
  const intro = [
    '# Gatehouse playground',
    '#',
    '# 1. Open "Headers" below and paste your key:',
    '#      { "x-api-key": "pk_…" }',
    '#    (a secret sk_… key for partner-server',
    '#    operations such as user and createUser).',
    '# 2. Press the run button (or Ctrl-Enter inside',
    '#    an operation) and pick an operation.',
    '# Example values are in "Variables" below.',
  ].join('\n');
  return [intro, ...examples.map((e) => `${commentLines(`${e.name}: ${e.description}`)}\n${e.document.trim()}`)].join('\n\n') + '\n';
}

/** `text` as `# ` comment lines of at most PLAYGROUND_COLUMNS characters, broken between words. */
function commentLines(text: string): string {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '#' && line.length + 1 + word.length > PLAYGROUND_COLUMNS) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/** The variables of all examples in one object; a name shared with different values is a bug. */
export function playgroundVariables(examples: PlaygroundExample[] = PLAYGROUND_EXAMPLES): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const example of examples) {
    for (const [name, value] of Object.entries(example.variables ?? {})) {
      if (name in merged && JSON.stringify(merged[name]) !== JSON.stringify(value)) {
        throw new Error(`playground example ${example.name} gives $${name} a different value than an earlier example; rename it`);
      }
      merged[name] = value;
    }
  }
  return merged;
}

/** The page's start-up script, with the examples baked in (so the HTML needs no inline script). */
function appScript(): string {
  const config = {
    query: playgroundDocument(),
    variables: JSON.stringify(playgroundVariables(), null, 2),
    headers: JSON.stringify({ 'x-api-key': '' }, null, 2),
  };
  return `'use strict';
(function () {
  var config = ${JSON.stringify(config)};
  // A shared link such as /graphql?query=...&variables=... opens with that operation instead.
  var params = new URLSearchParams(window.location.search);
  var shared = params.get('query');
  var tab = shared
    ? { query: shared, variables: params.get('variables') || '', headers: config.headers }
    : { query: config.query, variables: config.variables, headers: config.headers };
  var props = {
    // The page is served by the endpoint itself, so the endpoint is this page's own path.
    fetcher: GraphiQL.createFetcher({ url: window.location.origin + window.location.pathname }),
    defaultTabs: [tab],
    // GraphiQL 4 seeds the variables editor from this prop (or storage), not from defaultTabs.
    variables: tab.variables,
    defaultHeaders: config.headers,
    defaultEditorToolsVisibility: 'headers',
    // Keys typed into the headers editor stay in this tab's memory, not in localStorage.
    shouldPersistHeaders: false,
  };
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, props));
})();
`;
}

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
}

const loaded = new Map<string, Asset>();
const requireHere = createRequire(__filename);

/** Reads (once per process, on first use) and gzips an asset; the files do not change while we run. */
function asset(path: string): Asset | undefined {
  const cached = loaded.get(path);
  if (cached) return cached;
  let type: string;
  let body: Buffer;
  if (path === APP_JS) {
    type = 'text/javascript';
    body = Buffer.from(appScript());
  } else {
    const spec = ASSETS[path];
    if (!spec) return undefined;
    // Through package.json: graphiql's `exports` map does not expose its UMD files.
    const dir = dirname(requireHere.resolve(`${spec.pkg}/package.json`));
    type = spec.type;
    body = readFileSync(join(dir, spec.file));
  }
  const entry = { type: `${type}; charset=utf-8`, body, gzip: gzipSync(body) };
  loaded.set(path, entry);
  return entry;
}

function send(req: IncomingMessage, res: ServerResponse, type: string, body: Buffer, gzip: Buffer | null, headers: Record<string, string>): void {
  const useGzip = gzip !== null && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const payload = useGzip ? gzip : body;
  res.writeHead(200, {
    ...headers,
    'content-type': type,
    'content-length': payload.length,
    vary: 'accept, accept-encoding',
    ...(useGzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(payload);
}

/** A browser navigating to /graphql asks for HTML; Apollo Client, curl and fetch do not. */
export function wantsPlayground(req: IncomingMessage): boolean {
  return req.method === 'GET' && String(req.headers.accept ?? '').includes('text/html');
}

/** Wraps the GraphQL handler: browsers get the page, everything else (GraphQL GET too) goes on. */
export function withPlayground(graphql: GraphQLHandler): GraphQLHandler {
  const page = Buffer.from(PAGE);
  return async (req, res, info, body) => {
    if (!wantsPlayground(req)) return graphql(req, res, info, body);
    send(req, res, 'text/html; charset=utf-8', page, null, htmlSecurityHeaders());
  };
}

/** The routes serving the page's scripts and styles (for app.ts's route table). */
export function playgroundRoutes(): Record<string, RouteHandler> {
  const routes: Record<string, RouteHandler> = {};
  for (const path of [...Object.keys(ASSETS), APP_JS]) {
    routes[`GET ${path}`] = (req, res) => {
      const found = asset(path)!;
      send(req, res, found.type, found.body, found.gzip, assetSecurityHeaders());
    };
  }
  return routes;
}
