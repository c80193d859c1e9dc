import type { Reporter, TestModule } from 'vitest/node';

/**
 * One closing line in the plain form any CI can read: `tests: 41 passed, 0 failed, 0 skipped`.
 * A skipped test is counted and shown, never hidden: this project's suites do not skip silently.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const skipped: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else {
          counts.skipped++;
          skipped.push(`  skipped: [${module.project.name}] ${test.fullName}`);
        }
      }
    }
    if (skipped.length > 0) process.stdout.write(`\n${skipped.join('\n')}\n`);
    process.stdout.write(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
