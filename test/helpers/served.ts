import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/**
 * The real `gatehouse serve` as a child process on a SQLite file (crash tests: it is killed
 * with SIGKILL and started again on the same file).
 */

const bin = join(__dirname, '..', '..', 'bin', 'gatehouse.js');

export interface Served {
  child: ChildProcess;
  url: string;
  stdout: string;
  /** Resolves once the process is gone. */
  exited: Promise<unknown>;
}

/** Starts `gatehouse serve` on a free port and waits for the banner that says where it listens. */
export function serve(databaseFile: string, extraEnv: Record<string, string> = {}, children: ChildProcess[] = []): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: { ...process.env, GATEHOUSE_FROM_SOURCE: '1', DATABASE_URL: `sqlite:${databaseFile}`, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      // The Demo app's keys are printed after the address: wait for the whole banner.
      if (match && /Demo app/.test(stdout)) resolve({ child, url: match[1], stdout, exited });
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code, signal) => reject(new Error(`gatehouse serve exited (${code ?? signal}) before listening:\n${stderr}`)));
  });
}

/** kill -9, and wait until the process is gone. */
export async function kill9(served: Served): Promise<void> {
  served.child.kill('SIGKILL');
  await served.exited;
}

export interface RawResult {
  data?: any;
  errors?: { message: string; extensions: { code: string } }[];
}

export async function gql(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<RawResult> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    // One connection per request: a pooled keep-alive connection reused for a later request
    // races the server closing it at shutdown, which is the client's problem, not the server's.
    headers: { 'content-type': 'application/json', 'x-api-key': key, connection: 'close' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as RawResult;
}
