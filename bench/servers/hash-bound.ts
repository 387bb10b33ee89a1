/**
 * The hash bound: how many argon2id verifications (one password hash each, with our
 * parameters, m=19456 t=2 p=1) this machine does per second on all cores, with `concurrency`
 * in flight on libuv's thread pool, as login's verify runs. Login cannot beat this.
 *
 * With BENCH_HASH_KIND=better-auth the same for the peer's own verify (better-auth/crypto's
 * `verifyPassword`: node:crypto scrypt N=16384 r=16 on the thread pool) of its seeded hash:
 * the bound its sign-in cannot beat, so both logins can be judged against their own hash.
 *
 * The parent sends { type: 'run', ms, concurrency } and gets { type: 'result', count, seconds,
 * p50, p99 } back (latencies in ms).
 */
import argon2 from 'argon2';
import { fail, onStop, ready, required } from '../lib/child';

const hash = required('BENCH_HASH');
const password = required('BENCH_PASSWORD');
let verify: () => Promise<boolean> = () => argon2.verify(hash, password);

async function run(ms: number, concurrency: number) {
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + ms;
  async function worker(): Promise<void> {
    while (performance.now() < deadline) {
      const t = performance.now();
      const ok = await verify();
      latencies.push(performance.now() - t);
      if (!ok) failures++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { count: latencies.length, seconds, p50: at(0.5), p99: at(0.99), failures };
}

async function main(): Promise<void> {
  if (process.env.BENCH_HASH_KIND === 'better-auth') {
    const { verifyPassword } = await import('better-auth/crypto');
    verify = () => verifyPassword({ hash, password });
  }
  if (!(await verify())) throw new Error('BENCH_HASH does not match BENCH_PASSWORD');
  process.on('message', (message: { type: string; ms: number; concurrency: number }) => {
    if (message?.type !== 'run') return;
    run(message.ms, message.concurrency).then((result) => process.send?.({ type: 'result', ...result }), fail);
  });
  onStop(() => {});
  ready({});
}

main().catch(fail);
