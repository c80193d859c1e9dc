import { defineConfig } from 'vitest/config';

// `pnpm test` runs every package's suite; `pnpm --filter NN test` runs one.
export default defineConfig({
  test: {
    projects: ['shared/*', 'steps/*', 'docs'],
    reporters: ['default', './test/src/summary-reporter.ts'],
  },
});
