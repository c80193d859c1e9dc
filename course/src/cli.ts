/**
 * The exercise mode, one command each (root package.json):
 *
 *   pnpm exercise NN [--from-mine]   step NN to write yourself, in mine/NN
 *   sudo pnpm check NN [--watch]     your container on the real kernel: the step's tasks first
 *   pnpm hint NN                     the next hint for the first unfinished task
 *   pnpm solution NN                 the reference, as a diff against your code
 *   pnpm reset NN                    the skeleton again; your work goes to mine/.backups/
 *   pnpm progress                    every step: not started, n of m tasks, passing
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, readdirSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { checkStep } from './check.js';
import {
  backUp,
  CourseError,
  exerciseOf,
  MINE,
  mineOf,
  readProgress,
  shown,
  stepIds,
  stubsLeft,
  writeExercise,
  writeProgress,
} from './exercises.js';

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** Under sudo, what the commands make belongs to the student, who edits it without sudo. */
function giveToStudent(path: string): void {
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  if (!uid || !gid) return;
  chownSync(path, uid, gid);
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path)) {
      const child = join(path, name);
      if (!lstatSync(child).isSymbolicLink()) giveToStudent(child); // links lead to the course's own packages
    }
  }
}

function exercise(step: string, options: { fromMine?: boolean }): void {
  const ex = exerciseOf(step);
  const target = mineOf(ex.step);
  if (existsSync(target)) {
    throw new CourseError(
      `${shown(target)} holds your work on step ${ex.step} already: sudo pnpm check ${ex.step} tests it; pnpm reset ${ex.step} starts over (it keeps a copy)`,
    );
  }
  writeExercise(ex, target, options);
  giveToStudent(MINE);
  say(`Step ${ex.step} is yours to write, in ${shown(target)}/src (the tasks: ${shown(target)}/TASKS.md):`);
  say();
  for (const [id, task] of ex.tasks) say(`  ${id}  ${task.title}`);
  say();
  say(`Each task is a \`return todo('${ex.step}.N', ...)\` in the code. Then: sudo pnpm check ${ex.step}`);
}

function hint(step: string): void {
  const ex = exerciseOf(step);
  if (!existsSync(mineOf(ex.step)))
    throw new CourseError(`no exercise for step ${ex.step} yet: pnpm exercise ${ex.step} makes one`);
  const progress = readProgress();
  const record = progress[ex.step];
  const left = stubsLeft(ex.step);
  // Where the last check stopped; else the first task still a stub; else the first not proven.
  const next =
    record?.next ??
    [...ex.tasks.keys()].find((id) => left.has(id)) ??
    [...ex.tasks.keys()].find((id) => record?.tasks[id] !== 'passing');
  if (!next) {
    say(`Every task of step ${ex.step} passed its tests at the last check. sudo pnpm check ${ex.step} to be sure.`);
    return;
  }
  const task = ex.tasks.get(next);
  if (!task) return;
  const hints = record?.hints ?? {};
  const shown = hints[next] ?? 0;
  if (shown >= task.hints.length) {
    say(`No more hints for task ${next}. pnpm solution ${ex.step} shows the reference, as a diff against your code.`);
    return;
  }
  const labels = ['the idea', 'the calls', 'the order'];
  say(`Task ${next}: ${task.title}`);
  say(`Hint ${shown + 1} of ${task.hints.length}, ${labels[shown]}: ${task.hints[shown]}`);
  say(`Read: docs/${task.docs.replace('#', '.md#')}`);
  progress[ex.step] = {
    ...(record ?? { tasks: {}, passing: false, checkedAt: '' }),
    hints: { ...hints, [next]: shown + 1 },
  };
  writeProgress(progress);
  giveToStudent(MINE);
}

function solution(step: string): void {
  const ex = exerciseOf(step);
  const mine = mineOf(ex.step);
  if (!existsSync(mine))
    throw new CourseError(`no exercise for step ${ex.step} yet: pnpm exercise ${ex.step} makes one`);
  say(`The reference of step ${ex.step} (${shown(ex.dir)}/src), as changes to your code (${shown(mine)}/src):`);
  const diff = spawnSync('git', ['diff', '--no-index', '--color=auto', '--', join(mine, 'src'), join(ex.dir, 'src')], {
    stdio: 'inherit',
  });
  if (diff.error) throw new CourseError(`git is needed to show the diff: ${diff.error.message}`);
}

function reset(step: string, options: { fromMine?: boolean }): void {
  const ex = exerciseOf(step);
  const target = mineOf(ex.step);
  const backup = existsSync(target) ? backUp(ex.step) : null;
  writeExercise(ex, target, options);
  // Starting over: the last check and the hints taken were of the work put aside.
  const progress = readProgress();
  delete progress[ex.step];
  writeProgress(progress);
  giveToStudent(MINE);
  if (backup) say(`Your work is in ${shown(backup)}/ (nothing was deleted).`);
  say(`${shown(target)} holds the skeleton of step ${ex.step} again.`);
}

function progressTable(): void {
  const progress = readProgress();
  say('step  exercise      tasks written   last check');
  for (const id of stepIds()) {
    const ex = exerciseOf(id);
    const total = ex.tasks.size;
    if (!existsSync(mineOf(id))) {
      say(`${id}    not started   -               -`);
      continue;
    }
    const written = total - [...stubsLeft(id)].filter((task) => ex.tasks.has(task)).length;
    const record = progress[id];
    const passing = record ? Object.values(record.tasks).filter((state) => state === 'passing').length : 0;
    const last = record
      ? `${record.passing ? 'passing' : `${passing} of ${total} tasks passing`} (${record.checkedAt.slice(0, 16).replace('T', ' ')})`
      : 'never checked';
    say(`${id}    started       ${`${written} of ${total}`.padEnd(15)} ${last}`);
  }
}

async function check(step: string, options: { watch?: boolean }): Promise<number> {
  const ex = exerciseOf(step);
  if (!existsSync(mineOf(ex.step)))
    throw new CourseError(`no exercise for step ${ex.step} yet: pnpm exercise ${ex.step} makes one`);
  if (process.getuid?.() !== 0) {
    throw new CourseError(`the check runs your containers, which needs root: sudo pnpm check ${ex.step}`);
  }
  const once = async (): Promise<number> => {
    const result = await checkStep(ex, say);
    giveToStudent(MINE);
    return result;
  };
  if (!options.watch) return once();
  await once();
  say();
  say(`Watching ${shown(mineOf(ex.step))}/src: the check runs again on every save. Ctrl-C to stop.`);
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  watch(join(mineOf(ex.step), 'src'), { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (running) return;
      running = true;
      say();
      await once();
      running = false;
    }, 300);
  });
  return new Promise<number>(() => {});
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('course')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`${text.replace(/^error: /, '').trim()}\n`) });
  let exitCode = 0;
  // An action's exit status: a number it returns, else 0.
  const run =
    <A extends unknown[]>(fn: (...args: A) => unknown) =>
    async (...args: A) => {
      const status = await fn(...args);
      exitCode = typeof status === 'number' ? status : 0;
    };
  program
    .command('exercise <step>')
    .option('--from-mine', 'build on your own earlier steps (mine/) instead of the reference')
    .action(run(exercise));
  program.command('check <step>').option('--watch', 'check again on every save').action(run(check));
  program.command('hint <step>').action(run(hint));
  program.command('solution <step>').action(run(solution));
  program.command('reset <step>').option('--from-mine', 'build on your own earlier steps').action(run(reset));
  program.command('progress').action(run(progressTable));
  try {
    await program.parseAsync(argv, { from: 'node' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof CourseError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  return exitCode;
}

main(process.argv).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
