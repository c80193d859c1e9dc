/**
 * Scores and reports for `pnpm grade`: pure functions from test outcomes to points per property
 * group, and to a table, Markdown, JSON or JUnit XML. No test is run here (see grade.ts).
 */

export type Kind = 'contract' | 'reference';
export type State = 'passed' | 'failed' | 'skipped';

export interface TestOutcome {
  /** The test's own title. */
  name: string;
  /** The describe block it belongs to, without `step NN: `. */
  group: string;
  kind: Kind | null;
  state: State;
  /** The failure, as the suite printed it (command, exit, output, hint). */
  message?: string;
  durationMs: number;
}

export interface StepResult {
  step: string;
  title: string;
  tests: TestOutcome[];
}

export interface Rubric {
  default: number;
  groups: Record<string, number>;
  steps?: Record<string, Record<string, number>>;
}

export interface GroupScore {
  group: string;
  passed: number;
  total: number;
  points: number;
  max: number;
}

export interface StepGrade extends StepResult {
  groups: GroupScore[];
  points: number;
  max: number;
}

export interface Grade {
  cli: string;
  date: string;
  host: string;
  steps: StepGrade[];
  points: number;
  max: number;
  /** What was put back on the host after grading (a mount the CLI left, say). */
  restored: string[];
}

const round = (n: number): number => Math.round(n * 10) / 10;

/** The points a group is worth in a step: the step's own entry, else the general one, else the default. */
export function pointsFor(rubric: Rubric, step: string, group: string): number {
  const match = (table: Record<string, number> | undefined): number | undefined => {
    const key = Object.keys(table ?? {})
      .filter((k) => group.startsWith(k))
      .sort((a, b) => b.length - a.length)[0];
    return key === undefined ? undefined : table?.[key];
  };
  return match(rubric.steps?.[step]) ?? match(rubric.groups) ?? rubric.default;
}

/** Points per group: the group's share for each test that passed. Skipped tests do not count. */
export function gradeStep(result: StepResult, rubric: Rubric): StepGrade {
  const groups = new Map<string, GroupScore>();
  for (const test of result.tests) {
    if (test.state === 'skipped') continue;
    const score = groups.get(test.group) ?? {
      group: test.group,
      passed: 0,
      total: 0,
      points: 0,
      max: pointsFor(rubric, result.step, test.group),
    };
    score.total++;
    if (test.state === 'passed') score.passed++;
    groups.set(test.group, score);
  }
  const scored = [...groups.values()].map((g) => ({ ...g, points: round((g.max * g.passed) / g.total) }));
  return {
    ...result,
    groups: scored,
    points: round(scored.reduce((sum, g) => sum + g.points, 0)),
    max: scored.reduce((sum, g) => sum + g.max, 0),
  };
}

const pad = (text: string, width: number): string => text.padEnd(width);
const lpad = (text: string, width: number): string => text.padStart(width);

/** The console table: one block per step, a line per group, and the total. */
export function table(grade: Grade): string {
  const width = Math.max(30, ...grade.steps.flatMap((s) => s.groups.map((g) => g.group.length))) + 2;
  const lines: string[] = [];
  for (const step of grade.steps) {
    lines.push('', `step ${step.step}: ${step.title}`);
    lines.push(`  ${pad('property group', width)}${lpad('passed', 9)}${lpad('points', 13)}`);
    for (const g of step.groups) {
      lines.push(`  ${pad(g.group, width)}${lpad(`${g.passed}/${g.total}`, 9)}${lpad(`${g.points}/${g.max}`, 13)}`);
    }
    const passed = step.groups.reduce((n, g) => n + g.passed, 0);
    const total = step.groups.reduce((n, g) => n + g.total, 0);
    lines.push(`  ${pad('total', width)}${lpad(`${passed}/${total}`, 9)}${lpad(`${step.points}/${step.max}`, 13)}`);
  }
  lines.push('', `grade: ${grade.points}/${grade.max} points`);
  return lines.join('\n');
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal colour codes are what it removes
const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '');

export function markdown(grade: Grade): string {
  const out = [
    `# Grade: ${grade.points} / ${grade.max} points`,
    '',
    `- CLI under test: \`${grade.cli}\``,
    `- graded: ${grade.date}, on ${grade.host}`,
    '',
  ];
  for (const step of grade.steps) {
    out.push(`## Step ${step.step}: ${step.title} (${step.points} / ${step.max})`, '');
    out.push('| property group | passed | points |', '| --- | --- | --- |');
    for (const g of step.groups) out.push(`| ${g.group} | ${g.passed}/${g.total} | ${g.points}/${g.max} |`);
    const failed = step.tests.filter((t) => t.state === 'failed');
    if (failed.length > 0) {
      out.push('', '### Failed', '');
      for (const test of failed) {
        out.push(`- **${test.group}**: ${test.name}`, '', '  ```text');
        for (const line of stripAnsi(test.message ?? '').split('\n')) out.push(`  ${line}`);
        out.push('  ```', '');
      }
    }
    out.push('');
  }
  if (grade.restored.length > 0) {
    out.push('## Put back on the host after grading', '', ...grade.restored.map((line) => `- ${line}`), '');
  }
  return out.join('\n');
}

const xml = (text: string): string =>
  stripAnsi(text)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters XML 1.0 cannot carry
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/** JUnit XML, as CI systems and autograders read it: a testsuite per step, points as properties. */
export function junit(grade: Grade): string {
  const count = (tests: TestOutcome[], state: State) => tests.filter((t) => t.state === state).length;
  const all = grade.steps.flatMap((s) => s.tests);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="ctr grade" tests="${all.length}" failures="${count(all, 'failed')}" skipped="${count(all, 'skipped')}">`,
  ];
  for (const step of grade.steps) {
    const time = step.tests.reduce((sum, t) => sum + t.durationMs, 0) / 1000;
    out.push(
      `  <testsuite name="${xml(`step ${step.step}: ${step.title}`)}" tests="${step.tests.length}" failures="${count(step.tests, 'failed')}" skipped="${count(step.tests, 'skipped')}" time="${time.toFixed(3)}">`,
      '    <properties>',
      `      <property name="points" value="${step.points}"/>`,
      `      <property name="max" value="${step.max}"/>`,
      '    </properties>',
    );
    for (const test of step.tests) {
      const open = `    <testcase classname="${xml(`step ${step.step}.${test.group}`)}" name="${xml(test.name)}" time="${(test.durationMs / 1000).toFixed(3)}"`;
      if (test.state === 'passed') out.push(`${open}/>`);
      else if (test.state === 'skipped') out.push(`${open}><skipped/></testcase>`);
      else {
        const message = test.message ?? '';
        out.push(
          `${open}><failure message="${xml(message.split('\n')[0] ?? '')}">${xml(message)}</failure></testcase>`,
        );
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
