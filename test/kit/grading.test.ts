/** Points, hints and reports: the pure parts of grading. */
import { describe, expect, it } from 'vitest';
import { type Grade, gradeStep, junit, pointsFor, type Rubric, type TestOutcome } from '../src/grading.js';
import { runMatchers } from '../src/matchers.js';

const rubric: Rubric = {
  default: 1,
  groups: { 'the CLI contract': 10, cgroups: 10 },
  steps: { '04': { cgroups: 30 } },
};

const outcome = (group: string, state: TestOutcome['state'], message?: string): TestOutcome => ({
  name: `a ${state} test`,
  group,
  kind: 'contract',
  state,
  durationMs: 100,
  ...(message ? { message } : {}),
});

describe('grading', () => {
  it("takes a step's own points before the general ones, and matches group titles by prefix", () => {
    expect(pointsFor(rubric, '04', 'cgroups')).toBe(30);
    expect(pointsFor(rubric, '05', 'cgroups')).toBe(10);
    expect(pointsFor(rubric, '05', 'cgroup layout (this machine: v2)')).toBe(1);
    expect(pointsFor({ ...rubric, groups: { 'cgroup layout': 4 } }, '05', 'cgroup layout (this machine: v2)')).toBe(4);
  });

  it("shares a group's points among its tests, and leaves skipped tests out", () => {
    const graded = gradeStep(
      {
        step: '04',
        title: 'cgroups',
        tests: [
          outcome('cgroups', 'passed'),
          outcome('cgroups', 'passed'),
          outcome('cgroups', 'failed'),
          outcome('cgroups', 'skipped'),
          outcome('the CLI contract', 'passed'),
        ],
      },
      rubric,
    );
    expect(graded.groups).toEqual([
      { group: 'cgroups', passed: 2, total: 3, points: 20, max: 30 },
      { group: 'the CLI contract', passed: 1, total: 1, points: 10, max: 10 },
    ]);
    expect([graded.points, graded.max]).toEqual([30, 40]);
  });

  it('writes JUnit XML that escapes what a CLI printed, terminal colours and control characters included', () => {
    const step = gradeStep(
      { step: '01', title: 'PID', tests: [outcome('the CLI contract', 'failed', 'got <b>&"\x1b[31mred\x1b[39m\x07')] },
      rubric,
    );
    const grade: Grade = { cli: 'x', date: '', host: '', steps: [step], points: 0, max: 10, restored: [] };
    const xml = junit(grade);
    expect(xml).toContain('<failure message="got &lt;b&gt;&amp;&quot;red">got &lt;b&gt;&amp;&quot;red</failure>');
    expect(xml).toContain('<property name="points" value="0"/>');
  });
});

describe('run matchers', () => {
  const result = (exitCode: number, stdout = '', stderr = '') => ({ exitCode, stdout, stderr });

  it('name the usual cause of a wrong exit status', () => {
    expect(runMatchers.toExit(result(0), 42).message()).toMatch(
      /exit 0 instead of 42: does your runtime pass on the command's exit status/,
    );
    expect(runMatchers.toExit(result(0), 127).message()).toMatch(/does not exist exits 127/);
    expect(runMatchers.toExit(result(0), 137).message()).toMatch(/signal 9 \(SIGKILL\)/);
    expect(runMatchers.toExit(result(125, '', 'ctr: no rootfs: make one\n'), 0).message()).toMatch(
      /error of its own \(125\) .*"ctr: no rootfs: make one"/,
    );
  });

  it('tell a runtime that prints on stdout where stdout belongs', () => {
    expect(runMatchers.toExit(result(0, 'Starting...\nhi\n'), 0, { stdout: 'hi\n' }).message()).toMatch(
      /stdout belongs to the command/,
    );
    expect(runMatchers.toExit(result(0, 'hi\n'), 0, { stdout: 'hi\n' }).pass).toBe(true);
  });

  it('hold an error report to one line, `ctr: `, naming the culprit', () => {
    expect(
      runMatchers.toFailCleanly(result(125, '', 'ctr: --cpus "x" is not a number: use 0.5\n'), { naming: ['--cpus'] })
        .pass,
    ).toBe(true);
    expect(runMatchers.toFailCleanly(result(1, '', 'bad\n')).message()).toMatch(/expected exit 125, got 1/);
    expect(runMatchers.toFailCleanly(result(125, '', 'Error: x\n  at y\n')).message()).toMatch(/2 lines on stderr/);
    expect(runMatchers.toFailCleanly(result(125, '', 'error: bad\n')).message()).toMatch(/starts with `ctr: `/);
    expect(runMatchers.toFailCleanly(result(125, '', 'ctr: bad value\n'), { naming: ['--cpus'] }).message()).toMatch(
      /names what was wrong \("--cpus"\)/,
    );
  });
});
