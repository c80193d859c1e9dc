/**
 * The student's feedback loop (`pnpm bench --check`): how long `pnpm check NN` takes, as a
 * student runs it, to show the first failure of a fresh exercise, and to pass a finished one (the
 * reference's own code in its place). Each in an exercise directory of the bench's own (CTR_MINE).
 */
import { chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstLine, log, REPO, run, type Step } from './common.js';

export interface CheckRow {
  step: string;
  /** `pnpm check NN` on the skeleton, to the first failure it shows. */
  firstFailureMs: number | null;
  /** `pnpm check NN` on a finished exercise: the task tests, then the whole suite. */
  fullPassMs: number | null;
  failed: string | null;
}

function timed(
  args: readonly string[],
  env: Record<string, string | undefined>,
): { ms: number; status: number | null; output: string } {
  const began = process.hrtime.bigint();
  const result = run(['pnpm', '--silent', ...args], REPO, env, 900_000);
  return {
    ms: Number(process.hrtime.bigint() - began) / 1e6,
    status: result.status,
    output: `${result.stdout}${result.stderr}`,
  };
}

export function measureCheck(steps: readonly Step[]): { rows: CheckRow[]; notes: string[] } {
  const mine = mkdtempSync(join(tmpdir(), 'ctr-bench-mine-'));
  chmodSync(mine, 0o755); // step 07's suite runs the CLI as an ordinary user too
  const env = { CTR_MINE: mine, CTR_CLI: undefined };
  const rows: CheckRow[] = [];
  try {
    for (const step of steps) {
      const row: CheckRow = { step: step.number, firstFailureMs: null, fullPassMs: null, failed: null };
      rows.push(row);
      const made = timed(['exercise', step.number], env);
      if (made.status !== 0) {
        row.failed = `pnpm exercise ${step.number}: ${firstLine(made.output)}`;
        continue;
      }
      const first = timed(['check', step.number], env);
      if (first.status === 1 && /This is task \d\d\.\d+/.test(first.output)) row.firstFailureMs = first.ms;
      else row.failed = `the skeleton's check did not stop at a task: ${firstLine(first.output)}`;
      // Finished: the reference's sources in place of the student's.
      rmSync(join(mine, step.number, 'src'), { recursive: true, force: true });
      cpSync(join(step.path, 'src'), join(mine, step.number, 'src'), { recursive: true });
      const full = timed(['check', step.number], env);
      if (full.status === 0) row.fullPassMs = full.ms;
      else row.failed ??= `the finished exercise did not pass: ${firstLine(full.output)}`;
      log(
        `check ${step.number}: first failure in ${row.firstFailureMs?.toFixed(0) ?? '-'} ms, full pass in ${row.fullPassMs?.toFixed(0) ?? '-'} ms`,
      );
    }
  } finally {
    rmSync(mine, { recursive: true, force: true });
  }
  return {
    rows,
    notes: [
      "`pnpm check NN` timed as a student runs it (pnpm, tsx, the TypeScript check, then the suites): **first failure** on a fresh exercise, where the first task is still a stub; **full pass** on a finished one (the reference code in its place): the tests of the step's tasks, then its whole suite (the contract and every earlier step). One run each.",
    ],
  };
}
