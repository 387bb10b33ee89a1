/**
 * Helpers for the bench's server processes (children of bench/run.ts, talking over IPC).
 * Each child listens on a free loopback port and reports it; the parent ends it with SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

export function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (this process is started by bench/run.ts)`);
  return value;
}

let profiler: Session | undefined;

/**
 * With BENCH_PROFILE=FILE the process profiles its CPU from the moment it is ready (start-up
 * and module loading left out) and writes FILE when stopped: the same format as --cpu-prof.
 */
function startProfiling(): void {
  if (!process.env.BENCH_PROFILE) return;
  profiler = new Session();
  profiler.connect();
  profiler.post('Profiler.enable', () => profiler!.post('Profiler.start'));
}

function stopProfiling(): Promise<void> {
  const file = process.env.BENCH_PROFILE;
  if (!profiler || !file) return Promise.resolve();
  return new Promise((resolve) =>
    profiler!.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(file, JSON.stringify(result.profile));
      resolve();
    }),
  );
}

export function ready(info: Record<string, unknown>): void {
  startProfiling();
  process.send?.({ type: 'ready', ...info });
}

export function onStop(stop: () => Promise<void> | void): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    // A close that hangs (a keep-alive socket, a timer) must not cost the profile or the run.
    setTimeout(() => process.exit(0), 3000).unref();
    stopProfiling()
      .then(() => stop())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  // The parent died: do not linger.
  process.on('disconnect', handler);
}

export function fail(error: unknown): never {
  console.error(error);
  process.exit(1);
}
