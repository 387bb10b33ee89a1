import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatehouse as runCli } from './helpers/cli';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
const databaseUrl = `sqlite:${join(dir, 'cli.db')}`;

const gatehouse = (...args: string[]) => runCli(databaseUrl, ...args);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the gatehouse CLI (SPEC §7)', () => {
  // Each step spawns the real CLI (tsx compiles on start): generous timeouts for a busy CI machine.
  it('migrates, creates an app printing exactly {appId, publishableKey, secretKey}, updates it and manages keys', { timeout: 120_000 }, async () => {
    expect((await gatehouse('migrate')).code).toBe(0);

    const created = await gatehouse('app', 'create', '--name', 'Shop', '--origin', 'https://shop.example.com', '--json');
    expect(created.code).toBe(0);
    const json = JSON.parse(created.stdout);
    expect(Object.keys(json)).toEqual(['appId', 'publishableKey', 'secretKey']);
    expect(json.publishableKey).toMatch(/^pk_[A-Za-z0-9_-]{32}$/);
    expect(json.secretKey).toMatch(/^sk_[A-Za-z0-9_-]{32}$/);

    const updated = await gatehouse('app', 'update', json.appId, '--settings', '{"passwordPolicy":"STRICT","otpLength":8}');
    expect(updated.code).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ passwordPolicy: 'STRICT', otpLength: 8, allowedOrigins: ['https://shop.example.com'] });

    const key = await gatehouse('key', 'create', json.appId, '--kind', 'secret', '--json');
    const issued = JSON.parse(key.stdout);
    expect(issued.key).toMatch(/^sk_/);
    expect((await gatehouse('key', 'revoke', issued.keyId)).code).toBe(0);
    expect((await gatehouse('key', 'revoke', issued.keyId)).code).toBe(1);

    const rotated = await gatehouse('signing-key', 'rotate', '--alg', 'RS256');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/New signing key \S+ \(RS256\)/);
  });

  it('refuses invalid settings naming the setting, without a stack trace', { timeout: 60_000 }, async () => {
    const bad = await gatehouse('app', 'create', '--name', 'Bad', '--settings', '{"otpLength":12}');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('otpLength');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const unknown = await gatehouse('app', 'create', '--name', 'Bad', '--settings', '{"otpLenght":6}');
    expect(unknown.stderr).toContain('unknown setting "otpLenght"');
    const notJson = await gatehouse('app', 'create', '--name', 'Bad', '--settings', '{');
    expect(notJson.stderr).toContain('--settings must be valid JSON');
  });
  it('lists and shows apps (key prefixes only), and answers --help after any command', { timeout: 180_000 }, async () => {
    const created = JSON.parse((await gatehouse('app', 'create', '--name', 'Listed', '--json')).stdout);
    // One after another: parallel CLI processes would starve the other test worker.
    const listed = await gatehouse('app', 'list', '--json');
    const shown = await gatehouse('app', 'show', created.appId, '--json');
    const shownText = await gatehouse('app', 'show', created.appId);
    const missing = await gatehouse('app', 'show', '01a20828-0000-7000-8000-000000000000');
    const help = await gatehouse('outbox', '--help');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toContainEqual({ appId: created.appId, name: 'Listed', createdAt: expect.any(String), liveKeys: { publishable: 1, secret: 1 } });

    expect(shown.code).toBe(0);
    const app = JSON.parse(shown.stdout);
    expect(app).toMatchObject({ appId: created.appId, name: 'Listed', settings: { passwordPolicy: 'DEFAULT', allowedOrigins: [] } });
    expect(app.keys.map((k: { kind: string; prefix: string; revokedAt: string | null }) => [k.kind, k.prefix, k.revokedAt])).toEqual([
      ['publishable', created.publishableKey.slice(0, 10), null],
      ['secret', created.secretKey.slice(0, 10), null],
    ]);
    // never the keys themselves
    for (const output of [shown.stdout, shownText.stdout]) {
      expect(output).not.toContain(created.publishableKey);
      expect(output).not.toContain(created.secretKey);
    }
    expect(shownText.stdout).toMatch(/keys:\n {2}\S+ {2}publishable {2}pk_/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no app with id');

    expect(help.code).toBe(0);
    expect(help.stdout).toContain('gatehouse outbox [--app APP_ID]');
    expect(help.stderr).toBe('');
  });
});
