import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from './helpers/gateway';

/**
 * SPEC §8: an acknowledged write survives a crash (`kill -9`) of the server. The real
 * `gatehouse serve` runs as a child process on a SQLite file; writes the API acknowledged
 * are read back after SIGKILL and a restart on the same file. (SQLite only: on PostgreSQL
 * durability is the database server's, which this process does not own.)
 */

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-crash-'));
const bin = join(__dirname, '..', 'bin', 'gatehouse.js');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Served {
  child: ChildProcess;
  url: string;
  stdout: string;
}

/** Starts `gatehouse serve` on a free port and waits for the line that says where it listens. */
function serve(): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: { ...process.env, GATEHOUSE_FROM_SOURCE: '1', DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      // The Demo app's keys are printed after the address: wait for the whole banner.
      if (match && /Demo app/.test(stdout)) resolve({ child, url: match[1], stdout });
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code, signal) => reject(new Error(`gatehouse serve exited (${code ?? signal}) before listening:\n${stderr}`)));
  });
}

async function gql(url: string, key: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: { extensions: { code: string } }[] };
}

const CREATE = 'mutation C($input: CreateUserInput!) { createUser(input: $input) { id } }';
const FIND = 'query F($email: String) { user(email: $email) { id email firstName } }';

describe.skipIf(Boolean(TEST_DATABASE_URL))('crash safety (SPEC §8)', () => {
  it('keeps every acknowledged write after kill -9 and a restart', async () => {
    const first = await serve();
    const secretKey = /secret key:\s+(sk_\S+)/.exec(first.stdout)?.[1];
    expect(secretKey, 'the first start prints the Demo app keys').toBeDefined();

    // Sequential writes, each acknowledged before the next; the kill follows the last answer.
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const result = await gql(first.url, secretKey!, CREATE, { input: { email: `crash${i}@example.com`, firstName: `C${i}` } });
      expect(result.errors).toBeUndefined();
      ids.push(result.data.createUser.id);
    }
    const exited = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;

    const second = await serve();
    expect(second.stdout).toMatch(/Demo app \S+ already exists/);
    for (let i = 0; i < 20; i++) {
      const found = await gql(second.url, secretKey!, FIND, { email: `crash${i}@example.com` });
      expect(found.errors).toBeUndefined();
      expect(found.data.user).toEqual({ id: ids[i], email: `crash${i}@example.com`, firstName: `C${i}` });
    }
    // Still writable after the crash (no stale lock, WAL recovered).
    expect((await gql(second.url, secretKey!, CREATE, { input: { email: 'after-crash@example.com' } })).errors).toBeUndefined();
    const stopped = new Promise((resolve) => second.child.once('exit', resolve));
    second.child.kill('SIGTERM');
    await stopped;
  }, 90_000);
});
