import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/support/build.ts', 'test/support/global-setup.ts'],
    // Separate processes: each test file has its own Temporal worker runtime and database.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    // In CI the counts are also written as JSON, so .ci/run can close its log with one plain line of them.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      { extends: true, test: { name: 'correx', include: ['test/**/*.test.ts'], exclude: ['test/cluster/**', 'test/record/**'], sequence: { groupOrder: 0 } } },
      // Four Correx processes and a Temporal server of its own: it runs alone, after the rest.
      { extends: true, test: { name: 'cluster', include: ['test/cluster/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
});
