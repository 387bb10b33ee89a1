// How a gateway process is started (`gatehouse serve`, so `npm start` too; the bench's gateway
// the same way): two settings of the runtime that only take effect before the process runs
// any JavaScript, with their measured effect in bench/README.md, "RSS".
const { availableParallelism } = require('node:os');

/**
 * Young generation: Node 24's V8 lets each of its two semi-spaces grow to 64 MB (Node 20's:
 * 16), and a loaded gateway grows them all the way: 128 MB of RSS for garbage. At 8 MB each
 * the bench's CPU per request did not move; scavenges ran twice as often, ~0.4 s more GC in
 * 110 s of load. V8 reads the size when it creates the heap, never after
 * (v8.setFlagsFromString has no effect on it), so it has to be on the command line.
 */
const NODE_FLAGS = ['--max-semi-space-size=8'];

/**
 * libuv's thread pool: every argon2 hash runs on it and takes 19 MiB, which glibc keeps in that
 * thread's arena once freed, so the pool's size is how much login holds for good (4 threads:
 * +76 MB). One thread per core was tried (2 here: 38 MB less after login) and cost logins: the
 * full bench run had the gateway at 0.80× the hash bound in all three rounds, where 4 threads
 * measured 0.85–0.97× (bench/README.md "RSS"), so it is libuv's 4 — or one per core where
 * there are more, up to 8. An operator's UV_THREADPOOL_SIZE wins.
 */
function serverEnv(env) {
  if (env.UV_THREADPOOL_SIZE) return env;
  return { ...env, UV_THREADPOOL_SIZE: String(poolSize()) };
}

function poolSize() {
  return Math.min(8, Math.max(4, availableParallelism()));
}

/** Whether this process already runs with NODE_FLAGS (given on the command line or in NODE_OPTIONS). */
function hasNodeFlags() {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return NODE_FLAGS.every((flag) => given.some((arg) => arg.split('=')[0] === flag.split('=')[0]));
}

module.exports = { NODE_FLAGS, serverEnv, hasNodeFlags, poolSize };
