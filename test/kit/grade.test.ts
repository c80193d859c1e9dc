/**
 * `pnpm grade` end to end, on two runtimes that are not ours: runc behind the contract adapter
 * (test/adapters/runc), which must pass every contract test of steps 01-04 but those its README
 * names, and a deliberately broken runtime (test/adapters/broken), whose failures must explain
 * themselves.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Grade } from '../src/grading.js';
import { REPO } from '../src/paths.js';

const work = mkdtempSync(join(tmpdir(), 'ctr-grade-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function grade(cli: string, steps: string): { status: number | null; output: string; grade: Grade } {
  const report = join(work, `${steps}.json`);
  const env = { ...process.env };
  delete env.CTR_CLI;
  const result = spawnSync(
    'pnpm',
    ['--silent', 'grade', '--cli', cli, '--steps', steps, '--quiet', '--report', report],
    {
      cwd: REPO,
      env,
      encoding: 'utf8',
    },
  );
  const output = `${result.stdout}${result.stderr}`;
  try {
    return { status: result.status, output, grade: JSON.parse(readFileSync(report, 'utf8')) as Grade };
  } catch {
    throw new Error(`pnpm grade wrote no report (exit ${result.status}):\n${output}`);
  }
}

const failedTests = (result: Grade) =>
  result.steps.flatMap((step) =>
    step.tests.filter((test) => test.state === 'failed').map((test) => ({ step: step.step, ...test })),
  );

describe('pnpm grade', () => {
  it('grades runc behind the contract adapter: every contract test of steps 01-04 passes, but those its README names', {
    timeout: 900_000,
  }, () => {
    const which = spawnSync('runc', ['--version']);
    if (which.error)
      throw new Error('this test grades runc: install it (apt-get install runc jq; setup.sh --tests does)');
    const { status, output, grade: result } = grade(`${REPO}test/adapters/runc/ctr`, '01-04');
    const readme = readFileSync(`${REPO}test/adapters/runc/README.md`, 'utf8');
    const unexplained = failedTests(result).filter((test) => !readme.includes(test.name));
    expect(unexplained.map((t) => `step ${t.step} > ${t.group} > ${t.name}\n${t.message}`).join('\n\n')).toBe('');
    expect(result.steps.map((step) => step.step)).toEqual(['01', '02', '03', '04']);
    expect(result.steps.every((step) => step.tests.length > 10)).toBe(true);
    expect(result.restored, 'the adapter leaves nothing for grade to put back').toEqual([]);
    if (failedTests(result).length === 0) expect(status, output).toBe(0);
  });

  it('grades a broken runtime with failures that name the command, what happened and a hint', {
    timeout: 300_000,
  }, () => {
    const { status, grade: result } = grade(`${REPO}test/adapters/broken/ctr`, '01');
    expect(status).toBe(1);
    const messageOf = (name: string): string => failedTests(result).find((test) => test.name === name)?.message ?? '';
    expect(messageOf('exits with the code of the command: 42')).toMatch(
      /expected exit 42, got 0\nhint: exit 0 instead of 42: does your runtime pass on the command's exit status\?[\s\S]*\$ \S+\/broken\/ctr start \/bin\/sh -c 'exit 42'\n {4}exit 0\n {4}stdout \| Starting container\.\.\./,
    );
    expect(messageOf('runs the command as PID 1')).toMatch(
      /the command is PID 2, not 1: is your runtime's own helper PID 1\?/,
    );
    expect(messageOf('hands the command no file descriptors but 0, 1 and 2')).toMatch(
      /fd (\d+, )*3(, \d+)* reached the command/,
    );
    expect(messageOf('exits 125 with a one-line error for an unknown flag')).toMatch(/expected exit 125, got 1/);
    expect(result.points).toBeLessThan(result.max / 2);
  });
});
