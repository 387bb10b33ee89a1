import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // one copy of graphql for type-graphql, Apollo and the tests (STACK.md pitfall 5)
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // two cores: more workers only fight over them
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
