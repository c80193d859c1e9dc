import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { TEST_KINDS } from './kinds.ts';
import { scaled } from './slowness.ts';

/** The vitest settings every package's suite shares; `name` labels its results. */
export function suiteConfig(name: string, include = ['test/**/*.test.ts']) {
  return defineConfig({
    test: {
      name,
      include,
      // Each test file in a process of its own: suites unshare namespaces of the test process.
      pool: 'forks',
      globalSetup: [fileURLToPath(new URL('./global-setup.ts', import.meta.url))],
      setupFiles: [fileURLToPath(new URL('./setup.ts', import.meta.url))],
      // `pnpm check NN` and `pnpm exercises:verify` run only some tasks' tests (CTR_CHECK_TASKS),
      // and skip the others before any hook of their groups runs.
      ...(process.env.CTR_CHECK_TASKS
        ? { runner: fileURLToPath(new URL('./check-tasks-runner.ts', import.meta.url)) }
        : {}),
      // Every test of a step says which kind it is (summary-reporter.ts counts a test that does not).
      tags: TEST_KINDS,
      // Real containers: a start is ~0.3 s under tsx; a limit is a hang detector, not a benchmark.
      testTimeout: scaled(60_000),
      hookTimeout: scaled(120_000),
      // Used when one package runs alone (`pnpm --filter NN test`); the top config has its own.
      reporters: ['default', fileURLToPath(new URL('./summary-reporter.ts', import.meta.url))],
    },
  });
}
