/**
 * `pnpm grade`: grades any implementation of the CLI contract (docs/cli.md) with the steps'
 * suites, as an instructor would, and prints points per property group (test/rubric.json).
 *
 *   sudo pnpm grade --cli '/home/ada/ctr/target/release/ctr' --steps 01-04 --report results.md
 *
 * Only contract tests run (CTR_CLI is set for the suites). The host is read before and after;
 * whatever the CLI left (a mount, a cgroup, an interface, a process) is removed and reported, so
 * one graded implementation cannot change the machine for the next.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { extname, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { parse } from 'shell-quote';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { startVitest } from 'vitest/node';
import {
  type Grade,
  gradeStep,
  junit,
  markdown,
  type Rubric,
  type StepResult,
  type TestOutcome,
  table,
} from './grading.js';
import { hostState, restoreHost } from './host-state.js';
import { REPO } from './paths.js';
import { becomeSubreaper, killStrays } from './processes.js';

const fail = (message: string): never => {
  process.stderr.write(`grade: ${message}\n`);
  process.exit(125);
};

/** `01-04`, `03`, `01,03,05`: the steps that exist, in order. */
export function parseSteps(text: string | undefined, existing: readonly string[]): string[] {
  if (text === undefined) return [...existing];
  const wanted = new Set<string>();
  for (const part of text.split(',')) {
    const range = /^(\d{1,2})(?:-(\d{1,2}))?$/.exec(part.trim());
    if (!range) throw new Error(`--steps "${text}" is not a list of steps: use e.g. --steps 01-04 or --steps 01,03`);
    const [from, to = from] = [Number(range[1]), Number(range[2] ?? range[1])];
    for (let n = from; n <= to; n++) wanted.add(String(n).padStart(2, '0'));
  }
  const missing = [...wanted].filter((step) => !existing.includes(step));
  if (missing.length > 0) {
    throw new Error(`no step ${missing.join(', ')} in steps/: there are ${existing.join(', ')}`);
  }
  return existing.filter((step) => wanted.has(step));
}

/** Collects what the suites did, for scoring. */
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

function outcomes(module: TestModule): TestOutcome[] {
  const tests = [...module.children.allTests()].flatMap((test): TestOutcome[] => {
    const result = test.result();
    const kind = test.tags.includes('reference') ? 'reference' : test.tags.includes('contract') ? 'contract' : null;
    if (kind === 'reference') return []; // not run under CTR_CLI, and not the contract
    const state = result.state === 'passed' ? 'passed' : result.state === 'failed' ? 'failed' : 'skipped';
    const message = result.state === 'failed' ? result.errors.map((e) => e.message).join('\n') : undefined;
    return [
      { name: test.name, group: groupOf(test), kind, state, durationMs: test.diagnostic()?.duration ?? 0, message },
    ];
  });
  // The suite's own check at its end (setup.ts): nothing left mounted, no container still running.
  // A file of unit tests only (all reference) ran no container: nothing to check there.
  if (tests.length === 0) return tests;
  const errors = module.errors();
  tests.push({
    name: 'the suite left no mount and no container process on the host',
    group: 'clean host after the suite',
    kind: 'contract',
    state: errors.length === 0 ? 'passed' : 'failed',
    durationMs: 0,
    ...(errors.length > 0 ? { message: errors.map((e) => e.message).join('\n') } : {}),
  });
  return tests;
}

const stepDirs = (): string[] =>
  readdirSync(`${REPO}steps`)
    .filter((name) => /^\d\d-/.test(name))
    .sort();

function titleOf(step: string): string {
  const dir = stepDirs().find((name) => name.startsWith(`${step}-`)) as string;
  const description = (JSON.parse(readFileSync(`${REPO}steps/${dir}/package.json`, 'utf8')) as { description: string })
    .description;
  return description.replace(/^Step \d\d: /, '');
}

function writeReport(path: string, grade: Grade): void {
  const format =
    extname(path) === '.json' ? 'json' : extname(path) === '.xml' ? 'junit' : extname(path) === '.md' ? 'md' : null;
  if (!format) fail(`--report ${path}: name the file .md, .json or .xml (JUnit), e.g. --report results.md`);
  const text =
    format === 'json' ? `${JSON.stringify(grade, null, 2)}\n` : format === 'junit' ? junit(grade) : markdown(grade);
  writeFileSync(path, text);
  process.stderr.write(`grade: wrote ${path}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('grade')
    .description("grade an implementation of the CLI contract (docs/cli.md) with the steps' suites")
    .requiredOption(
      '--cli <command>',
      "the CLI under test, as a shell would split it: '/path/to/ctr' or 'python3 /path/ctr.py'",
    )
    .option('--steps <list>', 'which steps: 01-04, 03 or 01,03 (default: all)')
    .option('--report <file...>', 'also write the results: .md, .json or .xml (JUnit)', [])
    .option('--rubric <file>', 'points per property group', `${REPO}test/rubric.json`)
    .option('--quiet', 'print only the table, not each failure')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`grade: ${text.replace(/^error: /, '').trim()}\n`) });
  try {
    program.parse(argv, { from: 'node' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 125;
    throw error;
  }
  const options = program.opts<{ cli: string; steps?: string; report: string[]; rubric: string; quiet?: boolean }>();
  if (process.getuid?.() !== 0)
    fail('the suites make namespaces, mounts and cgroups: run as root (sudo pnpm grade ...)');
  const words = parse(options.cli);
  if (words.length === 0 || words.some((w) => typeof w !== 'string')) {
    fail(`--cli "${options.cli}" must be a command line without shell operators, e.g. --cli '/path/to/ctr'`);
  }
  let steps: string[] = [];
  try {
    steps = parseSteps(
      options.steps,
      stepDirs().map((name) => name.slice(0, 2)),
    );
  } catch (error) {
    fail((error as Error).message);
  }
  let rubric: Rubric = { default: 1, groups: {} };
  try {
    rubric = JSON.parse(readFileSync(options.rubric, 'utf8')) as Rubric;
  } catch (error) {
    fail(`cannot read the rubric ${options.rubric}: ${(error as Error).message}`);
  }
  const reports = options.report.map((path) => resolve(path));

  // What the suites' processes leave when they exit is re-parented here, to be found and killed.
  becomeSubreaper();
  const before = hostState();
  process.env.CTR_CLI = options.cli;
  const collector = new Collector();
  const vitest = await startVitest('test', [], {
    root: REPO,
    config: `${REPO}vitest.config.ts`,
    project: steps,
    watch: false,
    reporters: options.quiet ? [collector] : ['default', collector],
  });
  await vitest?.close();

  const results: StepResult[] = steps.map((step) => ({
    step,
    title: titleOf(step),
    tests: collector.modules.filter((m) => m.project.name === step).flatMap(outcomes),
  }));
  const restored = [
    ...(await killStrays()).map((line) => `killed a process the CLI left: ${line}`),
    ...restoreHost(before),
  ];
  const graded = results.map((result) => gradeStep(result, rubric));
  const grade: Grade = {
    cli: options.cli,
    date: new Date().toISOString(),
    host: `${hostname()}, Linux ${release()}`,
    steps: graded,
    points: Math.round(graded.reduce((sum, s) => sum + s.points, 0) * 10) / 10,
    max: graded.reduce((sum, s) => sum + s.max, 0),
    restored,
  };
  process.stdout.write(`${table(grade)}\n`);
  if (restored.length > 0) process.stdout.write(`\nput back on the host after grading:\n  ${restored.join('\n  ')}\n`);
  for (const path of reports) writeReport(path, grade);
  const failed = graded.some((step) => step.tests.some((test) => test.state === 'failed'));
  return failed ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv).then(
    (code) => process.exit(code),
    (error: Error) => fail(error.message),
  );
}
