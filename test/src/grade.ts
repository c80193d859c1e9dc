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
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { extname, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { parse } from 'shell-quote';
import { type Grade, gradeStep, junit, markdown, type Rubric, type StepResult, table } from './grading.js';
import { hostState, restoreHost } from './host-state.js';
import { REPO } from './paths.js';
import { becomeSubreaper, killStrays } from './processes.js';
import { runSuites, stepDirs, titleOf } from './suites.js';

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
  const outcomes = await runSuites({ cli: options.cli, steps, reporter: options.quiet ? null : 'default' });
  const results: StepResult[] = steps.map((step) => ({
    step,
    title: titleOf(step),
    tests: outcomes.filter((outcome) => outcome.step === step),
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
