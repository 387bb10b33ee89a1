import { gql } from '@apollo/client/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloClient, run } from './helpers/client';
import { CHECK_EMAIL, CHECK_PHONE } from './helpers/documents';
import { startGateway, type TestGateway } from './helpers/gateway';

/** SPEC §3: per-IP limits per operation, configurable per app, counted per executed field. */
let gw: TestGateway;
let proxied: TestGateway;
beforeAll(async () => {
  [gw, proxied] = await Promise.all([startGateway(), startGateway({ trustProxy: true })]);
});
afterAll(() => Promise.all([gw.close(), proxied.close()]));


describe('per-IP call limits', () => {
  it('refuses the call past the app limit with TOO_MANY_ATTEMPTS and retryAfter, per operation and per app', async () => {
    const small = await gw.createApp('Small', { ipRateLimitPerMinute: 3 });
    const other = await gw.createApp('Other');
    const client = apolloClient(gw.url, { 'x-api-key': small.publishableKey });
    for (let i = 0; i < 3; i++) expect((await run(client, CHECK_EMAIL, { email: `a${i}@example.com` })).errors).toEqual([]);
    const refused = await run(client, CHECK_EMAIL, { email: 'a9@example.com' });
    expect(refused.code).toBe('TOO_MANY_ATTEMPTS');
    expect(refused.errors[0].extensions!.retryAfter).toBeGreaterThan(0);
    // another operation has its own budget, and so has another app
    expect((await run(client, CHECK_PHONE, { phoneNumber: '+35799478230' })).errors).toEqual([]);
    expect((await run(apolloClient(gw.url, { 'x-api-key': other.publishableKey }), CHECK_EMAIL, { email: 'a@example.com' })).errors).toEqual([]);
  });

  it('counts each aliased field of one request as a call', async () => {
    const small = await gw.createApp('Aliases', { ipRateLimitPerMinute: 3 });
    const client = apolloClient(gw.url, { 'x-api-key': small.publishableKey });
    const four = gql`
      query {
        a: checkEmail(email: "a@example.com") { exists }
        b: checkEmail(email: "b@example.com") { exists }
        c: checkEmail(email: "c@example.com") { exists }
        d: checkEmail(email: "d@example.com") { exists }
      }
    `;
    const result = await run(client, four);
    expect(result.errors.map((e) => e.extensions!.code)).toEqual(['TOO_MANY_ATTEMPTS']);
    expect(result.errors[0].path).toEqual(['d']);
  });

  it('reads X-Forwarded-For only behind a trusted proxy', async () => {
    const spoofer = await gw.createApp('Spoof', { ipRateLimitPerMinute: 1 });
    const spoofed = (ip: string) => apolloClient(gw.url, { 'x-api-key': spoofer.publishableKey, 'x-forwarded-for': ip });
    expect((await run(spoofed('10.0.0.1'), CHECK_EMAIL, { email: 'x@example.com' })).errors).toEqual([]);
    expect((await run(spoofed('10.0.0.2'), CHECK_EMAIL, { email: 'x@example.com' })).code).toBe('TOO_MANY_ATTEMPTS');

    const behind = await proxied.createApp('Behind LB', { ipRateLimitPerMinute: 1 });
    const via = (ip: string) => apolloClient(proxied.url, { 'x-api-key': behind.publishableKey, 'x-forwarded-for': `203.0.113.9, ${ip}` });
    expect((await run(via('198.51.100.1'), CHECK_EMAIL, { email: 'x@example.com' })).errors).toEqual([]);
    expect((await run(via('198.51.100.2'), CHECK_EMAIL, { email: 'x@example.com' })).errors).toEqual([]);
    expect((await run(via('198.51.100.1'), CHECK_EMAIL, { email: 'x@example.com' })).code).toBe('TOO_MANY_ATTEMPTS');
  });
});
