import { gql } from '@apollo/client/core';
import { GraphQLError } from 'graphql';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { AppError } from '../src/errors';
import { createLogger, safeError } from '../src/logger';
import { formatError } from '../src/graphql/format-error';
import { apolloClient, postRaw, run } from './helpers/client';
import { startGateway, type TestGateway } from './helpers/gateway';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.close());

describe('serving', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('gives every response a request id, keeping a sane one the client sent', async () => {
    const own = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(own.headers.get('x-request-id')).toBe('trace-123');
    const hostile = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('marks every GraphQL answer `cache-control: no-store`, a success and a refusal alike (they carry tokens and personal data)', async () => {
    const app = await gw.createApp();
    const post = (key: string) =>
      fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ query: '{ checkEmail(email: "ada@example.com") { exists } }' }) });
    const answered = await post(app.publishableKey);
    expect(((await answered.json()) as { data: unknown }).data).toEqual({ checkEmail: { exists: false } });
    expect(answered.headers.get('cache-control')).toBe('no-store');
    const refused = await post('pk_not_a_key');
    expect(((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(refused.headers.get('cache-control')).toBe('no-store');
  });

  it('answers an unknown operation field with BAD_USER_INPUT, not INTERNAL', async () => {
    const app = await gw.createApp();
    const result = await run(apolloClient(gw.url, { 'x-api-key': app.secretKey }), gql`query { nope }`);
    expect(result.code).toBe('BAD_USER_INPUT');
  });
});

// Issue 15, item 4: GET queries were refused by CSRF prevention with a message cut at 300 characters.
describe('GET /graphql queries', () => {
  let key: string;
  beforeAll(async () => {
    key = (await gw.createApp('GET')).publishableKey;
  });
  const get = (query: string, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}/graphql?query=${encodeURIComponent(query)}`, { headers: { 'x-api-key': key, ...headers } });
  const CHECK = '{ checkEmail(email: "ada@example.com") { exists } }';

  it('run with `apollo-require-preflight`, or with `content-type: application/json` (what Apollo Client sends)', async () => {
    const choices: Record<string, string>[] = [{ 'apollo-require-preflight': 'true' }, { 'content-type': 'application/json' }, { 'x-apollo-operation-name': 'Check' }];
    for (const headers of choices) {
      const response = await get(CHECK, headers);
      expect(response.status, JSON.stringify(headers)).toBe(200);
      expect(await response.json()).toEqual({ data: { checkEmail: { exists: false } } });
    }
  });

  it('without such a header are refused (CSRF prevention) with a message naming every header that would do, uncut', async () => {
    const response = await get(CHECK);
    expect(response.status).toBe(400);
    const { errors } = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(errors[0].message.length).toBeGreaterThan(300);
    expect(errors[0].message).toMatch(/'content-type' header/);
    expect(errors[0].message).toMatch(/x-apollo-operation-name, apollo-require-preflight$/);
  });

  it('refuse a mutation (405)', async () => {
    const response = await get('mutation { logout }', { 'apollo-require-preflight': 'true' });
    expect(response.status).toBe(405);
  });
});

// Issue 11, finding 10: a bad persisted-query extension answered INTERNAL and logged an error.
describe('automatic persisted queries', () => {
  let apq: TestGateway;
  let key: string;
  const logLines: { level: number; msg: string; requestId?: string }[] = [];
  beforeAll(async () => {
    const sink = new Writable({ write: (chunk, _enc, done) => (logLines.push(JSON.parse(String(chunk))), done()) });
    apq = await startGateway({}, { logger: createLogger('info', sink) });
    key = (await apq.createApp('APQ')).publishableKey;
  });
  afterAll(() => apq.close());

  const QUERY = 'query Check { checkEmail(email: "ada@example.com") { exists } }';
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const send = (body: Record<string, unknown>) => postRaw(apq.url, JSON.stringify(body), { 'x-api-key': key });
  const errorLines = () => logLines.filter((line) => line.level >= 50);

  it('refuses a sha256Hash that does not match the query with BAD_USER_INPUT, and logs no error', async () => {
    const response = await send({ query: QUERY, extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ something else }') } } });
    expect(response.status).toBe(400);
    expect(response.json.errors).toEqual([{ message: 'provided sha does not match query', extensions: { code: 'BAD_USER_INPUT' } }]);
    expect(errorLines()).toEqual([]);
  });

  it('refuses persisted-query version 2 with BAD_USER_INPUT, and logs no error', async () => {
    const response = await send({ query: QUERY, extensions: { persistedQuery: { version: 2, sha256Hash: sha256(QUERY) } } });
    expect(response.status).toBe(400);
    expect(response.json.errors).toEqual([{ message: 'Unsupported persisted query version', extensions: { code: 'BAD_USER_INPUT' } }]);
    expect(errorLines()).toEqual([]);
  });

  it('writes one access line per request: its id, method, path, status and time, and never the key it carried', async () => {
    const response = await fetch(`${apq.url}/graphql?from=access-line`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-request-id': 'access-line-1' },
      body: JSON.stringify({ query: QUERY }),
    });
    expect(response.status).toBe(200);
    await response.text();
    await new Promise((resolve) => setImmediate(resolve));
    const lines = logLines.filter((line) => line.requestId === 'access-line-1' && line.msg === 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, service: 'gatehouse', method: 'POST', path: '/graphql', status: 200, ms: expect.any(Number) });
    expect(JSON.stringify(lines[0])).not.toContain(key);
  });

  it('still serves the protocol: an unknown hash, then the query with its hash, then the hash alone', async () => {
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(QUERY) } };
    const unknown = await send({ extensions });
    // Apollo Client's persisted-query link retries with the full query on this message.
    expect(unknown.json.errors[0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'BAD_USER_INPUT' } });
    expect((await send({ query: QUERY, extensions })).json).toEqual({ data: { checkEmail: { exists: false } } });
    expect((await send({ extensions })).json).toEqual({ data: { checkEmail: { exists: false } } });
    expect(errorLines()).toEqual([]);
  });
});

describe('the error formatter (the one place errors are mapped)', () => {
  it('masks an unexpected error as INTERNAL with no detail', () => {
    const error = new GraphQLError('SQLITE_ERROR: no such table: user at /work/src/db.ts:12', { originalError: new Error('SQLITE_ERROR') });
    const out = formatError({ message: error.message, extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } }, error);
    expect(out).toEqual({ message: 'Internal error', extensions: { code: 'INTERNAL' } });
  });

  it('keeps a domain error code and its public extensions only', () => {
    const cause = new AppError('TOO_MANY_ATTEMPTS', 'Too many attempts', { retryAfter: 30, secret: 'x' });
    const error = new GraphQLError(cause.message, { originalError: cause });
    expect(formatError({ message: error.message }, error).extensions).toEqual({ code: 'TOO_MANY_ATTEMPTS', retryAfter: 30 });
  });
});

describe('logging', () => {
  it('never logs the SQL and bound values of a database error', () => {
    const driverError = Object.assign(new Error("insert into `user` (`email`, `password_hash`) values ('ada@example.com', '$argon2id$v=19$secret') - UNIQUE constraint failed"), { code: 'SQLITE_CONSTRAINT' });
    const logged = JSON.stringify(safeError(new UniqueConstraintViolationException(driverError)));
    expect(logged).not.toContain('ada@example.com');
    expect(logged).not.toContain('argon2id');
    expect(logged).toContain('UniqueConstraintViolationException');
    expect(JSON.stringify(safeError(new Error('plain failure')))).toContain('plain failure');
  });
});
