import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const bin = join(__dirname, '..', '..', 'bin', 'gatehouse.js');

/**
 * Runs the real `gatehouse` command (from source, so a stale dist/ cannot fool a test) on
 * the given database; answers its exit code and output instead of throwing.
 */
export async function gatehouse(databaseUrl: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, GATEHOUSE_FROM_SOURCE: '1', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' };
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
