import { auditServer } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postRaw } from './helpers/client';
import { startGateway, type TestGateway } from './helpers/gateway';

/**
 * The GraphQL-over-HTTP spec's audit suite (SPEC §7; issue 15, item 5), run by graphql-http
 * against the live server, and the status codes of request errors it checks.
 */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.close());

/**
 * The audits left as notices (MAYs), each explained in README ("GraphQL over HTTP"): GET
 * requests that send no header forcing a preflight, which Apollo's CSRF prevention refuses.
 */
const EXPECTED_NOTICES = ['5A70', 'D6D5', '6A70'];

describe('graphql-http server audits', () => {
  it('pass with no failure and no warning; the only notices are the GETs CSRF prevention refuses', async () => {
    const results = await auditServer({ url: `${gw.url}/graphql` });
    expect(results.length).toBeGreaterThan(50);
    const report = (status: string) => results.filter((r) => r.status === status).map((r) => `${r.id} ${r.name}${'reason' in r ? `: ${r.reason}` : ''}`);
    expect(report('error')).toEqual([]);
    expect(report('warn')).toEqual([]);
    expect(results.filter((r) => r.status === 'notice').map((r) => r.id).sort()).toEqual([...EXPECTED_NOTICES].sort());
  }, 60_000);
});

describe('request errors: 200 as application/json, 4xx as application/graphql-response+json', () => {
  const CASES = [
    { name: 'a document that does not parse', body: { query: '{' } },
    { name: 'a document that does not validate', body: { query: '{ nope }' } },
    { name: 'variables that do not fit', body: { query: 'query C($e: String!) { checkEmail(email: $e) { exists } }', variables: { e: 42 } } },
    { name: 'a document over a limit', body: { query: `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }` } },
  ];
  for (const { name, body } of CASES) {
    it(`answers ${name} by media type`, async () => {
      const json = await postRaw(gw.url, JSON.stringify(body), { accept: 'application/json' });
      expect(json.status).toBe(200);
      expect(json.json.errors.length).toBeGreaterThan(0);
      const graphqlResponse = await postRaw(gw.url, JSON.stringify(body), { accept: 'application/graphql-response+json' });
      expect(graphqlResponse.status).toBe(400);
      expect(graphqlResponse.json.errors[0].extensions.code).toBe(json.json.errors[0].extensions.code);
    });
  }

  it('keeps 4xx for a request that is not a GraphQL request at all, whatever the media type', async () => {
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      expect((await postRaw(gw.url, '{"query": ', { accept })).status, accept).toBe(400);
      expect((await postRaw(gw.url, JSON.stringify({ variables: {} }), { accept })).status, accept).toBe(400);
    }
  });
});
