/**
 * The steps' suites run from a program (`pnpm grade`, `pnpm check`) rather than from the vitest
 * command line, with the CLI under test set, and their outcomes read back per test: its group,
 * its kind, its task, its failure as the suite printed it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { startVitest } from 'vitest/node';
import type { TestOutcome } from './grading.js';
import { checkedTask } from './kinds.js';
import { REPO } from './paths.js';

export interface SuiteRun {
  /** The CLI under test, as CTR_CLI takes it. */
  cli: string;
  /** Step numbers: the projects to run. */
  steps: readonly string[];
  /** Only tests whose full name matches (vitest's testNamePattern). */
  testNamePattern?: RegExp;
  /** Stop at the first failure. */
  bail?: boolean;
  /** vitest's own output as it runs (else nothing is printed). */
  reporter?: 'default' | 'dot' | null;
}

/** One test's outcome, with the task of the exercise it checks. */
export interface Outcome extends TestOutcome {
  step: string;
  fullName: string;
  task: string | null;
}

class Collector implements Reporter {
  modules: readonly TestModule[] = [];
  onTestRunEnd(testModules: readonly TestModule[]): void {
    this.modules = testModules;
  }
}

function groupOf(test: TestCase): string {
  let node: TestCase['parent'] = test.parent;
  let top = '';
  while (node.type === 'suite') {
    top = node.name;
    node = node.parent;
  }
  return top.replace(/^step \d\d: /, '') || '(no group)';
}

function outcomes(module: TestModule): Outcome[] {
  const step = module.project.name;
  // `pnpm check` runs only the tests of some tasks (check-tasks-runner.ts skips the others).
  const only = process.env.CTR_CHECK_TASKS;
  const tests = [...module.children.allTests()].flatMap((test): Outcome[] => {
    const result = test.result();
    if (test.tags.includes('reference')) return []; // not run under CTR_CLI, and not the contract
    // A group whose beforeAll failed (a guard that found no isolation, say) ran none of its
    // tests: each failed, with the hook's error.
    const hookErrors = failedHooksAbove(test);
    const selected = checkedTask(test.meta().task, only);
    if (hookErrors.length > 0 && result.state !== 'failed' && selected) {
      return [outcomeOf(test, step, 'failed', hookErrors.map((e) => e.message).join('\n'))];
    }
    const state = result.state === 'passed' ? 'passed' : result.state === 'failed' ? 'failed' : 'skipped';
    const message = result.state === 'failed' ? result.errors.map((e) => e.message).join('\n') : undefined;
    return [outcomeOf(test, step, state, message)];
  });
  // The suite's own check at its end (setup.ts): nothing left mounted, no container still running.
  // A file of unit tests only (all reference) ran no container: nothing to check there.
  if (tests.length === 0) return tests;
  const errors = module.errors();
  tests.push({
    step,
    name: 'the suite left no mount and no container process on the host',
    fullName: 'clean host after the suite',
    group: 'clean host after the suite',
    kind: 'contract',
    task: null,
    state: errors.length === 0 ? 'passed' : 'failed',
    durationMs: 0,
    ...(errors.length > 0 ? { message: errors.map((e) => e.message).join('\n') } : {}),
  });
  return tests;
}

function outcomeOf(test: TestCase, step: string, state: Outcome['state'], message: string | undefined): Outcome {
  const kind = test.tags.includes('reference') ? 'reference' : test.tags.includes('contract') ? 'contract' : null;
  return {
    step,
    name: test.name,
    fullName: test.fullName,
    group: groupOf(test),
    kind,
    task: test.meta().task ?? null,
    state,
    durationMs: test.diagnostic()?.duration ?? 0,
    ...(message === undefined ? {} : { message }),
  };
}

function failedHooksAbove(test: TestCase): { message: string }[] {
  const errors: { message: string }[] = [];
  for (let node: TestCase['parent'] = test.parent; node.type === 'suite'; node = node.parent)
    errors.push(...node.errors());
  return errors;
}

/** Runs the suites of `steps` against `cli`; only contract tests run (CTR_CLI is set). */
export async function runSuites(run: SuiteRun): Promise<Outcome[]> {
  process.env.CTR_CLI = run.cli;
  const collector = new Collector();
  const vitest = await startVitest('test', [], {
    root: REPO,
    config: `${REPO}vitest.config.ts`,
    project: [...run.steps],
    watch: false,
    reporters: run.reporter ? [run.reporter, collector] : [collector],
    ...(run.testNamePattern ? { testNamePattern: run.testNamePattern } : {}),
    ...(run.bail ? { bail: 1 } : {}),
  });
  await vitest?.close();
  return collector.modules.flatMap(outcomes);
}

export const stepDirs = (): string[] =>
  readdirSync(`${REPO}steps`)
    .filter((name) => /^\d\d-/.test(name))
    .sort();

/** `03` -> `03-mount-pivot-root`. */
export function stepDir(step: string): string | null {
  return stepDirs().find((name) => name.startsWith(`${step}-`)) ?? null;
}

export function titleOf(step: string): string {
  const dir = stepDir(step) as string;
  const description = (JSON.parse(readFileSync(`${REPO}steps/${dir}/package.json`, 'utf8')) as { description: string })
    .description;
  return description.replace(/^Step \d\d: /, '');
}
