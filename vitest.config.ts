import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup-build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel forks, bounded so that the process-level
    // concurrency tests are not starved.
    pool: 'forks',
    maxWorkers: 2,
  },
});
