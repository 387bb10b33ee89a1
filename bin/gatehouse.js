#!/usr/bin/env node
// The `gatehouse` command. Runs the built CLI when there is one, else the TypeScript source
// through tsx (a dev dependency), so `npx gatehouse …` works in a fresh checkout.
// GATEHOUSE_FROM_SOURCE=1 forces the source (tests use it so a stale dist/ cannot fool them).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const built = join(__dirname, '..', 'dist', 'cli.js');
const useBuilt = existsSync(built) && !process.env.GATEHOUSE_FROM_SOURCE;
if (!useBuilt) require('tsx/cjs');
require(useBuilt ? built : join(__dirname, '..', 'src', 'cli.ts')).main(process.argv.slice(2));
