/**
 * `pnpm exercises:verify [NN...]`: proves every exercise, as rustlings' `dev check` does, so that
 * a change to a step cannot leave its exercise broken:
 *
 *   - the markers are well formed, each names a task of exercise.json and each task is marked;
 *   - each task names a section of the docs that exists, has three hints, and has tests (task('NN.K'));
 *   - the skeleton type-checks;
 *   - the skeleton fails every test of the step's tasks;
 *   - with one task cut and the rest written, every test of that task fails, and the failure
 *     names that task.
 * (That the reference passes them all is what the step's own suite checks.)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '@ctr/testkit';
import { bundleOf } from '../../shared/runtime/src/fast-start.js';
import { runSuites } from '../../test/src/suites.js';
import { type Exercise, exerciseOf, markedTasks, stepIds, writeExercise } from './exercises.js';

/** VitePress's heading ids (@mdit-vue/shared's slugify), or the `{#id}` a heading sets. */
export function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  for (const [, text = ''] of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    const explicit = /\{#([\w-]+)\}\s*$/.exec(text);
    if (explicit) {
      ids.add(explicit[1] as string);
      continue;
    }
    ids.add(
      text
        .normalize('NFKD')
        .replace(/[\u0300-\u036f]/g, '')
        .replace(/[\s~`!@#$%^&*()\-_+=[\]{}|\\;:"'“”‘’<>,.?/]+/g, '-')
        .replace(/-{2,}/g, '-')
        .replace(/^-+|-+$/g, '')
        .replace(/^(\d)/, '_$1')
        .toLowerCase(),
    );
  }
  return ids;
}

/** The tasks the step's test files name with task('NN.K'). */
function testedTasks(exercise: Exercise): Set<string> {
  const tests = join(exercise.dir, 'test');
  const found = new Set<string>();
  for (const name of readdirSync(tests).filter((n) => n.endsWith('.ts'))) {
    for (const match of readFileSync(join(tests, name), 'utf8').matchAll(/\btask\('(\d\d\.\d+)'\)/g))
      found.add(match[1] as string);
  }
  return found;
}

function staticProblems(exercise: Exercise): string[] {
  const problems: string[] = [];
  const declared = [...exercise.tasks.keys()];
  let marked: string[] = [];
  try {
    marked = markedTasks(exercise);
  } catch (error) {
    return [(error as Error).message];
  }
  for (const id of declared)
    if (!marked.includes(id)) problems.push(`task ${id} is in exercise.json but no marker cuts it`);
  for (const id of marked)
    if (!declared.includes(id)) problems.push(`a marker cuts task ${id}, which exercise.json does not have`);
  const tested = testedTasks(exercise);
  for (const [id, task] of exercise.tasks) {
    if (!id.startsWith(`${exercise.step}.`)) problems.push(`task ${id} does not belong to step ${exercise.step}`);
    if (!tested.has(id)) problems.push(`task ${id} has no test: mark the tests that check it with task('${id}')`);
    if (task.hints.length !== 3)
      problems.push(`task ${id} has ${task.hints.length} hints, not 3 (the idea, the calls, the order)`);
    const [page, anchor] = task.docs.split('#');
    const file = join(REPO, 'docs', `${page}.md`);
    if (!existsSync(file)) problems.push(`task ${id} points to docs/${page}.md, which does not exist`);
    else if (anchor && !headingIds(readFileSync(file, 'utf8')).has(anchor)) {
      problems.push(`task ${id} points to #${anchor}, which docs/${page}.md has no heading for`);
    }
  }
  return problems;
}

function typecheck(dir: string): string | null {
  const result = spawnSync(join(REPO, 'node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json')], {
    encoding: 'utf8',
    cwd: REPO,
  });
  return result.status === 0 ? null : `${result.stdout}${result.stderr}`.trim().split('\n').slice(0, 8).join('\n');
}

/**
 * The CLI of an exercise tree: the esbuild bundle the runtime makes of itself for its init
 * (fast-start.ts), built from the tree's sources once they are written and type-checked, so that
 * each of the suite's hundreds of starts skips tsx's (~0.4 s here). It is rebuilt whenever a
 * source differs from what it was built from, and nothing writes the tree again. The stubs are in
 * it: the one cut task's, or (the skeleton) some of them: a stub the CLI can no longer reach,
 * behind another task's stub (step 03's skeleton has no 03.4 in its bundle), is left out by esbuild.
 */
async function cliOf(dir: string, cut: readonly string[]): Promise<string> {
  const bundle = await bundleOf(join(dir, 'src', 'main.ts'));
  const code = readFileSync(bundle, 'utf8');
  const stubbed = cut.filter((id) => code.includes(`todo("${id}"`));
  if (stubbed.length === 0) {
    throw new Error(`${bundle} has no stub of task ${cut.join(', ')}: it is not ${dir}'s code`);
  }
  return `${process.execPath} ${bundle}`;
}

async function verify(exercise: Exercise, work: string, say: (line: string) => void): Promise<string[]> {
  const problems = staticProblems(exercise);
  if (problems.length > 0) return problems;
  const step = exercise.step;

  const skeleton = join(work, `${step}-skeleton`);
  writeExercise(exercise, skeleton);
  const compileErrors = typecheck(skeleton);
  if (compileErrors) return [`the skeleton does not type-check:\n${compileErrors}`];

  process.env.CTR_CHECK_TASKS = step;
  const unsolved = await runSuites({ cli: await cliOf(skeleton, [...exercise.tasks.keys()]), steps: [step] });
  const ownTests = unsolved.filter((o) => o.task?.startsWith(`${step}.`) && o.state !== 'skipped');
  const passing = ownTests.filter((o) => o.state === 'passed');
  if (ownTests.length === 0) problems.push('no test of its tasks ran against the skeleton');
  for (const o of passing)
    problems.push(`"${o.name}" (task ${o.task}) passes on the skeleton: it checks nothing the tasks write`);
  say(`${step}: the skeleton type-checks and fails its ${ownTests.length - passing.length} task tests`);

  for (const id of exercise.tasks.keys()) {
    const one = join(work, `${step}-only-${id}`);
    writeExercise(exercise, one, { only: id });
    process.env.CTR_CHECK_TASKS = id;
    const outcomes = (await runSuites({ cli: await cliOf(one, [id]), steps: [step] })).filter(
      (o) => o.task === id && o.state !== 'skipped',
    );
    const passed = outcomes.filter((o) => o.state === 'passed');
    for (const o of passed) problems.push(`"${o.name}" passes with task ${id} cut: it does not check task ${id}`);
    if (outcomes.length === 0) problems.push(`no test of task ${id} ran`);
    else if (!outcomes.some((o) => (o.message ?? '').includes(`task ${id} is not done yet`))) {
      problems.push(`no failure with task ${id} cut names it ("task ${id} is not done yet")`);
    }
    say(
      `${step}: with task ${id} cut, ${outcomes.length - passed.length} of its ${outcomes.length} tests fail, naming it`,
    );
  }
  delete process.env.CTR_CHECK_TASKS;
  return problems;
}

async function main(argv: readonly string[]): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('exercises:verify runs containers: run it as root\n');
    return 125;
  }
  const steps = argv.length > 0 ? argv : stepIds();
  const work = mkdtempSync(join(tmpdir(), 'ctr-exercises-'));
  // Readable by all: step 07's suite runs the CLI as an ordinary user too (rootless).
  chmodSync(work, 0o755);
  let failed = 0;
  try {
    for (const step of steps) {
      const problems = await verify(exerciseOf(step), work, (line) => process.stdout.write(`${line}\n`));
      for (const problem of problems) process.stdout.write(`step ${step}: ${problem}\n`);
      failed += problems.length;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    // The init bundles the runtime made of each skeleton (fast-start.ts), named after their directories.
    const cache = join(REPO, 'node_modules', '.cache', 'ctr-init');
    for (const name of existsSync(cache) ? readdirSync(cache) : []) {
      if (/-(skeleton|only-\d\d\.\d+)\.cjs(\.json)?$/.test(name)) rmSync(join(cache, name), { force: true });
    }
  }
  process.stdout.write(
    failed === 0 ? `exercises: ${steps.join(', ')} verified\n` : `exercises: ${failed} problem(s)\n`,
  );
  return failed === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
