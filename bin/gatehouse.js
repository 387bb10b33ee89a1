#!/usr/bin/env node
// The `gatehouse` command. Runs the built CLI when there is one, else the TypeScript source
// through tsx (a dev dependency), so `npx gatehouse …` works in a fresh checkout.
// GATEHOUSE_FROM_SOURCE=1 forces the source (tests use it so a stale dist/ cannot fool them).
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { serverEnv, missingEnv, missingNodeFlags } = require('./server-runtime');

const args = process.argv.slice(2);
if (args[0] === 'serve') {
  // A server's runtime settings (server-runtime.js) must be in place before the process runs
  // JavaScript: where the runtime can (Node ≥ 22.15 on POSIX), this process becomes
  // `node <flags> <this script> serve …` (exec: same pid, no second process). Elsewhere the
  // thread pool's size still applies (libuv reads it at its first use, which is later);
  // the young generation and malloc's arenas stay at the runtime's defaults. The exec happens
  // once: after it, the flags are on the command line and the variables in the environment.
  const env = serverEnv(process.env);
  const flags = missingNodeFlags();
  if ((flags.length > 0 || Object.keys(missingEnv(process.env)).length > 0) && typeof process.execve === 'function') {
    process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, __filename, ...args], env);
  }
  process.env.UV_THREADPOOL_SIZE = env.UV_THREADPOOL_SIZE;
}

const built = join(__dirname, '..', 'dist', 'cli.js');
const useBuilt = existsSync(built) && !process.env.GATEHOUSE_FROM_SOURCE;
if (!useBuilt) require('tsx/cjs');
require(useBuilt ? built : join(__dirname, '..', 'src', 'cli.ts')).main(args);
