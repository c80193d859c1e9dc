/**
 * The vitest runner of the steps' suites when CTR_CHECK_TASKS limits a run to some tasks' tests
 * (`pnpm check NN`, `pnpm exercises:verify`; vitest.ts sets it then). The other tests are skipped
 * once collected, before anything runs, so that a group none of whose tests is included is skipped
 * whole and its beforeAll/afterAll do not run either: step 09's images group starts a registry and
 * pushes ~30 images, and step 10's file holds every earlier step's groups. A skip from inside the
 * test (a beforeEach calling `context.skip()`) comes after those hooks have run.
 *
 * vitest's own filters (testNamePattern, tagsFilter) cannot do this: a test's task is in its meta,
 * not in its name, and task() cannot add a tag, since `{ ...REFERENCE, ...task('09.2') }` would
 * then lose the `reference` one.
 */
import type { RunnerTask, RunnerTaskResultPack, RunnerTestFile, RunnerTestSuite } from 'vitest';
import { type VitestRunner, VitestTestRunner } from 'vitest/runners';
import { checkedTask } from './kinds.js';

export default class CheckTasksRunner extends VitestTestRunner {
  /** Assigned by vitest to every runner: sends results to the main process. */
  declare onTaskUpdate: VitestRunner['onTaskUpdate'];

  /** Called once the files are collected (and their skips applied), before their hooks run. */
  async onCollected(files: RunnerTestFile[]): Promise<void> {
    const only = process.env.CTR_CHECK_TASKS;
    if (!only) return;
    const skipped: RunnerTask[] = [];
    for (const file of files) skipOthers(file, only, skipped);
    // vitest sent the main process the files as collected, before this hook: what is skipped here
    // it still counts as to run, and the tests and groups inside a group skipped whole, which
    // vitest then never visits, would stay pending.
    await this.onTaskUpdate?.(
      skipped.map((task): RunnerTaskResultPack => [task.id, task.result, task.meta]),
      [],
    );
  }
}

/**
 * Skips the tests of `suite` that `only` does not include, and the groups left with none to run;
 * returns whether any test of `suite` is left to run.
 */
function skipOthers(suite: RunnerTestSuite, only: string, skipped: RunnerTask[]): boolean {
  let runs = false;
  for (const child of suite.tasks) {
    if (child.mode !== 'run' && child.mode !== 'queued') continue;
    if (child.type === 'suite') {
      runs = skipOthers(child, only, skipped) || runs;
    } else if (checkedTask(child.meta.task, only)) {
      runs = true;
    } else {
      child.mode = 'skip';
      child.result = { state: 'skip' };
      skipped.push(child);
    }
  }
  // What vitest does for a group whose tests are all skipped when collected: no hook of it runs.
  // A file that failed to load has a result already, and no tests: it stays as it is.
  if (!runs && suite.tasks.length > 0 && !suite.result) {
    suite.mode = 'skip';
    suite.result = { state: 'skip' };
    skipped.push(suite);
  }
  return runs;
}
