import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../src/server/metrics';
import { apolloClient, postRaw, run } from './helpers/client';
import { CHECK_EMAIL, USER } from './helpers/documents';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';
import { REQUEST_OTP } from './helpers/otp-documents';
import { LOGIN, REGISTER } from './helpers/session-documents';

/** GET /metrics in Prometheus text (SPEC §7). */

let gw: TestGateway;
let app: TestApp;
beforeAll(async () => {
  gw = await startGateway();
  app = await gw.createApp('Metrics');
});
afterAll(() => gw.close());

async function scrape(target: TestGateway = gw): Promise<string> {
  const response = await fetch(`${target.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one sample line, e.g. value(text, 'x_total{code="A"}'); undefined when absent. */
function value(text: string, sample: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

describe('GET /metrics', () => {
  it('counts requests and latency per operation name', async () => {
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    for (let i = 0; i < 3; i++) await run(client, CHECK_EMAIL, { email: `m${i}@example.com` });
    const text = await scrape();
    expect(value(text, 'gatehouse_graphql_requests_total{operation="CheckEmail"}')).toBe(3);
    expect(value(text, 'gatehouse_graphql_request_duration_seconds_count{operation="CheckEmail"}')).toBe(3);
    expect(value(text, 'gatehouse_graphql_request_duration_seconds_bucket{le="+Inf",operation="CheckEmail"}')).toBe(3);
    expect(text).toContain('# TYPE gatehouse_graphql_request_duration_seconds histogram');
  });

  it('counts errors by extensions.code', async () => {
    const before = await scrape();
    const anonymous = apolloClient(gw.url);
    await run(anonymous, CHECK_EMAIL, { email: 'x@example.com' }); // no key: UNAUTHENTICATED
    await run(apolloClient(gw.url, { 'x-api-key': app.publishableKey }), USER, { email: 'x@example.com' }); // wrong kind: FORBIDDEN
    await postRaw(gw.url, JSON.stringify({ query: '{ nope }' }), { 'x-api-key': app.secretKey }); // BAD_USER_INPUT
    const after = await scrape();
    const delta = (code: string) =>
      (value(after, `gatehouse_graphql_errors_total{code="${code}"}`) ?? 0) - (value(before, `gatehouse_graphql_errors_total{code="${code}"}`) ?? 0);
    expect(delta('UNAUTHENTICATED')).toBe(1);
    expect(delta('FORBIDDEN')).toBe(1);
    expect(delta('BAD_USER_INPUT')).toBe(1);
    expect(delta('INTERNAL')).toBe(0);
  });

  it('labels a document that does not parse apart from named operations', async () => {
    await postRaw(gw.url, JSON.stringify({ query: '{ checkEmail(' }), { 'x-api-key': app.secretKey });
    expect(value(await scrape(), 'gatehouse_graphql_requests_total{operation="(invalid)"}')).toBeGreaterThanOrEqual(1);
  });

  it('counts sign-ups, logins by result and codes sent by channel from the real flows, and process metrics', async () => {
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const before = await scrape();
    const delta = (text: string, sample: string) => (value(text, sample) ?? 0) - (value(before, sample) ?? 0);
    const email = `metrics-${Date.now()}@example.com`;
    expect((await run(client, REGISTER, { input: { email, password: 'metrics password' } })).errors).toEqual([]);
    await run(client, LOGIN, { input: { email, password: 'metrics password' } });
    await run(client, LOGIN, { input: { email, password: 'wrong password' } });
    // the development outbox is this gateway's email channel (its worker prints the code)
    expect((await run(client, REQUEST_OTP, { input: { email: `code-${email}`, purpose: 'REGISTER' } })).errors).toEqual([]);
    await gw.delivered(); // codes count once the courier delivered them
    const text = await scrape();
    expect(delta(text, 'gatehouse_signups_total')).toBe(1);
    expect(delta(text, 'gatehouse_logins_total{result="success"}')).toBe(1);
    expect(delta(text, 'gatehouse_logins_total{result="INVALID_CREDENTIALS"}')).toBe(1);
    expect(delta(text, 'gatehouse_codes_sent_total{channel="email"}')).toBe(1);
    expect(text).toContain('gatehouse_process_resident_memory_bytes');
    expect(text).toContain('gatehouse_nodejs_eventloop_lag_seconds');
  });

  it('keeps one registry per gateway: a second gateway in this process starts from zero', async () => {
    const other = await startGateway();
    try {
      const text = await scrape(other);
      expect(value(text, 'gatehouse_graphql_requests_total{operation="CheckEmail"}')).toBeUndefined();
      expect(value(text, 'gatehouse_signups_total')).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('never shows keys, emails or variables', async () => {
    const text = await scrape();
    expect(text).not.toContain(app.secretKey);
    expect(text).not.toContain(app.publishableKey);
    expect(text).not.toMatch(/@example\.com/);
  });
});

describe('operation names as labels', () => {
  it('bounds them: odd names and names past the first 200 share one label', () => {
    const metrics = createMetrics();
    expect(metrics.operationLabel(undefined)).toBe('(anonymous)');
    expect(metrics.operationLabel('CheckEmail')).toBe('CheckEmail');
    expect(metrics.operationLabel('not a name"} 1\nfake_metric')).toBe('(other)');
    expect(metrics.operationLabel('x'.repeat(65))).toBe('(other)');
    for (let i = 0; i < 300; i++) metrics.operationLabel(`Op${i}`);
    expect(metrics.operationLabel('Op150')).toBe('Op150');
    expect(metrics.operationLabel('Op250')).toBe('(other)');
    expect(metrics.operationLabel('CheckEmail')).toBe('CheckEmail');
  });
});
