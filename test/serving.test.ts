import { gql } from '@apollo/client/core';
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { AppError } from '../src/errors';
import { safeError } from '../src/logger';
import { formatError } from '../src/graphql/format-error';
import { apolloClient, run } from './helpers/client';
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

  it('answers an unknown operation field with BAD_USER_INPUT, not INTERNAL', async () => {
    const app = await gw.createApp();
    const result = await run(apolloClient(gw.url, { 'x-api-key': app.secretKey }), gql`query { nope }`);
    expect(result.code).toBe('BAD_USER_INPUT');
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
