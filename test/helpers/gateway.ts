import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, type Gateway } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { ShiftedClock } from '../../src/identity/clock';

export interface TestApp {
  appId: string;
  publishableKey: string;
  secretKey: string;
  publishableKeyId: string;
  secretKeyId: string;
}

export interface TestGateway {
  url: string;
  gateway: Gateway;
  clock: ShiftedClock;
  createApp(name?: string, settings?: Record<string, unknown>): Promise<TestApp>;
  close(): Promise<void>;
}

/**
 * A real gateway on a free loopback port with its own temporary SQLite file (or, when
 * GATEHOUSE_TEST_DATABASE_URL is set, the PostgreSQL the scale-out run gives it).
 */
export async function startGateway(overrides: Partial<Config> = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const config = loadConfig({}, {
    host: '127.0.0.1',
    port: 0,
    databaseUrl: `sqlite:${join(dir, 'gatehouse.db')}`,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  });
  const clock = new ShiftedClock();
  const gateway = await createGateway(config, { clock });
  const url = await gateway.listen();
  let counter = 0;
  return {
    url,
    gateway,
    clock,
    async createApp(name = `App ${++counter}`, settings = {}) {
      const { app, publishable, secret } = await gateway.services.apps.createApp(gateway.orm.em.fork(), name, settings);
      return { appId: app.id, publishableKey: publishable.key, secretKey: secret.key, publishableKeyId: publishable.id, secretKeyId: secret.id };
    },
    async close() {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
