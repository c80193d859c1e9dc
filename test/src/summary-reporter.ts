import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { GRADING } from './kinds.js';

const kindOf = (test: TestCase): 'contract' | 'reference' | null =>
  test.tags.includes('reference') ? 'reference' : test.tags.includes('contract') ? 'contract' : null;

/** A step's suite (project `01`, `02` ...): every test in it says whether it is contract or reference. */
const isStepSuite = (module: TestModule): boolean => /^\d\d$/.test(module.project.name);

/**
 * One closing line in the plain form any CI can read: `tests: 41 passed, 0 failed, 0 skipped`.
 * A skipped test is counted and shown, never hidden: this project's suites do not skip silently.
 * Reference tests left out under CTR_CLI are counted apart, with the reason. An error outside a
 * test (a hook, the clean-up check after a file) counts as a failure.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const counts = { passed: 0, failed: 0, skipped: 0, referenceLeftOut: 0 };
    const lines: string[] = [];
    for (const module of testModules) {
      for (const error of module.errors()) {
        counts.failed++;
        lines.push(`  error: [${module.project.name}] ${module.moduleId}: ${error.message.split('\n')[0]}`);
      }
      for (const test of module.children.allTests()) {
        const kind = kindOf(test);
        if (!kind && isStepSuite(module)) {
          counts.failed++;
          lines.push(`  unclassified: [${module.project.name}] ${test.fullName}: tag it contract or reference`);
          continue;
        }
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else if (GRADING && kind === 'reference') counts.referenceLeftOut++;
        else {
          counts.skipped++;
          lines.push(`  skipped: [${module.project.name}] ${test.fullName}`);
        }
      }
    }
    if (lines.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`);
    const leftOut =
      counts.referenceLeftOut > 0
        ? `; ${counts.referenceLeftOut} reference tests not run (CTR_CLI is set: they check this implementation's own wording and design, not the contract)`
        : '';
    process.stdout.write(
      `\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${leftOut}\n`,
    );
    if (counts.failed > 0) process.exitCode = 1;
  }
}
