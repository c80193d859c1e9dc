/**
 * `--compare <ref>`: the step rows of another commit, measured in the same rounds as this
 * checkout's, so that both pay the same load. That commit is checked out as a git worktree in a
 * temporary directory, installed from the local pnpm store, and removed at the end, however the
 * run ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureLine, listSteps, log, type Outcome, ok, REPO, run, type Step } from './common.js';
import type { Timing } from './latency.js';

export interface OtherTree {
  ref: string;
  commit: string;
  dir: string;
  steps: Step[];
  /** Added to its runs: its runtime would otherwise make a rootfs of its own in the worktree. */
  env: Record<string, string>;
  remover: ChildProcess;
}

/** One step: the median of this checkout and of the other commit, and how far apart they are. */
export interface ComparedRow {
  step: string;
  net: string | null;
  currentMs: number | null;
  otherMs: number | null;
  /** Current minus other: more than 0 is slower now. */
  diffMs: number | null;
  /** diffMs as a percentage of the other commit's median. */
  diffPercent: number | null;
  /** Why a median is missing. */
  failed: string | null;
}

export interface Comparison {
  ref: string;
  /** What `ref` resolved to when the run began. */
  commit: string;
  rows: ComparedRow[];
  /** The other commit's timings, every sample. */
  timings: Timing[];
  warmupsTsxMs: Record<string, Outcome>;
}

/** The full hash of the commit `ref` names, or null when git knows no such commit. */
export function resolveCommit(ref: string): string | null {
  const result = run(['git', 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], REPO);
  return ok(result) ? result.stdout.trim() : null;
}

/** `commit` checked out and installed; throws, having removed it again, when that fails. */
export function checkOut(ref: string, commit: string, rootfs: string): OtherTree {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-bench-compare-'));
  // mkdtemp makes it 0700: step 07's init, running as a mapped uid, could not reach its bundle.
  chmodSync(dir, 0o755);
  const tree: OtherTree = { ref, commit, dir, steps: [], env: { CTR_ROOTFS: rootfs }, remover: removerFor(dir) };
  log(`--compare ${ref}: commit ${commit}, checked out in ${dir}`);
  const steps: [string, string[], string][] = [
    ['git worktree add', ['git', 'worktree', 'add', '--detach', dir, commit], REPO],
    // The store is local: nothing is downloaded, and a lockfile the store cannot satisfy fails here.
    ['pnpm install', ['pnpm', 'install', '--offline', '--frozen-lockfile'], dir],
  ];
  for (const [what, command, cwd] of steps) {
    const result = run(command, cwd);
    if (!ok(result)) {
      removeTree(tree);
      throw new Error(`${what}: ${failureLine(result)}`);
    }
  }
  tree.steps = listSteps(dir);
  return tree;
}

/** The worktree removed now; the remover, told to end, finds nothing left to do. */
export function removeTree(tree: OtherTree): void {
  const removed = run(['git', 'worktree', 'remove', '--force', tree.dir], REPO);
  if (ok(removed)) log(`--compare ${tree.ref}: worktree ${tree.dir} removed`);
  else log(`--compare ${tree.ref}: git worktree remove: ${failureLine(removed)}; the remover deletes it`);
  tree.remover.stdin?.end();
}

/**
 * A process that removes the worktree once the benchmark is gone, however it goes. Ctrl-C kills
 * the benchmark at once: the latency rounds are synchronous (spawnSync), so a SIGINT handler of
 * ours would not run before they end, and a `finally` never runs. The remover waits in a session
 * of its own (the terminal's SIGINT does not reach it) for the end of its stdin, which comes when
 * this process ends its side or exits.
 */
function removerFor(dir: string): ChildProcess {
  const script =
    'cat >/dev/null; git -C "$1" worktree remove --force "$2" 2>/dev/null || rm -rf "$2"; git -C "$1" worktree prune';
  const remover = spawn('sh', ['-c', script, 'sh', REPO, dir], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  remover.unref(); // the benchmark's end does not wait for it
  return remover;
}

/** One row per step that either side has: the compared bundle row of each. */
export function compareRows(current: readonly Timing[], other: readonly Timing[], ref: string): ComparedRow[] {
  const mine = current.filter((t) => t.group === 'step' && t.entry === 'bundle' && t.net !== 'bridge');
  const steps = [...new Set([...mine, ...other].map((t) => t.step as string))].sort();
  return steps.map((step) => {
    const a = mine.find((t) => t.step === step);
    const b = other.find((t) => t.step === step);
    const currentMs = a?.medianMs ?? null;
    const otherMs = b?.medianMs ?? null;
    const why = [
      a ? a.failed && `now: ${a.failed}` : 'no such step now',
      b ? b.failed && `${ref}: ${b.failed}` : `no such step at ${ref}`,
    ].filter(Boolean);
    return {
      step,
      net: (a ?? b)?.net ?? null,
      currentMs,
      otherMs,
      ...change(currentMs, otherMs),
      failed: why.length > 0 ? why.join('; ') : null,
    };
  });
}

/** How far `ms` is from `base`, in ms and in % of `base`; null where either is missing. */
export function change(ms: number | null, base: number | null): { diffMs: number | null; diffPercent: number | null } {
  if (ms === null || base === null || base <= 0) return { diffMs: null, diffPercent: null };
  return { diffMs: Math.round((ms - base) * 100) / 100, diffPercent: Math.round(((ms - base) / base) * 1000) / 10 };
}
