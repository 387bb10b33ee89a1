/**
 * Starting and stopping the server processes, and reading their memory. Each server is a
 * plain `node` child (compiled by bench/tsconfig.json), so autocannon in the parent never
 * shares its event loop, and its pid is the server's own (for RSS and --cpu-prof).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..', '..');
export const BUILD_DIR = join(REPO, 'node_modules', '.cache', 'gatehouse-bench');

/** Compiles src/ and bench/servers to BUILD_DIR (tsc, ~1 s). Type errors elsewhere in a tree being edited only warn. */
export function buildServers(): void {
  const tsc = join(REPO, 'node_modules', '.bin', 'tsc');
  const result = spawnSync(tsc, ['-p', join(REPO, 'bench', 'tsconfig.json')], { cwd: REPO, encoding: 'utf8' });
  const built = ['gateway', 'apollo-reference', 'raw-floor', 'hash-bound', 'better-auth'].every((name) => existsSync(serverScript(name)));
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(0, 10).join('\n');
    if (!built) throw new Error(`building the bench servers failed:\n${output}`);
    console.warn(`warning: tsc reported errors (building anyway):\n${output}\n`);
  }
}

export function serverScript(name: string, buildDir = BUILD_DIR): string {
  return join(buildDir, 'bench', 'servers', `${name}.js`);
}

/**
 * The gateway runs with the runtime settings `gatehouse serve` gives itself (bin/server-runtime.js:
 * the young and old generations' sizes, the thread pool's, malloc's arenas), so its memory and
 * CPU are production's; its memory budget (MEMORY_BUDGET_MB) is serve's too.
 * BENCH_GATEWAY_NODE_ARGS adds node arguments after them (a later V8 flag wins: e.g.
 * `--max-semi-space-size=64` for Node 24's default; UV_THREADPOOL_SIZE=4 in BENCH_GATEWAY_ENV
 * for libuv's), and BENCH_GATEWAY_ENV environment variables for the gateway alone
 * (`NAME=value NAME2=value`, e.g. `MALLOC_ARENA_MAX=8 MEMORY_BUDGET_MB=0` for the settings before
 * issue 13's second RSS pass). `beforeEnv` is the --before-build gateway's: the same, with
 * BENCH_BEFORE_ENV's variables over them (`NAME=` sets one empty), so a runtime setting can be
 * A/B'd with one build.
 */
export function gatewayRuntime(env: Record<string, string>): { env: Record<string, string>; beforeEnv: Record<string, string>; nodeArgs: string[] } {
  const runtime = require(join(REPO, 'bin', 'server-runtime.js')) as {
    NODE_FLAGS: string[];
    missingEnv(env: NodeJS.ProcessEnv): Record<string, string>;
  };
  const extra = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const own = envPairs('BENCH_GATEWAY_ENV', process.env.BENCH_GATEWAY_ENV ?? '');
  // Every variable serve would add or set (the pool's size, malloc's arenas), not one by one.
  const gateway = { ...env, ...runtime.missingEnv(process.env), ...own };
  const beforeEnv = { ...gateway, ...envPairs('BENCH_BEFORE_ENV', process.env.BENCH_BEFORE_ENV ?? '') };
  return { env: gateway, beforeEnv, nodeArgs: [...runtime.NODE_FLAGS, ...extra] };
}

/** `NAME=value NAME2=value` as an object; a word without `NAME=` is refused, naming the variable. */
function envPairs(variable: string, text: string): Record<string, string> {
  return Object.fromEntries(
    text.split(/\s+/).filter(Boolean).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`${variable}: "${pair}" is not NAME=value`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

export interface Server {
  name: string;
  child: ChildProcess;
  pid: number;
  url: string;
  /** The last lines the process wrote to stderr (shown if it dies). */
  stderrTail: () => string;
  stop(): Promise<void>;
}

let logDir: string | undefined;

/** `--server-logs DIR`: each server's stdout (the gateway's JSON log lines) goes to DIR/<name>.log instead of /dev/null. */
export function keepServerLogs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  logDir = dir;
}

/** Starts bench/servers/<script>.js as `name` (one script can run as several servers, e.g. the two hash bounds). */
export async function startServer(
  name: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
  buildDir = BUILD_DIR,
  script = name.replace(/-before$/, ''),
): Promise<Server> {
  const child = spawn(process.execPath, [...nodeArgs, serverScript(script, buildDir)], {
    cwd: REPO,
    env: { ...process.env, ...env },
    // stdout (the gateway's JSON log lines) goes to /dev/null: written, as in production, but not kept.
    stdio: ['ignore', logDir ? openSync(join(logDir, `${name}.log`), 'w') : 'ignore', 'pipe', 'ipc'],
  });
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  });
  const info = await new Promise<{ url?: string }>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s:\n${tail}`)), 60_000);
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolveReady(message);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${tail}`));
    });
  });
  return {
    name,
    child,
    pid: child.pid!,
    url: info.url ?? '',
    stderrTail: () => tail,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(timer);
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Resident set size of a process in MB (Linux /proc; 0 where unavailable). */
export function rssMB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc/PID/stat (clock ticks,
 * 100 per second here). Per request it is the figure least disturbed by other load on the
 * machine: a busy neighbour delays our server but does not make it do more work.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 250): { stop(): number } {
  let peak = rssMB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMB(pid));
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMB(pid));
    },
  };
}
