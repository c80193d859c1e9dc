/**
 * A student's exercises: where they live, how one is made from a step's sources, and what the
 * student has done so far.
 *
 *   mine/NN/                 the student's step NN: src/ cut from steps/NN-.../src (markers.ts),
 *                            node_modules/@ctr/* links to what it builds on, TASKS.md
 *   mine/.progress.json      the last check of each step, and the hints taken
 *   mine/.backups/           what `pnpm reset` put aside, never deleted by these commands
 *
 * mine/ is nobody's but the student's: the course never ships a file there, so `git pull` of
 * course updates cannot conflict with it, and a fork can commit it.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from '@ctr/testkit';
import { cut } from './markers.js';

/** `CTR_MINE` moves it elsewhere (the course's own tests do). */
export const MINE = process.env.CTR_MINE ?? join(REPO, 'mine');

export interface Task {
  title: string;
  /** A page of the course site and its section, e.g. `steps/03-mount-pivot-root#propagation-...`. */
  docs: string;
  /** The idea, then the calls, then the order. */
  hints: [string, string, string];
}

export interface Exercise {
  step: string;
  /** steps/NN-name */
  dir: string;
  tasks: Map<string, Task>;
}

/** A refusal of the course commands: one line that says what to do. */
export class CourseError extends Error {}

export const stepIds = (): string[] =>
  readdirSync(join(REPO, 'steps'))
    .filter((name) => /^\d\d-/.test(name))
    .sort()
    .map((name) => name.slice(0, 2));

export function exerciseOf(step: string): Exercise {
  const name = /^\d{1,2}$/.test(step) ? step.padStart(2, '0') : step;
  const dirName = readdirSync(join(REPO, 'steps')).find((entry) => entry.startsWith(`${name}-`));
  if (!/^\d\d$/.test(name) || !dirName) {
    throw new CourseError(`there is no step ${step}: the steps are ${stepIds().join(', ')}`);
  }
  const dir = join(REPO, 'steps', dirName);
  const json = JSON.parse(readFileSync(join(dir, 'exercise.json'), 'utf8')) as { tasks: Record<string, Task> };
  return { step: name, dir, tasks: new Map(Object.entries(json.tasks)) };
}

export const mineOf = (step: string): string => join(MINE, step);

/** A path as the student sees it: relative to the checkout when it is in it (mine/03). */
export const shown = (path: string): string => (path.startsWith(`${REPO}`) ? relative(REPO, path) : path);

/** What a stub says: the task's title, where to read, and the command for a hint. */
export function stubText(exercise: Exercise, id: string): string {
  const task = exercise.tasks.get(id);
  if (!task)
    throw new CourseError(
      `a marker names task ${id}, which ${relative(REPO, exercise.dir)}/exercise.json does not have`,
    );
  return `${task.title} (read: docs/${task.docs.replace('#', '.md#')}; pnpm hint ${exercise.step})`;
}

/**
 * The files of `src/` of a step, as the exercise has them: cut, or as they are; and those its
 * code reads beside it, as they are: `native/` (step 07's C helper), `profiles/` (step 08's
 * seccomp profile).
 */
export function skeletonFiles(exercise: Exercise, only?: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(exercise.dir, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(path, readFileSync(join(exercise.dir, path), 'utf8'));
    }
  };
  for (const dir of ['src', 'native', 'profiles']) if (existsSync(join(exercise.dir, dir))) walk(dir);
  for (const [path, text] of files) {
    if (!path.endsWith('.ts')) continue;
    const isCut = (task: string) => only === undefined || task === only;
    files.set(path, cut(text, path, (task) => stubText(exercise, task), isCut).text);
  }
  return files;
}

/** The tasks a step's sources mark, in order of first appearance. */
export function markedTasks(exercise: Exercise): string[] {
  const tasks: string[] = [];
  for (const [path, text] of skeletonSources(exercise)) {
    for (const task of cut(text, path, () => '').tasks) if (!tasks.includes(task)) tasks.push(task);
  }
  return tasks.sort();
}

/** The step's sources that may hold markers, relative to the step's directory (src/*.ts). */
export const skeletonSourcePaths = (exercise: Exercise): string[] =>
  readdirSync(join(exercise.dir, 'src'))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join('src', name));

function skeletonSources(exercise: Exercise): [string, string][] {
  return skeletonSourcePaths(exercise).map((path) => [path, readFileSync(join(exercise.dir, path), 'utf8')]);
}

/**
 * Writes the exercise of `exercise` to `target`: the cut sources, a package of its own whose
 * @ctr/* dependencies link to the reference packages, or with `fromMine` its earlier steps to the
 * student's own, and whose other dependencies link to the reference's. `only`: cut that task
 * alone (the course's own check of its exercises).
 */
export function writeExercise(
  exercise: Exercise,
  target: string,
  options: { fromMine?: boolean; only?: string } = {},
): void {
  mkdirSync(target, { recursive: true });
  for (const [path, text] of skeletonFiles(exercise, options.only)) {
    mkdirSync(join(target, path, '..'), { recursive: true });
    writeFileSync(join(target, path), text);
  }
  const reference = JSON.parse(readFileSync(join(exercise.dir, 'package.json'), 'utf8')) as {
    description: string;
    dependencies: Record<string, string>;
  };
  writeFileSync(
    join(target, 'package.json'),
    `${JSON.stringify(
      // exports as the reference's: a later step built --from-mine imports this one as @ctr/NN.
      {
        name: `@mine/${exercise.step}`,
        private: true,
        type: 'module',
        description: reference.description,
        exports: { '.': './src/step.ts' },
      },
      null,
      2,
    )}\n`,
  );
  const scope = join(target, 'node_modules', '@ctr');
  rmSync(scope, { recursive: true, force: true });
  mkdirSync(scope, { recursive: true });
  for (const dependency of Object.keys(reference.dependencies).filter((name) => name.startsWith('@ctr/'))) {
    const name = dependency.slice('@ctr/'.length);
    const own = /^\d\d$/.test(name) && options.fromMine ? mineOf(name) : null;
    if (own && !existsSync(join(own, 'src'))) {
      throw new CourseError(
        `--from-mine builds on your step ${name}, and there is no ${shown(mineOf(name))}: do it first (pnpm exercise ${name}), or leave out --from-mine`,
      );
    }
    const source = own ?? (/^\d\d$/.test(name) ? exerciseOf(name).dir : join(REPO, 'shared', name));
    // Relative, so that the links mean the same in any clone of a fork (.gitignore lets them in).
    symlinkSync(relative(scope, source), join(scope, name));
  }
  // The step's own npm dependencies (step 08's koffi) are where pnpm put them, in the reference's
  // node_modules: the exercise is a package outside the workspace, so only a link finds them.
  for (const dependency of Object.keys(reference.dependencies).filter((name) => !name.startsWith('@ctr/'))) {
    const link = join(target, 'node_modules', dependency);
    mkdirSync(join(link, '..'), { recursive: true });
    rmSync(link, { force: true });
    symlinkSync(relative(join(link, '..'), join(exercise.dir, 'node_modules', dependency)), link);
  }
  writeFileSync(
    join(target, 'tsconfig.json'),
    `${JSON.stringify(
      {
        extends: relative(target, join(REPO, 'tsconfig.json')),
        include: ['src'],
        // Where Node's types are, also for an exercise made outside the checkout.
        compilerOptions: { noEmit: true, typeRoots: [relative(target, join(REPO, 'node_modules', '@types'))] },
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(join(target, 'TASKS.md'), tasksText(exercise, options.fromMine ?? false));
}

function tasksText(exercise: Exercise, fromMine: boolean): string {
  const lines = [
    `# Step ${exercise.step}: your turn`,
    '',
    `Each task below is a \`return todo('${exercise.step}.N', ...)\` in src/: replace it with the code. Everything else`,
    `(the shared packages, ${fromMine ? 'your own earlier steps' : 'the earlier steps'}) is there already.`,
    '',
    `    sudo pnpm check ${exercise.step}          test your container on the real kernel`,
    `    sudo pnpm check ${exercise.step} --watch  again on every save`,
    `    pnpm hint ${exercise.step}             the next hint for the first unfinished task`,
    `    pnpm solution ${exercise.step}         the reference, as a diff against your code`,
    `    pnpm reset ${exercise.step}            the skeleton again (your work is kept in mine/.backups/)`,
    '',
  ];
  for (const [id, task] of exercise.tasks)
    lines.push(`- **${id}** ${task.title}. Read: docs/${task.docs.replace('#', '.md#')}`);
  return `${lines.join('\n')}\n`;
}

/** Moves the student's exercise aside, to a directory named by the time; returns it. */
export function backUp(step: string): string {
  const backup = join(MINE, '.backups', `${step}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(join(MINE, '.backups'), { recursive: true });
  renameSync(mineOf(step), backup);
  return backup;
}

/** Copies a tree, for `pnpm solution`'s diff of a task's files. */
export const copyTree = (from: string, to: string): void => cpSync(from, to, { recursive: true });

export interface Progress {
  [step: string]: {
    /** Each task's state at the last check: its stub still there, a failure of its own, all its tests passed, or written but not proven yet. */
    tasks: Record<string, 'not started' | 'failing' | 'passing' | 'written'>;
    /** The task of the first failure of the last check: where the student is. */
    next?: string;
    /** Whether the last check passed every test of the step's suite. */
    passing: boolean;
    checkedAt: string;
    /** How many hints of each task were shown. */
    hints: Record<string, number>;
  };
}

const PROGRESS = join(MINE, '.progress.json');

export function readProgress(): Progress {
  try {
    return JSON.parse(readFileSync(PROGRESS, 'utf8')) as Progress;
  } catch {
    return {};
  }
}

export function writeProgress(progress: Progress): void {
  mkdirSync(MINE, { recursive: true });
  writeFileSync(PROGRESS, `${JSON.stringify(progress, null, 2)}\n`);
}

/** The tasks whose stub is still in the student's code: not started. */
export function stubsLeft(step: string): Set<string> {
  const left = new Set<string>();
  const src = join(mineOf(step), 'src');
  if (!existsSync(src)) return left;
  for (const name of readdirSync(src, { recursive: true }) as string[]) {
    if (!name.endsWith('.ts')) continue;
    for (const match of readFileSync(join(src, name), 'utf8').matchAll(/\btodo\(\s*'(\d\d\.\d+)'/g))
      left.add(match[1] as string);
  }
  return left;
}
