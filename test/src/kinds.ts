/**
 * The two kinds of test, as vitest tags. A describe's tag applies to every test in it; a test
 * tagged `reference` inside a `contract` describe is a reference test.
 *
 *   contract   what any implementation of docs/cli.md must do: exit statuses, one clean error
 *              line naming the culprit, kernel facts read from /proc and /sys
 *   reference  this implementation's own wording, names, clean-up command and design choices;
 *              not run when CTR_CLI grades another implementation
 */
export const GRADING = Boolean(process.env.CTR_CLI);

export const TEST_KINDS = [
  { name: 'contract', description: 'what any implementation of docs/cli.md must do' },
  {
    name: 'reference',
    description: "this implementation's own wording and design; not run under CTR_CLI",
    skip: GRADING,
  },
];

/** Options for `describe(name, CONTRACT, ...)` and `it(name, REFERENCE, ...)`. */
export const CONTRACT = { tags: ['contract'] };
export const REFERENCE = { tags: ['reference'] };

/**
 * The task of a step's exercise that a test checks (exercise.json of the step): `pnpm check NN`
 * runs these first and names the task of the first that fails. `it(name, task('03.2'), fn)`.
 */
export const task = (id: string) => ({ meta: { task: id } });

/**
 * Whether a run limited by CTR_CHECK_TASKS (a step `NN` or one task `NN.K`: `pnpm check`,
 * `pnpm exercises:verify`) includes a test of `taskId`; a test with no task is in none. Unset,
 * every test is included.
 */
export function checkedTask(taskId: string | undefined, only = process.env.CTR_CHECK_TASKS): boolean {
  return !only || taskId === only || taskId?.startsWith(`${only}.`) === true;
}

declare module 'vitest' {
  interface TaskMeta {
    /** The exercise task a test checks, e.g. `03.2`. */
    task?: string;
  }
}
