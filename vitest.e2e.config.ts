import { defineConfig } from 'vitest/config';

// End-to-end: the built renderer served by the browser host (out/main/serve.js), driven in Debian's
// Chromium through playwright-core. Needs `npm run build` first (npm test does it).
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    testTimeout: 300_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
