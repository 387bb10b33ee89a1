import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMIT_RULES, LIMITS, queryLimitsRule } from '../src/graphql/limits';
import { buildServedSchema } from '../src/graphql/schema';
import { playgroundDocument } from '../src/server/playground';
import { postRaw } from './helpers/client';
import { startGateway, type TestGateway } from './helpers/gateway';

/** Query limits (SPEC §7): tokens, depth, aliases, repeats, selections, cost, introspection, batching and body size. */

let gw: TestGateway;
let key: string;
let publishableKey: string;
beforeAll(async () => {
  gw = await startGateway();
  const app = await gw.createApp('Limits');
  key = app.secretKey;
  publishableKey = app.publishableKey;
});
afterAll(() => gw.close());

const post = (query: string, variables: Record<string, unknown> = {}) => postRaw(gw.url, JSON.stringify({ query, variables }), { 'x-api-key': key });

function aliases(count: number): string {
  const fields = Array.from({ length: count }, (_, i) => `a${i}: checkEmail(email: "user${i}@example.com") { exists }`);
  return `query ManyAliases { ${fields.join('\n')} }`;
}

/** Every User field a partner can ask for, lists included: a big but legitimate node. */
const ALL_USER_FIELDS = `
  id externalId email emailVerified phoneNumber phoneVerified firstName lastName title gender dob
  address city state zip country dma locale optedIn optInEmail optInSms optInPush activated suspended
  testAccount accountStatus referrerCode registeredAt profilePhotoUrl createdAt updatedAt isSocial
  hasPassword legalAccepted proxyIds tierLevels
  phoneNumbers { phoneNumber phoneType preferenceFlags verifiedOwnership }
  identifiers { externalId externalIdType }`;

const page = (first: string, alias = 'page') =>
  `${alias}: users(filter: { email: "nobody@example.com" }, first: ${first}) { totalCount edges { cursor node { ${ALL_USER_FIELDS} } } }`;

describe('aliases', () => {
  it(`allows ${LIMITS.maxAliases} aliased fields`, async () => {
    const response = await post(aliases(LIMITS.maxAliases));
    expect(response.status).toBe(200);
    expect(response.json.errors).toBeUndefined();
    expect(Object.keys(response.json.data)).toHaveLength(LIMITS.maxAliases);
  });

  it(`refuses ${LIMITS.maxAliases + 1} with QUERY_TOO_COMPLEX and runs none of them`, async () => {
    const response = await post(aliases(LIMITS.maxAliases + 1));
    expect(response.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(response.json.errors[0].message).toMatch(/aliased fields/);
    expect(response.json.data).toBeUndefined();
  });

  it('counts aliases inside a fragment each time it is spread', async () => {
    const fragment = `fragment Ten on Query { ${Array.from({ length: 10 }, (_, i) => `f${i}: __typename`).join(' ')} }`;
    const response = await post(`query Spread { ...Ten ... on Query { ...Ten } ...Ten }${fragment}`);
    // 3 spreads x 10 aliases = 30: allowed; a fourth spread would not be.
    expect(response.json.errors).toBeUndefined();
    const four = await post(`query Spread { ...Ten ...Ten ... on Query { ...Ten ...Ten } }${fragment}`);
    expect(four.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });
});

describe('cost', () => {
  it('allows a full page of 100 users with every field', async () => {
    const response = await post(`query OnePage { ${page('100')} }`);
    expect(response.json.errors).toBeUndefined();
    expect(response.json.data.page.totalCount).toBe(0);
  });

  it('refuses two full pages in one operation', async () => {
    const response = await post(`query TwoPages { ${page('100', 'a')} ${page('100', 'b')} }`);
    expect(response.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(response.json.errors[0].message).toMatch(/smaller pages/);
  });

  it('lets `first` decide: the same two pages of 10 are fine', async () => {
    const response = await post(`query TwoSmallPages { ${page('10', 'a')} ${page('10', 'b')} }`);
    expect(response.json.errors).toBeUndefined();
  });

  it('counts a `first` from a variable at its worst (100), since variables are not known yet', async () => {
    const response = await post(`query TwoPages($n: Int!) { ${page('$n', 'a')} ${page('$n', 'b')} }`, { n: 1 });
    expect(response.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses an exponential fragment expansion quickly instead of walking it', async () => {
    // F0 spreads F1 twice, F1 spreads F2 twice, … : 2^30 fields once expanded.
    const levels = 30;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment F${i} on Query { __typename }` : `fragment F${i} on Query { ...F${i + 1} ... on Query { ...F${i + 1} } }`,
    );
    const response = await post(`query Bomb { ...F0 } ${fragments.join(' ')}`);
    expect(response.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('answers a fragment cycle with BAD_USER_INPUT (graphql-js rule), not a crash', async () => {
    const response = await post(`query Cycle { ...A } fragment A on Query { ...B } fragment B on Query { ...A }`);
    expect(response.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});

/**
 * Issue 11, finding 5: documents that cost the server CPU before anything refuses them, sent
 * with no key. Each is refused by a cheap limit, before graphql's own validation rules run.
 */
describe('hostile documents, sent with no key', () => {
  const anonymous = (query: string, variables: Record<string, unknown> = {}) => postRaw(gw.url, JSON.stringify({ query, variables }));
  const copies = (count: number, field = 'checkEmail(email: $e) { exists }') => `query Copies($e: String!) { ${Array.from({ length: count }, () => field).join(' ')} }`;

  it('refuses the 100 KB document of 2,756 checkEmail fields at the parser (token limit), with QUERY_TOO_COMPLEX', async () => {
    const query = copies(2_756);
    const body = JSON.stringify({ query, variables: { e: 'ada@example.com' } });
    expect(body.length).toBeGreaterThan(90_000);
    expect(body.length).toBeLessThan(gw.gateway.config.bodyLimitBytes);
    const response = await postRaw(gw.url, body, { accept: 'application/graphql-response+json' });
    expect(response.status).toBe(400);
    expect(response.json.errors).toHaveLength(1);
    expect(response.json.errors[0].extensions).toEqual({ code: 'QUERY_TOO_COMPLEX' });
    expect(response.json.errors[0].message).toMatch(new RegExp(`more than ${LIMITS.maxTokens} tokens`));
  });

  it(`refuses one field asked for more than ${LIMITS.maxRepeats} times (under the token limit), and graphql's rules never see it`, async () => {
    // An unknown field too: had graphql's rules run, they would report it as well.
    const response = await anonymous(copies(LIMITS.maxRepeats + 1).replace('{ exists }', '{ exists nope }'), { e: 'ada@example.com' });
    expect(response.json.errors).toHaveLength(1);
    expect(response.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(response.json.errors[0].message).toMatch(/more than 10 times in one selection set/);
    expect(response.json.data).toBeUndefined();
  });

  it('counts repeats across inline fragments and fragment spreads, as graphql merges them', async () => {
    const inline = `{ ${Array.from({ length: LIMITS.maxRepeats + 1 }, () => '... on Query { __typename }').join(' ')} }`;
    expect((await anonymous(inline)).json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    const spreads = `{ ${Array.from({ length: LIMITS.maxRepeats + 1 }, (_, i) => `...F${i}`).join(' ')} } ${Array.from({ length: LIMITS.maxRepeats + 1 }, (_, i) => `fragment F${i} on Query { __typename }`).join(' ')}`;
    expect((await anonymous(spreads)).json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses a fragment that doubles at every level inside introspection (2^29 selections) without walking it', async () => {
    // Introspection costs nothing in the cost limit and `ofType` adds no depth: only the
    // selection count stops this one.
    const levels = 30;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment T${i} on __Type { name }` : `fragment T${i} on __Type { ofType { ...T${i + 1} } ... on __Type { ofType { ...T${i + 1} } } }`,
    );
    const response = await anonymous(`{ __type(name: "User") { ...T0 } } ${fragments.join(' ')}`);
    expect(response.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(response.json.errors[0].message).toMatch(new RegExp(`more than ${LIMITS.maxSelections} selections`));
  });

  it('answers 33,000 nested braces with a limit, not a stack overflow', async () => {
    const response = await anonymous(`{ checkEmail(email: "a@example.com") ${'{a'.repeat(33_000)}`);
    expect(response.status).toBeLessThan(500);
    expect(['QUERY_TOO_COMPLEX', 'BAD_USER_INPUT']).toContain(response.json.errors[0].extensions.code);
    expect(response.text).not.toMatch(/stack|RangeError/i);
  });

  it(`still serves the legitimate path: checkEmail, ${LIMITS.maxRepeats} copies of a field, and a 100 KB importUsers with a secret key`, async () => {
    const check = await postRaw(gw.url, JSON.stringify({ query: 'query C($e: String!) { checkEmail(email: $e) { exists } }', variables: { e: 'ada@example.com' } }), { 'x-api-key': publishableKey });
    expect(check.json).toEqual({ data: { checkEmail: { exists: false } } });
    const ten = await postRaw(gw.url, JSON.stringify({ query: copies(LIMITS.maxRepeats), variables: { e: 'ada@example.com' } }), { 'x-api-key': publishableKey });
    expect(ten.json).toEqual({ data: { checkEmail: { exists: false } } });

    const rows = Array.from({ length: 900 }, (_, i) => ({ email: `imported-${i}@example.com`, firstName: 'Imported', lastName: `Customer number ${i}`, city: 'Nicosia' }));
    const query = 'mutation ImportUsers($input: [ImportUserInput!]!) { importUsers(input: $input) { imported failed { index code } } }';
    const body = JSON.stringify({ query, variables: { input: rows } });
    expect(body.length).toBeGreaterThan(90_000);
    expect(body.length).toBeLessThan(gw.gateway.config.bodyLimitBytes);
    const imported = await postRaw(gw.url, body, { 'x-api-key': key });
    expect(imported.json.errors).toBeUndefined();
    expect(imported.json.data.importUsers).toEqual({ imported: rows.length, failed: [] });
  }, 60_000);

  it('lets every real document through the parser and the limits: playground, introspection, client/operations', () => {
    const schema = buildServedSchema();
    const documents: Record<string, string> = {
      playground: playgroundDocument(),
      introspection: getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }),
    };
    for (const file of readdirSync('client/operations')) documents[file] = readFileSync(`client/operations/${file}`, 'utf8');
    for (const [name, document] of Object.entries(documents)) {
      expect(validate(schema, parse(document, { maxTokens: LIMITS.maxTokens }), [...specifiedRules, ...LIMIT_RULES]), name).toEqual([]);
    }
  });
});

describe('depth', () => {
  // The served schema has no recursive type yet (only introspection recurses, and that has
  // its own limit below), so depth is shown on a schema that can nest without end.
  const recursive = buildSchema(`type Query { node: Node } type Node { name: String child: Node }`);
  const nested = (levels: number) => `{ ${'node { '.repeat(1)}${'child { '.repeat(levels - 2)}name${' }'.repeat(levels - 1)} }`;
  const errorsFor = (query: string) => validate(recursive, parse(query), [queryLimitsRule]);

  it(`allows ${LIMITS.maxDepth} levels`, () => {
    expect(errorsFor(nested(LIMITS.maxDepth))).toEqual([]);
  });

  it(`refuses ${LIMITS.maxDepth + 1} levels with QUERY_TOO_COMPLEX, counting fragments where they are spread`, () => {
    const [error] = errorsFor(nested(LIMITS.maxDepth + 1));
    expect(error.message).toMatch(/levels deep/);
    expect((error.originalError as { code?: string }).code).toBe('QUERY_TOO_COMPLEX');
    const viaFragment = `{ node { ...Deep } } fragment Deep on Node { ${'child { '.repeat(LIMITS.maxDepth - 1)}name${' }'.repeat(LIMITS.maxDepth - 1)} }`;
    expect(errorsFor(viaFragment)).toHaveLength(1);
  });
});

describe('introspection', () => {
  it('is on by default, and the standard introspection query (what GraphiQL and codegen send) passes the limits', async () => {
    const response = await post(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, inputValueDeprecation: true }));
    expect(response.json.errors).toBeUndefined();
    expect(response.json.data.__schema.queryType.name).toBe('Query');
  });

  it('refuses introspection nested deeper than the standard query', async () => {
    const response = await post(`{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`);
    expect(response.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(response.json.errors[0].message).toMatch(/introspection/);
  });

  it('refuses more than one introspection field per operation', async () => {
    const response = await post(`{ a: __schema { types { name } } b: __schema { types { name } } }`);
    expect(response.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('INTROSPECTION=false refuses it (and ordinary queries still work)', async () => {
    const closed = await startGateway({ introspection: false });
    try {
      const app = await closed.createApp('Closed');
      const headers = { 'x-api-key': app.publishableKey };
      const refused = await postRaw(closed.url, JSON.stringify({ query: '{ __schema { queryType { name } } }' }), headers);
      expect(refused.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(refused.json.errors[0].message).toMatch(/introspection/i);
      expect(refused.json.data).toBeUndefined();
      const typeQuery = await postRaw(closed.url, JSON.stringify({ query: '{ __type(name: "User") { name } }' }), headers);
      expect(typeQuery.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      const ok = await postRaw(closed.url, JSON.stringify({ query: '{ checkEmail(email: "ada@example.com") { exists } }' }), headers);
      expect(ok.json).toEqual({ data: { checkEmail: { exists: false } } });
    } finally {
      await closed.close();
    }
  });

  // Issue 11, finding 9: "Did you mean checkEmail?" told a caller with no key the schema.
  const TYPO = '{ checkEmal(email: "ada@example.com") { exists } }';
  const TYPO_IN_VARIABLES = { query: 'mutation R($input: RegisterInput!) { register(input: $input) { user { id } } }', variables: { input: { emial: 'ada@example.com' } } };

  it('INTROSPECTION=false: no field suggestions, in validation or in variable coercion, even with no key', async () => {
    const closed = await startGateway({ introspection: false });
    try {
      const typo = await postRaw(closed.url, JSON.stringify({ query: TYPO }));
      expect(typo.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(typo.json.errors[0].message).toBe('Cannot query field "checkEmal" on type "Query".');
      const coercion = await postRaw(closed.url, JSON.stringify(TYPO_IN_VARIABLES));
      expect(coercion.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(coercion.json.errors[0].message).toMatch(/"emial" is not defined by type "RegisterInput"/);
      for (const answer of [typo, coercion]) expect(answer.text).not.toMatch(/Did you mean|checkEmail"|"email"/);
    } finally {
      await closed.close();
    }
  });

  it('with introspection on (the default), suggestions help the developer', async () => {
    const typo = await postRaw(gw.url, JSON.stringify({ query: TYPO }));
    expect(typo.json.errors[0].message).toMatch(/Did you mean "checkEmail"\?/);
    const coercion = await postRaw(gw.url, JSON.stringify(TYPO_IN_VARIABLES), { 'x-api-key': publishableKey });
    expect(coercion.json.errors[0].message).toMatch(/Did you mean "email"/);
  });
});

describe('request size and batching (HTTP front)', () => {
  it('accepts a body just under the limit', async () => {
    const response = await post('query Padded { __typename }', { pad: 'p'.repeat(gw.gateway.config.bodyLimitBytes - 200) });
    expect(response.status).toBe(200);
  });

  it('answers a body over the limit with 413 and a coded error', async () => {
    const response = await post('query Padded { __typename }', { pad: 'p'.repeat(gw.gateway.config.bodyLimitBytes) });
    expect(response.status).toBe(413);
    expect(response.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('answers an over-limit body sent without a Content-Length (chunked) with 413', async () => {
    const chunk = 'x'.repeat(16 * 1024);
    const big = JSON.stringify({ query: '{ __typename }', variables: { pad: chunk.repeat(8) } });
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < big.length; i += chunk.length) controller.enqueue(new TextEncoder().encode(big.slice(i, i + chunk.length)));
        controller.close();
      },
    });
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
  });

  /**
   * Issue 11, finding 11: a raw client that declares (or streams) far more than the limit and
   * keeps sending as fast as the socket takes it, for up to 5 s. What it learns: the answer,
   * whether the server hung up, and how much it managed to hand to the socket (a server that
   * read on took ~1 GB in 4 s here; one that hangs up, a few MB of socket buffers).
   */
  async function flood(head: string, chunked: boolean) {
    const socket = connect(Number(new URL(gw.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    let closed = false;
    socket.on('data', (data) => (answer += data));
    socket.on('close', () => (closed = true));
    socket.on('error', () => {}); // EPIPE / ECONNRESET once the server has hung up: expected
    socket.write(head);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const frame = chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
    let written = 0;
    const started = Date.now();
    while (!closed && Date.now() - started < 5_000) {
      if (!socket.write(frame)) await new Promise((resolve) => (socket.once('drain', resolve), setTimeout(resolve, 20)));
      written += frame.length;
    }
    socket.destroy();
    return { answer, closed, written };
  }
  const POST = 'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n';

  it('refuses a declared Content-Length of 1,000,000,000 with 413 and hangs up instead of reading on', async () => {
    const { answer, closed, written } = await flood(`${POST}Content-Length: 1000000000\r\n\r\n`, false);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('"code":"BAD_USER_INPUT"');
    expect(closed, 'the server closed the connection').toBe(true);
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });

  it('stops reading a chunked body as soon as it crosses the limit, and hangs up', async () => {
    const { answer, closed, written } = await flood(`${POST}Transfer-Encoding: chunked\r\n\r\n`, true);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(closed, 'the server closed the connection').toBe(true);
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });

  it('answers `Expect: 100-continue` with a too-large length by 413 before any of the body is sent, and a fitting one by 100 Continue', async () => {
    const ask = async (length: number, body = '') => {
      const socket = connect(Number(new URL(gw.url).port), '127.0.0.1');
      let answer = '';
      socket.on('data', (data) => {
        answer += data;
        if (answer.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && body) socket.write(body);
      });
      socket.on('error', () => {});
      socket.write(`${POST}x-api-key: ${key}\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`);
      await new Promise((resolve) => socket.once('close', resolve));
      return answer;
    };
    expect(await ask(1_000_000_000)).toMatch(/^HTTP\/1\.1 413 /);
    const body = JSON.stringify({ query: '{ __typename }' });
    const fitting = await ask(Buffer.byteLength(body), body);
    expect(fitting).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(fitting).toContain('{"data":{"__typename":"Query"}}');
  });

  it('refuses a batch (JSON array), even of one operation', async () => {
    const response = await postRaw(gw.url, JSON.stringify([{ query: '{ __typename }' }]), { 'x-api-key': key });
    expect(response.status).toBe(400);
    expect(response.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(response.json.errors[0].message).toMatch(/Batched/);
  });
});

describe('input hygiene', () => {
  it('refuses a NUL character in variables with BAD_USER_INPUT naming the field, before any resolver', async () => {
    const response = await post('mutation C($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { email: 'nul@example.com', phoneNumbers: [{ phoneNumber: '+35799478230', phoneType: 'mobile\u0000' }] },
    });
    expect(response.status).toBe(200); // a request error, answered as application/json (GraphQL over HTTP)
    expect(response.json.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'phoneNumbers.0.phoneType' });
    const lookup = await post('query U($email: String) { user(email: $email) { id } }', { email: 'nul@example.com' });
    expect(lookup.json.data.user).toBeNull();
  });

  it('refuses an escaped NUL in a string literal', async () => {
    const response = await post('{ checkEmail(email: "a\\u0000@example.com") { exists } }');
    expect(response.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(response.json.errors[0].message).toMatch(/NUL/);
  });

  it('answers a subscription (this API has none) with BAD_USER_INPUT, not INTERNAL', async () => {
    const response = await post('subscription { checkEmail(email: "a@example.com") { exists } }');
    expect(response.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(response.json.errors[0].message).toMatch(/no subscription/);
  });
});
