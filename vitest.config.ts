import { defineConfig } from 'vitest/config';

// `pnpm test` runs every package's suite; `pnpm --filter NN test` runs one.
export default defineConfig({
  test: {
    projects: ['shared/*', 'test', 'course', 'steps/*', 'docs'],
    // One test file at a time: the suites assert that a container leaves no mount, veth, lease or
    // cgroup behind, and another suite's containers running meanwhile would blur the picture.
    fileParallelism: false,
    reporters: ['default', './test/src/summary-reporter.ts'],
    // Each earlier step's groups run against their own step and the newest one, not against every
    // step in between (test/src/earlier-steps.ts). `pnpm --filter NN test`, and pnpm grade and pnpm
    // check (CTR_CLI set), still run them all.
    provide: { wholeRepositoryRun: true },
  },
});
