/**
 * What a login costs around its password hash, in one process: `createGateway` on a fresh
 * SQLite file, 400 accounts, then `LoginService.login` with `hasher.verify` stubbed to true
 * (and no rehash), 5 × 1000 logins, 20 in flight; CPU µs per login, median. Runs a compiled
 * build, so the same script measures a --before-build tree and the current one:
 *
 *   npx tsx bench/login-cost.ts node_modules/.cache/gatehouse-bench            # after `npm run bench` built it
 *   npx tsx bench/login-cost.ts node_modules/.cache/gatehouse-before-<rev>/build
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

interface LoginServices {
  apps: { createApp(em: unknown, name: string): Promise<{ publishable: { key: string } }>; authenticateKey(em: unknown, key: string): Promise<{ app: unknown; settings: unknown }> };
  registration: { register(em: unknown, tenant: unknown, input: unknown, meta: unknown): Promise<unknown> };
  login: { login(em: unknown, tenant: unknown, input: unknown, meta: unknown): Promise<unknown> };
  hasher: { verify: (...args: unknown[]) => Promise<boolean>; needsRehash: (...args: unknown[]) => boolean };
}

async function main(): Promise<void> {
  const build = resolve(process.argv[2] ?? 'node_modules/.cache/gatehouse-bench');
  const { createGateway } = (await import(join(build, 'src/app.js'))) as { createGateway(config: unknown): Promise<{ services: LoginServices; orm: { em: { fork(): unknown } }; close(): Promise<void> }> };
  const { loadConfig } = (await import(join(build, 'src/config/index.js'))) as { loadConfig(env: object, overrides: object): unknown };
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-login-cost-'));
  const gateway = await createGateway(loadConfig({}, { host: '127.0.0.1', port: 0, databaseUrl: `sqlite:${join(dir, 'db.sqlite')}`, logLevel: 'silent' }));
  try {
    const s = gateway.services;
    const made = await s.apps.createApp(gateway.orm.em.fork(), 'Login cost');
    const owner = await s.apps.authenticateKey(gateway.orm.em.fork(), made.publishable.key);
    const tenant = { app: owner.app, settings: owner.settings };
    const accounts = 400;
    for (let i = 0; i < accounts; i++) {
      await s.registration.register(gateway.orm.em.fork(), tenant, { email: `u${i}@example.com`, password: 'correct horse battery' }, { ip: '127.0.0.1' });
    }
    s.hasher.verify = async () => true;
    s.hasher.needsRehash = () => false;
    // A distinct client IP per login, so the per-IP limiter never refuses one.
    const once = (i: number) => s.login.login(gateway.orm.em.fork(), tenant, { email: `u${i % accounts}@example.com`, password: 'correct horse battery' }, { ip: `10.0.${(i >> 8) & 255}.${i & 255}` });
    for (let i = 0; i < 500; i++) await once(i);
    const perLogin: number[] = [];
    for (let round = 0; round < 5; round++) {
      const start = process.cpuUsage();
      for (let i = 0; i < 1000; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => once(round * 1000 + i + k)));
      const used = process.cpuUsage(start);
      perLogin.push((used.user + used.system) / 1000);
    }
    perLogin.sort((a, b) => a - b);
    console.log(`${build}: a login without its hash costs ${perLogin[2].toFixed(0)} CPU µs (median; ${perLogin.map((v) => v.toFixed(0)).join(' / ')})`);
  } finally {
    await gateway.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
