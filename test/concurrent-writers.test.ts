import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloClient, run } from './helpers/client';
import { gatehouse } from './helpers/cli';
import { startGateway, type TestApp, type TestGateway } from './helpers/gateway';
import { REFRESH, REGISTER } from './helpers/session-documents';

/**
 * SPEC §8: a concurrent writer (the CLI, another process) makes a request wait, never fail.
 * The real `gatehouse app update` writes the gateway's database in a loop while 50 clients
 * refresh their sessions (each refresh reads its token, then writes the rotation). With
 * deferred SQLite transactions a refresh that read before the CLI's commit could not upgrade
 * to a writer and answered INTERNAL at once; with BEGIN IMMEDIATE it waits (busy_timeout).
 */
describe('writers that wait (SPEC §8)', () => {
  let gw: TestGateway;
  let app: TestApp;
  const CLIENTS = 50;

  beforeAll(async () => {
    gw = await startGateway();
    // Thousands of calls from one address: the per-IP call limit is not what this test is about.
    app = await gw.createApp('Busy shop', { ipRateLimitPerMinute: 1_000_000 });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('answers every refresh of 50 clients while the CLI updates the app in a loop: 0 INTERNAL', { timeout: 240_000 }, async () => {
    const client = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
    const tokens: string[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const registered = await run(client, REGISTER, { input: { email: `writer${i}@example.com`, password: `writer password ${i}` } });
      expect(registered.errors).toEqual([]);
      tokens.push(registered.data!.register.auth.refreshToken);
    }

    let cliRunning = true;
    const codes = new Map<string, number>();
    let refreshes = 0;
    let duringCli = 0;
    const refreshing = tokens.map(async (first) => {
      let token = first;
      const own = apolloClient(gw.url, { 'x-api-key': app.publishableKey });
      while (cliRunning) {
        const result = await run(own, REFRESH, { refreshToken: token });
        refreshes++;
        if (cliRunning) duringCli++;
        if (result.code) codes.set(result.code, (codes.get(result.code) ?? 0) + 1);
        else token = result.data!.refresh.refreshToken;
      }
    });

    const cli: number[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const updated = await gatehouse(gw.gateway.config.databaseUrl, 'app', 'update', app.appId, '--settings', JSON.stringify({ brandName: `Busy shop ${i}`, ipRateLimitPerMinute: 1_000_000 }));
        cli.push(updated.code);
        expect(updated.stderr).toBe('');
      }
    } finally {
      cliRunning = false;
      await Promise.all(refreshing);
    }

    console.log(`${cli.length} CLI updates, ${duringCli} refreshes while they ran, answers other than success: ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(cli.every((code) => code === 0)).toBe(true);
    expect(duringCli).toBeGreaterThan(200);
    expect(Object.fromEntries(codes)).toEqual({});
    expect(refreshes).toBeGreaterThan(0);
  });
});
