/**
 * docs/traces/ holds what the runtime did, call by call, in real runs (docs/scripts/traces.ts).
 * This test runs every step again with the same code and compares: when the runtime changes what
 * it does, the pages that show the traces must follow (`sudo pnpm docs:traces`).
 *
 * The comparison is role by role (the host's lines with the host's, the init's with the init's,
 * the helper's with the helper's): two processes interleave differently from run to run. fd
 * numbers, addresses and the few other things two equal runs differ in are masked (`masked`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Difference,
  firstDifference,
  type GeneratedTraces,
  generateTraces,
  LIFE_FLAGS,
  listSteps,
  listTraceFiles,
  PHASES,
  readTraceFile,
  roleOf,
} from '../scripts/traces.ts';

const REGENERATE = 'run: sudo pnpm docs:traces';
/**
 * Steps that add commands and no feature: their `start` makes the very calls of the step before,
 * and their page says so. Held to exactly that: a call new in such a step is a surprise.
 */
const SAME_START_AS_THE_STEP_BEFORE = new Map([
  ['10', 'step 10 adds commands (run -d, ps, exec...) and no feature: a container is set up as in step 09'],
]);
const steps = listSteps().map(({ step }) => step);

let generated: GeneratedTraces | undefined;
let failure: Error | undefined;

/** The regenerated traces; a failed generation fails every test that needs them, with its reason. */
function regenerated(): GeneratedTraces {
  if (failure) throw failure;
  if (!generated) throw new Error('the traces were not generated');
  return generated;
}

function explain(file: string, what: string, difference: Difference): string {
  const show = (line: string | null): string => line ?? `(none: its ${difference.role} lines end before this one)`;
  return [
    `docs/traces/${file} no longer matches ${what}: the ${difference.role} lines differ at the ${difference.role}'s line ${difference.position}`,
    `  checked in:  ${show(difference.checkedIn)}`,
    `  this run:    ${show(difference.regenerated)}`,
    `(compared role by role, with fd numbers, IPv4 and MAC addresses masked: masked() in docs/scripts/traces.ts.) If the change is intended, ${REGENERATE}`,
  ].join('\n');
}

/** Fails with the first difference between the checked-in file and the lines of this run. */
function expectSame(file: string, what: string, lines: readonly string[]): void {
  const checkedIn = readTraceFile(file);
  if (checkedIn === null) expect.fail(`docs/traces/${file} does not exist: ${REGENERATE}`);
  const difference = firstDifference(checkedIn, lines);
  if (difference) expect.fail(explain(file, what, difference));
}

describe('the traces in the docs (docs/traces/) are those of the runtime as it is', () => {
  beforeAll(async () => {
    try {
      generated = await generateTraces();
    } catch (error) {
      failure = new Error(
        `the traces could not be generated: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }, 300_000);

  it('finds the steps to trace', () => {
    expect(steps.length).toBeGreaterThan(0);
  });

  it('gets trace lines of the host and the init from every step (a broken CTR_TRACE would give none)', () => {
    const { steps: traces } = regenerated();
    expect(traces.map(({ step }) => step)).toEqual(steps);
    for (const { step, lines } of traces) {
      const roles = new Set(lines.map(roleOf));
      expect(lines.length, `trace lines of step ${step}`).toBeGreaterThanOrEqual(10);
      expect([...roles].sort(), `roles in the trace of step ${step}`).toEqual(expect.arrayContaining(['host', 'init']));
    }
  });

  it.each(steps)('docs/traces/%s.txt: start /bin/true of the step, role by role', (step) => {
    const trace = regenerated().steps.find((t) => t.step === step);
    expect(trace, `a trace of step ${step}`).toBeDefined();
    expectSame(`${step}.txt`, `a run of step ${step}`, trace?.lines ?? []);
  });

  it.each(steps)('docs/traces/%s.diff: the same lines, and marks what is new since the step before', (step) => {
    const file = `${step}.diff`;
    const lines = regenerated().files.get(file)?.split('\n').filter(Boolean) ?? [];
    expectSame(file, `a run of step ${step} marked against the step before`, lines);
    const checkedIn = readTraceFile(file) ?? [];
    const marked = checkedIn.filter((line) => line.startsWith('+ ')).length;
    const sameAsBefore = SAME_START_AS_THE_STEP_BEFORE.get(step);
    if (sameAsBefore) expect(marked, `lines marked new in docs/traces/${file}: none, since ${sameAsBefore}`).toBe(0);
    else expect(marked, `lines marked new ("+ ") in docs/traces/${file}`).toBeGreaterThan(0);
    expect(
      checkedIn.filter((line) => !/^[+ ] /.test(line)),
      `lines of docs/traces/${file} without a marker`,
    ).toEqual([]);
  });

  it.each(PHASES)(`docs/traces/life/%s.txt: the phase of start ${LIFE_FLAGS.join(' ')} /bin/true`, (phase) => {
    const lines = regenerated().life.find((p) => p.phase === phase)?.lines ?? [];
    expect(lines.length, `lines in phase ${phase}`).toBeGreaterThan(0);
    expectSame(`life/${phase}.txt`, `phase ${phase} of the life run`, lines);
  });

  it('has no file in docs/traces/ that the generator does not make', () => {
    const expected = [...regenerated().files.keys()].sort();
    expect(listTraceFiles().sort(), REGENERATE).toEqual(expected);
  });
});
