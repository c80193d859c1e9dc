/**
 * Runs in every test file's process, before its tests (vitest `setupFiles`): the grader's side of
 * "grade any implementation fairly and leave the machine as it was".
 *
 *  - Once a CLI runs, the process is a child subreaper: what the CLI leaves is re-parented to it.
 *  - Each failure ends with what the CLI did in that test (command lines, exit, stdout, stderr).
 *  - After each test, a CLI still running and anything it left is killed, and the test fails.
 *  - After the file, a new mount, or a container process still below this one, fails it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { hostState } from './host-state.js';
import { beginTest, runsOfThisTest, transcriptOfThisTest } from './journal.js';
import { runMatchers } from './matchers.js';
import { containerProcessesBelow, killStrays, killTree, stopCli } from './processes.js';

expect.extend(runMatchers);

beforeEach((context) => {
  beginTest();
  context.onTestFailed(({ task }) => {
    const [first] = task.result?.errors ?? [];
    const story = transcriptOfThisTest();
    if (!first || story === '' || first.message?.includes('What the CLI did')) return;
    // The message is what the console reporter shows, the stack what the JSON and JUnit ones keep.
    if (first.stack?.includes(first.message)) first.stack = first.stack.replace(first.message, first.message + story);
    first.message += story;
  });
});

afterEach(async (context) => {
  const killed: string[] = [];
  for (const record of runsOfThisTest()) {
    const pid = record.child.pid;
    if (pid === undefined || record.exitCode !== undefined || record.stoppedBecause !== undefined) continue;
    record.stoppedBecause = 'it was still running when the test ended';
    killed.push(...(await stopCli(pid)));
  }
  killed.push(...(await killStrays()));
  if (killed.length > 0 && context.task.result?.state !== 'fail') {
    throw new Error(
      `the CLI left ${killed.length} process(es) running after the test, which the test kit killed:\n  ${killed.join('\n  ')}` +
        '\nhint: a runtime waits for its container and stops everything it started before it exits',
    );
  }
});

let mountsAtStart: string[];
beforeAll(() => {
  mountsAtStart = hostState().mounts;
});

afterAll(async () => {
  const killed = await killStrays();
  const newMounts = hostState().mounts.filter((mount) => !mountsAtStart.includes(mount));
  const containers = containerProcessesBelow();
  for (const line of containers) killed.push(...killTree(Number(line.split(' ')[0])));
  const problems = [
    ...newMounts.map((mount) => `a mount: ${mount}`),
    ...containers.map((line) => `a process in a container: ${line}`),
    ...killed.map((line) => `a process the CLI left, killed: ${line}`),
  ];
  if (problems.length > 0) {
    throw new Error(`this file's tests left on the host:\n  ${problems.join('\n  ')}`);
  }
});
