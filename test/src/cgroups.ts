/**
 * A container's cgroups, found from the host the way any implementation can be graded: the
 * kernel's /proc/<pid>/cgroup of one of its processes, joined to the host's cgroup mounts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { childrenOf } from './kernel.js';

export interface CgroupDirs {
  /** The process's cgroup in the cgroup2 hierarchy, if one is mounted. */
  v2: string | null;
  /** Its cgroup in each v1 hierarchy, by controller (cpu, cpuacct, memory, pids...). */
  v1: Map<string, string>;
}

function hostCgroupMounts(): { fstype: string; mountPoint: string; options: string[] }[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .flatMap((fields) => {
      const dash = fields.indexOf('-');
      const fstype = fields[dash + 1] ?? '';
      if (dash < 0 || !fstype.startsWith('cgroup')) return [];
      return [{ fstype, mountPoint: fields[4] as string, options: (fields[dash + 3] ?? '').split(',') }];
    });
}

export function cgroupDirsOf(pid: number): CgroupDirs {
  const mounts = hostCgroupMounts();
  const dirs: CgroupDirs = { v2: null, v1: new Map() };
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').filter(Boolean)) {
    const [, controllers = '', path = '/'] = line.split(/:(.*?):(.*)/s);
    if (controllers === '') {
      const unified = mounts.find((m) => m.fstype === 'cgroup2');
      if (unified) dirs.v2 = join(unified.mountPoint, path);
      continue;
    }
    for (const controller of controllers.split(',')) {
      const mount = mounts.find((m) => m.fstype === 'cgroup' && m.options.includes(controller));
      if (mount) dirs.v1.set(controller, join(mount.mountPoint, path));
    }
  }
  return dirs;
}

/** Where a controller's files are for this process: its v1 hierarchy if it has one, else cgroup2. */
export function controllerDir(dirs: CgroupDirs, controller: string): string {
  const dir = dirs.v1.get(controller) ?? dirs.v2;
  if (!dir || !existsSync(dir)) throw new Error(`no ${controller} cgroup directory for this process`);
  return dir;
}

/** The process's CPU time in microseconds, from its cgroup: cpu.stat (v2) or cpuacct.usage (v1, ns). */
export function cgroupCpuMicros(dirs: CgroupDirs): number {
  const cpuacct = dirs.v1.get('cpuacct');
  if (cpuacct) return Number(readFileSync(join(cpuacct, 'cpuacct.usage'), 'utf8')) / 1000;
  const stat = readFileSync(join(controllerDir(dirs, 'cpu'), 'cpu.stat'), 'utf8');
  return Number(stat.match(/^usage_usec (\d+)$/m)?.[1]);
}

/** A `key value` line of a cgroup file such as pids.events or memory.events. */
export function cgroupCounter(file: string, key: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${key} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/**
 * The cgroup directories a container's process is in that the test process is not: the ones the
 * runtime made for the container (hierarchies it did not join hold both in the same place).
 */
export function containerCgroupDirs(dirs: CgroupDirs, outside: CgroupDirs = cgroupDirsOf(process.pid)): string[] {
  const theirs = [...dirs.v1.values(), ...(dirs.v2 ? [dirs.v2] : [])];
  const ours = new Set([...outside.v1.values(), ...(outside.v2 ? [outside.v2] : [])]);
  return [...new Set(theirs.filter((dir) => !ours.has(dir)))];
}

/** The PID 1 of the container below a runtime: the descendant whose innermost PID is 1. */
export function containerPid1(runtimePid: number): number | null {
  const queue = [runtimePid];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    try {
      const nspid = readFileSync(`/proc/${pid}/status`, 'utf8')
        .match(/^NSpid:\s+(.*)$/m)?.[1]
        ?.split(/\s+/);
      if (pid !== runtimePid && nspid && nspid.length > 1 && nspid.at(-1) === '1') return pid;
      queue.push(...childrenOf(pid));
    } catch {}
  }
  return null;
}
