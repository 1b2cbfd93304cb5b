import { defineConfig } from 'vitest/config';

// Unit and integration suites under plain Node. GPU tests run on whatever adapter Dawn finds
// (lavapipe in CI); they share one device per file. E2E tests run separately (vitest.e2e.config.ts).
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
