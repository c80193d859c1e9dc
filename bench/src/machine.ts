/** The machine the figures were measured on, as the report states it. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ok, REPO } from './common.js';

export interface Machine {
  date: string;
  kernel: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  pnpm: string | null;
  cgroups: string;
  rootfs: string;
  rootfsDescription: string;
  commit: string | null;
  loadBefore: number[];
  loadAfter: number[];
}

/** Everything but `loadAfter`, which the caller sets once the measurements are done. */
export function describeMachine(rootfs: string): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const osRelease = (() => {
    try {
      return /^PRETTY_NAME="?(.*?)"?$/m.exec(readFileSync(join(rootfs, 'etc/os-release'), 'utf8'))?.[1] ?? 'unknown';
    } catch {
      return 'unknown';
    }
  })();
  const git = spawnSync('git', ['-C', REPO, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  const pnpm = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? 'v2 (unified)'
    : existsSync('/sys/fs/cgroup/unified')
      ? 'hybrid (v1 controllers + cgroup2 at /sys/fs/cgroup/unified)'
      : 'v1';
  return {
    date: new Date().toISOString(),
    kernel: release(),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    pnpm: ok(pnpm) ? pnpm.stdout.trim() : null,
    cgroups,
    rootfs,
    rootfsDescription: osRelease,
    commit: ok(git) ? git.stdout.trim() : null,
    loadBefore: loadAverage(),
    loadAfter: [],
  };
}

export function loadAverage(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}
