// How a gateway process is started (`gatehouse serve`, so `npm start` too; the bench's gateway
// the same way): settings of the runtime that only take effect before the process runs
// any JavaScript, with their measured effect in bench/README.md, "RSS".
const { availableParallelism } = require('node:os');

/**
 * Young generation: Node 24's V8 lets each of its two semi-spaces grow to 64 MB (Node 20's:
 * 16), and a loaded gateway grows them all the way: 128 MB of RSS for garbage. At 8 MB each
 * the bench's CPU per request did not move; scavenges ran twice as often, ~0.4 s more GC in
 * 110 s of load. V8 reads the size when it creates the heap, never after
 * (v8.setFlagsFromString has no effect on it), so it has to be on the command line.
 *
 * Old generation: V8 sizes its heap from the machine (4 GB here) and then lets garbage grow to
 * four times the live data before a full collection; below a 2 GB limit it grows by less.
 * Measured (bench/README.md, "RSS, third pass"), whole 100k runs: the hostile documents peaked
 * at 237–258 MB with 512 MB, 307–339 with 1 GB, 350–450 at the default (quick runs). A quick
 * A/B hinted that 512 costs user(email)'s p99 (more full collections), but the whole runs had
 * it at 1.83× Apollo's with 512 and 1.75× with 1 GB: within their noise. The live heap is
 * 32–47 MB, so 512 MB leaves ten times that; past it the process aborts, and the one thing
 * that grows with attacker-chosen input is the in-process limiter state of an instance
 * without REDIS_URL (~500 bytes per key: it takes a million distinct keys inside a limit's
 * window, e.g. failed logins to a million accounts within the lockout window; code sends are
 * counted in the database). An operator's --max-old-space-size wins.
 *
 * Pretenuring off (`--no-allocation-site-pretenuring`): V8 watches where objects are made, and
 * when a site's objects keep surviving the young generation it starts making them in the old
 * one. Under a burst of requests that each live across a few scavenges (logins), it made that
 * call for sites that the next load uses for garbage, and kept it: the hostile documents after
 * logins then filled the old generation directly, a full collection every ~150 ms, each refusal
 * at 3–4 times its CPU alone and RSS past 250 MB (bench/README.md, "Pretenuring"). Off, the
 * same run had the refusals at their cost alone and the peaks at 210–220 MB. An operator's
 * value wins.
 */
const NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=512', '--no-allocation-site-pretenuring'];

/** The environment a server runs with: the operator's, plus the two settings below where they gave none. */
function serverEnv(env) {
  return {
    ...env,
    UV_THREADPOOL_SIZE: env.UV_THREADPOOL_SIZE || String(poolSize()),
    MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX || MALLOC_ARENA_MAX,
  };
}

/**
 * libuv's thread pool: every argon2 hash runs on it and takes 19 MiB, which glibc keeps in that
 * thread's arena once freed, so the pool's size is how much login holds after a burst (19 MiB a
 * thread, until the memory budget trims the arenas: src/server/malloc-trim.ts). One thread per
 * core, at least 2, at most 8: under a burst the queue always holds the next hash, so a thread
 * that finishes starts it at once, and the main thread's short turns are given to it by the
 * scheduler. Measured on 2 cores, login-only runs alternating in one run (bench/README.md, "A
 * pool of one thread per core"): 2 threads 0.96–1.01× the hash bound against 0.90–0.96× for 3,
 * 6 rounds of 6 in two orders, with ~2 ms less CPU per login (fewer argon2 buffers sweeping the
 * shared caches); on 2026-12-02, before the main thread's work per login was cut, 3 threads had
 * measured 0.85–0.96× and libuv's default of 4 0.78–0.96×. An operator's UV_THREADPOOL_SIZE wins.
 */
function poolSize() {
  return Math.max(2, Math.min(8, availableParallelism()));
}

/**
 * glibc's malloc gives each thread that allocates an arena of its own (up to 8 per core), and
 * keeps what it frees there: the V8 and libuv threads' arenas held 24 MB free after load, and
 * after login the argon2 buffers of every pool thread. Two arenas (the main thread's and one
 * the others share) measured 55 MB less after login and no change in CPU per request
 * (bench/README.md, "RSS"). One arena measured no lower after logins and hostile documents
 * (bench/README.md, "The arenas given back"). glibc reads it when the process starts, so like
 * the flags it takes effect through the exec. An operator's MALLOC_ARENA_MAX wins.
 */
const MALLOC_ARENA_MAX = '2';

/**
 * The NODE_FLAGS this process does not run with yet. A flag the operator gave (command line or
 * NODE_OPTIONS) is theirs, with their value: ours would come after NODE_OPTIONS on the command
 * line and override it, so it is left out.
 */
function missingNodeFlags() {
  // A flag's name without its value, `_` or `--no-`: the operator's `--allocation-site-pretenuring` is a value of ours.
  const name = (arg) => arg.split('=')[0].replace(/_/g, '-').replace(/^--no-/, '--');
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map(name);
  return NODE_FLAGS.filter((flag) => !given.includes(name(flag)));
}

/** The variables serverEnv adds or sets that `env` does not already have with that value. */
function missingEnv(env) {
  return Object.fromEntries(Object.entries(serverEnv(env)).filter(([name, value]) => value !== undefined && env[name] !== value));
}

module.exports = { NODE_FLAGS, serverEnv, missingEnv, missingNodeFlags, poolSize };
