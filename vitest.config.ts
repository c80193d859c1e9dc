import { defineConfig } from 'vitest/config';

// `pnpm test` runs every package's suite; `pnpm --filter NN test` runs one.
export default defineConfig({
  test: {
    projects: ['shared/*', 'test', 'course', 'steps/*', 'docs'],
    // One test file at a time: the suites assert that a container leaves no mount, veth, lease or
    // cgroup behind, and another suite's containers running meanwhile would blur the picture.
    fileParallelism: false,
    reporters: ['default', './test/src/summary-reporter.ts'],
  },
});
