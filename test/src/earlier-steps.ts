/**
 * Each step's suite runs the property groups of every earlier step too: a step must not break what
 * the previous ones did. One step's suite (`pnpm --filter NN test`, `pnpm grade`, `pnpm check NN`)
 * needs them all. A whole-repository run (`pnpm test`) would run group K against every step from K
 * on, a cost that grows with the square of the steps; there each group runs against its own step
 * and the newest, which builds on all the others, and the omitted runs show as one skipped test.
 */
import { existsSync, readdirSync } from 'node:fs';
import { inject, it } from 'vitest';
import { CONTRACT, GRADING } from './kinds.js';
import { REPO } from './paths.js';

declare module 'vitest' {
  interface ProvidedContext {
    /**
     * Set by the root vitest.config.ts (`pnpm test`); `provide` rather than an environment
     * variable, so that a `pnpm --filter NN test` started from a test does not inherit it.
     */
    wholeRepositoryRun: boolean;
  }
}

/** The highest NN of a steps/NN-* directory with a suite of its own. */
export function newestStep(): string {
  const steps = readdirSync(`${REPO}steps`)
    .filter((name) => /^\d\d-/.test(name) && existsSync(`${REPO}steps/${name}/vitest.config.ts`))
    .sort();
  const newest = steps.at(-1);
  if (!newest) throw new Error(`no step with a vitest.config.ts under ${REPO}steps`);
  return newest.slice(0, 2);
}

const twoDigits = (n: number): string => String(n).padStart(2, '0');

/**
 * Registers the groups of the steps before `step`, which `register` calls, against `step`; in a
 * whole-repository run it does so only when `step` is the newest, and otherwise registers one
 * skipped test whose name says where those groups run. Graders (CTR_CLI set: `pnpm grade`,
 * `pnpm check`, which use the root config too) judge each step on its whole suite.
 */
export function earlierSteps(step: string, register: () => void): void {
  const newest = inject('wholeRepositoryRun') && !GRADING ? newestStep() : step;
  if (step === newest) {
    register();
    return;
  }
  const last = Number(step) - 1;
  const steps = last === 1 ? 'step 01' : `steps 01-${twoDigits(last)}`;
  it.skip(
    `step ${step}'s suite: the groups of ${steps} run against step ${step} alone with pnpm --filter ${step} test; ` +
      `in a whole-repository run they run against ${steps} and the newest step (${newest})`,
    CONTRACT,
    () => {},
  );
}
