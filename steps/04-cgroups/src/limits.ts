/**
 * docker's limit flags, parsed and turned into cgroup files. Pure functions: what gets written
 * where is decided here and unit-tested, the writing happens in cgroups.ts.
 */
import { UsageError } from '@ctr/runtime';

export interface Limits {
  /** Bytes of memory, swap included (see memoryFiles). */
  memory?: number;
  /** Most tasks (processes and threads) at once. */
  pids?: number;
  /** CPUs' worth of time per scheduling period, e.g. 0.5. */
  cpus?: number;
}

/**
 * Below this the limit cannot even be written: the runtime's init is a Node process whose ~40 MiB
 * are already charged to the cgroup when the limits are set (v1 refuses with EBUSY, v2 would
 * OOM-kill the init). docker's minimum is 6m; its init is not a JavaScript runtime.
 */
export const MIN_MEMORY = 64 * 1024 * 1024;
export const CPU_PERIOD_US = 100_000;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `100m`, `1g`, `1.5g`, `52428800` (docker's RAMInBytes: binary units, case-insensitive). */
export function parseMemory(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(text.trim());
  const bytes = match ? Math.floor(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1)) : Number.NaN;
  if (!Number.isFinite(bytes) || bytes <= 0) {
    throw new UsageError(`--memory "${text}" is not a size: use a number with b, k, m or g, e.g. --memory 100m`);
  }
  if (bytes < MIN_MEMORY)
    throw new UsageError(`--memory ${text} is below the minimum of 64m (the runtime's own init needs ~40m)`);
  return bytes;
}

export function parsePidsLimit(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new UsageError(`--pids-limit "${text}" must be a whole number of at least 1, e.g. --pids-limit 100`);
  }
  return Number(text);
}

export function parseCpus(text: string, available: number): number {
  const cpus = Number(text);
  if (!/^\d*\.?\d+$/.test(text.trim()) || !(cpus >= 0.01)) {
    throw new UsageError(`--cpus "${text}" must be a number of CPUs of at least 0.01, e.g. --cpus 0.5`);
  }
  if (cpus > available) throw new UsageError(`--cpus ${text} is more than the ${available} CPUs of this machine`);
  return cpus;
}

export type Controller = 'memory' | 'pids' | 'cpu';
export type Version = 1 | 2;

export interface LimitFile {
  controller: Controller;
  file: string;
  value: string;
  /** Some kernels lack the file (memsw without swap accounting): skip instead of failing. */
  optional?: boolean;
}

// #region limit-files
/** The files, named as the cgroup version names them, and what goes in them. */
export function limitFiles(limits: Limits, version: (controller: Controller) => Version): LimitFile[] {
  const files: LimitFile[] = [];
  if (limits.memory !== undefined) {
    const bytes = String(limits.memory);
    // Swap is limited to nothing extra, so --memory is the whole budget and an allocation past it
    // is OOM-killed instead of swapped out (docker would allow as much swap again).
    if (version('memory') === 2) {
      files.push({ controller: 'memory', file: 'memory.max', value: bytes });
      files.push({ controller: 'memory', file: 'memory.swap.max', value: '0', optional: true });
    } else {
      files.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: bytes });
      files.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: bytes, optional: true });
    }
  }
  if (limits.pids !== undefined) {
    files.push({ controller: 'pids', file: 'pids.max', value: String(limits.pids) });
  }
  if (limits.cpus !== undefined) {
    const quota = String(Math.round(limits.cpus * CPU_PERIOD_US));
    if (version('cpu') === 2) {
      files.push({ controller: 'cpu', file: 'cpu.max', value: `${quota} ${CPU_PERIOD_US}` });
    } else {
      files.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CPU_PERIOD_US) });
      files.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: quota });
    }
  }
  return files;
}

/** Where the kernel counts OOM kills, and the line to read. */
export function oomCounter(version: Version): { file: string; key: string } {
  return version === 2 ? { file: 'memory.events', key: 'oom_kill' } : { file: 'memory.oom_control', key: 'oom_kill' };
}
// #endregion limit-files
