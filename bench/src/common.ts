/** What the measurements share: the repository and its steps, running a command, watching a process, formatting. */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const NODE = process.execPath;
/** No single run may hang the benchmark. */
const RUN_TIMEOUT_MS = 60_000;

export interface Step {
  dir: string;
  number: string;
  path: string;
  hasNet: boolean;
  bundle: string;
}

/**
 * The steps of the checkout at `root` (this one, or another commit's for `--compare`). Each bundle
 * is where that checkout's runtime, started through tsx, leaves it: relative to its own source
 * (shared/runtime/src/fast-start.ts; init-program.ts in older commits), so in its own node_modules.
 */
export function listSteps(root = REPO): Step[] {
  const bundles = join(root, 'node_modules', '.cache', 'ctr-init');
  return readdirSync(join(root, 'steps'))
    .filter((dir) => /^\d\d-/.test(dir))
    .sort()
    .map((dir) => {
      const number = dir.slice(0, 2);
      return {
        dir,
        number,
        path: join(root, 'steps', dir),
        hasNet: Number(number) >= 5,
        bundle: join(bundles, `${dir}.cjs`),
      };
    });
}

export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** `env` is added to this process's environment. */
export function run(
  command: readonly string[],
  cwd: string,
  env?: Record<string, string | undefined>,
  timeoutMs = RUN_TIMEOUT_MS,
): SpawnSyncReturns<string> {
  return spawnSync(command[0] as string, command.slice(1), {
    cwd,
    env: env && { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
}

export function ok(result: SpawnSyncReturns<string>): boolean {
  return !result.error && result.status === 0;
}

export function exitStatus(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit ${code}`;
}

/**
 * The line that says why a command failed: its first stderr line that is not pnpm's own epilogue.
 * `timeoutMs` is the one it was run with.
 */
export function failureLine(result: SpawnSyncReturns<string>, timeoutMs = RUN_TIMEOUT_MS): string {
  if (result.error)
    return (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT'
      ? `timed out after ${timeoutMs / 1000} s`
      : result.error.message;
  const lines = `${result.stderr ?? ''}\n${result.stdout ?? ''}`
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const at = Math.max(
    0,
    lines.findIndex((l) => !/ELIFECYCLE|ERR_PNPM|^>|^\$/.test(l)),
  );
  // "Build failed with 1 error:" says what only with the line after it.
  const line =
    lines[at]?.endsWith(':') && lines[at + 1] ? `${lines[at]} ${lines[at + 1]}` : (lines[at] ?? '(no output)');
  return `${line.slice(0, 200)} (${exitStatus(result.status, result.signal)})`;
}

export interface Outcome {
  ms: number;
  failed: string | null;
}

/** One run, timed from spawn to exit; the reason when it failed. */
export function timedRun(
  command: readonly string[],
  cwd: string,
  env?: Record<string, string>,
  timeoutMs = RUN_TIMEOUT_MS,
): Outcome {
  const start = process.hrtime.bigint();
  const result = run(command, cwd, env, timeoutMs);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms: Math.round(ms * 100) / 100, failed: ok(result) ? null : failureLine(result, timeoutMs) };
}

/** Median, min and max of the samples; null when there are none. */
export function medianMinMax(samplesMs: readonly number[]): {
  medianMs: number | null;
  minMs: number | null;
  maxMs: number | null;
} {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const medianMs =
    sorted.length === 0
      ? null
      : sorted.length % 2
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { medianMs, minMs: sorted[0] ?? null, maxMs: sorted.at(-1) ?? null };
}

export interface Spawned {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function spawnCollecting(command: readonly string[], cwd: string): Spawned {
  const child = spawn(command[0] as string, command.slice(1), { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, stderr: error.message }));
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { pid: child.pid ?? -1, exited };
}

export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !/ELIFECYCLE|ERR_PNPM/.test(l)) ?? '(no output)'
  ).slice(0, 200);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Children of every thread of `pid`: /proc/<pid>/task/<tid>/children lists only what that thread
 * forked, and runc (Go) forks from any of its threads.
 */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

export function fmtMs(ms: number | null): string {
  if (ms === null) return '–';
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

export function fmtMiB(kib: number | null): string {
  return kib === null ? '–' : `${(kib / 1024).toFixed(1)} MiB`;
}

export function relativeToRepo(path: string): string {
  return path.startsWith(REPO) ? path.slice(REPO.length) : path;
}

/** The command name of `pid` (/proc/<pid>/comm), or "?" once it is gone. */
export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** A `Name:   123 kB` line of a /proc/<pid> file (`Pss` of smaps_rollup, `VmRSS` of status), in KiB. */
export function kibField(pid: number, file: string, field: string): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
