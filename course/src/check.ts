/**
 * `pnpm check NN`: the student's step NN, graded like any implementation of the CLI contract
 * (CTR_CLI, contract tests only), in the order a student needs:
 *
 *   1. it compiles (tsc), or nothing else is worth running;
 *   2. the tests of the step's own tasks, stopping at the first failure: that failure, the task it
 *      belongs to and where to read;
 *   3. then the whole suite of the step: the contract and every earlier step's properties, so
 *      that a regression shows too.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '@ctr/testkit';
import { type Outcome, runSuites } from '../../test/src/suites.js';
import { type Exercise, mineOf, type Progress, readProgress, shown, stubsLeft, writeProgress } from './exercises.js';

/** The step's CLI as the student wrote it, run the way the suites run any other. */
export function studentCli(step: string): string {
  // The suites run a CTR_CLI from the top of the checkout, where `--import tsx` resolves.
  return `${process.execPath} --import tsx ${shown(join(mineOf(step), 'src', 'main.ts'))}`;
}

function compiles(step: string, say: (line?: string) => void): boolean {
  const tsc = join(REPO, 'node_modules', '.bin', 'tsc');
  const result = spawnSync(tsc, ['-p', join(mineOf(step), 'tsconfig.json')], { encoding: 'utf8', cwd: REPO });
  if (result.status === 0) return true;
  const lines = `${result.stdout}${result.stderr}`.trim().split('\n');
  say(`Your code does not compile yet (TypeScript, ${lines.length} line(s)):`);
  for (const line of lines.slice(0, 15)) say(`  ${line}`);
  if (lines.length > 15) say(`  … ${lines.length - 15} more`);
  say('Fix these first: the check runs your code.');
  return false;
}

/** The task a failure belongs to: the stub that stopped the runtime, else the test's own task. */
function taskOf(outcome: Outcome): string | null {
  return /task (\d\d\.\d+) is not done yet/.exec(outcome.message ?? '')?.[1] ?? outcome.task;
}

export async function checkStep(exercise: Exercise, say: (line?: string) => void): Promise<number> {
  const step = exercise.step;
  const began = Date.now();
  say(`Checking your step ${step} (${shown(mineOf(step))}).`);
  if (!compiles(step, say)) return 1;

  // Only the tests of this step's tasks (check-tasks-runner.ts skips the others when CTR_CHECK_TASKS is set).
  process.env.CTR_CHECK_TASKS = step;
  const own = await runSuites({ cli: studentCli(step), steps: [step], bail: true });
  delete process.env.CTR_CHECK_TASKS;
  const ownTests = own.filter((outcome) => outcome.task?.startsWith(`${step}.`) && outcome.state !== 'skipped');
  const failed = ownTests.find((outcome) => outcome.state === 'failed');
  const seconds = () => ((Date.now() - began) / 1000).toFixed(1);
  if (failed) {
    const task = taskOf(failed);
    const info = task ? exercise.tasks.get(task) : undefined;
    say();
    say(`✗ ${failed.group} > ${failed.name}`);
    say();
    for (const line of (failed.message ?? '').split('\n')) say(`  ${line}`);
    say();
    if (task && info) {
      say(`This is task ${task}: ${info.title}.`);
      say(`Read: docs/${info.docs.replace('#', '.md#')}   Stuck? pnpm hint ${step}`);
    }
    say(`(${seconds()} s)`);
    record(exercise, own, false);
    return 1;
  }
  say(
    `✓ the ${ownTests.length} tests of step ${step}'s tasks pass (${seconds()} s). Now the whole suite: the contract and the earlier steps.`,
  );

  const all = await runSuites({ cli: studentCli(step), steps: [step] });
  const broken = all.filter((outcome) => outcome.state === 'failed');
  record(exercise, all, broken.length === 0);
  if (broken.length > 0) {
    say();
    say(
      `✗ ${broken.length} test(s) of the suite fail, though your tasks pass: a regression of an earlier step, or of the contract.`,
    );
    const first = broken[0] as Outcome;
    say(`  ${first.group} > ${first.name}`);
    for (const line of (first.message ?? '').split('\n')) say(`    ${line}`);
    if (broken.length > 1)
      say(
        `  and: ${broken
          .slice(1, 6)
          .map((o) => `${o.group} > ${o.name}`)
          .join('; ')}`,
      );
    say(`(${seconds()} s)`);
    return 1;
  }
  const passed = all.filter((outcome) => outcome.state === 'passed').length;
  say(`✓ step ${step} passes: ${passed} tests, the contract and every earlier step included (${seconds()} s).`);
  return 0;
}

/** What the student has done, for `pnpm progress` and `pnpm hint`. */
function record(exercise: Exercise, outcomes: readonly Outcome[], passing: boolean): void {
  const progress: Progress = readProgress();
  const left = stubsLeft(exercise.step);
  // A failure belongs to the task whose stub stopped the runtime, if one did, else to its test's.
  const failing = new Set(outcomes.filter((o) => o.state === 'failed').map(taskOf));
  const tasks: Progress[string]['tasks'] = {};
  for (const id of exercise.tasks.keys()) {
    const own = outcomes.filter((outcome) => outcome.task === id && outcome.state !== 'skipped');
    tasks[id] = left.has(id)
      ? 'not started'
      : failing.has(id)
        ? 'failing'
        : own.length > 0 && own.every((outcome) => outcome.state === 'passed')
          ? 'passing'
          : 'written';
  }
  const next = [...exercise.tasks.keys()].find((id) => failing.has(id));
  progress[exercise.step] = {
    tasks,
    passing,
    checkedAt: new Date().toISOString(),
    hints: progress[exercise.step]?.hints ?? {},
    ...(next ? { next } : {}),
  };
  writeProgress(progress);
}
