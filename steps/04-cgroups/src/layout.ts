/**
 * Which cgroup layout this machine has, read from /proc/self/mountinfo:
 *
 *   v2 (unified)  /sys/fs/cgroup is cgroup2; controllers listed in its cgroup.controllers
 *   v1 (legacy)   /sys/fs/cgroup is a tmpfs with one cgroup mount per controller
 *   hybrid        v1 controllers, plus a cgroup2 at /sys/fs/cgroup/unified that owns only the
 *                 controllers no v1 hierarchy took (often none): WSL2 and older systemd
 *
 * A controller lives in exactly one place. So the question is per controller: is it in the v2
 * root's cgroup.controllers, or is a v1 hierarchy mounted for it, or neither.
 */
import { readFileSync } from 'node:fs';
import type { Controller, Version } from './limits.js';

/** The controllers the runtime puts a container in: the limited ones, and v1's CPU accounting. */
export type Joined = Controller | 'cpuacct';

export interface Hierarchy {
  version: Version;
  /** Where it is mounted on the host, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** The runtime's own cgroup in it, from /proc/self/cgroup, e.g. `/` or `/user.slice`. */
  ownCgroup: string;
}

export type Layout = Record<Joined, Hierarchy | null>;

/**
 * cpuacct exists in v1 only (v2 counts CPU time in every cgroup's cpu.stat); it is joined so the
 * container's CPU time can be read, even where it is mounted apart from cpu.
 */
export const CONTROLLERS: readonly Joined[] = ['memory', 'pids', 'cpu', 'cpuacct'];

interface CgroupMount {
  fstype: 'cgroup' | 'cgroup2';
  mountPoint: string;
  options: string[];
}

/** The cgroup mounts of a mountinfo text. Its super options follow " - fstype source ". */
export function cgroupMounts(mountinfo: string): CgroupMount[] {
  return mountinfo
    .split('\n')
    .map((line) => line.split(' '))
    .flatMap((fields) => {
      const dash = fields.indexOf('-');
      const fstype = fields[dash + 1];
      if (dash < 0 || (fstype !== 'cgroup' && fstype !== 'cgroup2')) return [];
      return [{ fstype, mountPoint: fields[4] as string, options: (fields[dash + 3] ?? '').split(',') }];
    });
}

/** /proc/self/cgroup: `4:memory:/a/b` (v1, by controller list) and `0::/a` (v2). */
export function ownCgroups(procSelfCgroup: string): { v1: Map<string, string>; v2: string | null } {
  const v1 = new Map<string, string>();
  let v2: string | null = null;
  for (const line of procSelfCgroup.split('\n').filter(Boolean)) {
    const [id, controllers = '', path = '/'] = line.split(/:(.*?):(.*)/s);
    if (id === '0' && controllers === '') v2 = path;
    else for (const controller of controllers.split(',')) v1.set(controller, path);
  }
  return { v1, v2 };
}

// #region detect
export function detectLayout(
  mountinfo: string,
  procSelfCgroup: string,
  v2Controllers: (mountPoint: string) => string[],
): Layout {
  const mounts = cgroupMounts(mountinfo);
  const own = ownCgroups(procSelfCgroup);
  const unified = mounts.find((m) => m.fstype === 'cgroup2');
  const available = unified ? v2Controllers(unified.mountPoint) : [];
  const layout: Layout = { memory: null, pids: null, cpu: null, cpuacct: null };
  for (const controller of CONTROLLERS) {
    const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.options.includes(controller));
    if (unified && available.includes(controller) && controller !== 'cpuacct') {
      layout[controller] = { version: 2, mountPoint: unified.mountPoint, ownCgroup: own.v2 ?? '/' };
    } else if (v1) {
      layout[controller] = { version: 1, mountPoint: v1.mountPoint, ownCgroup: own.v1.get(controller) ?? '/' };
    }
  }
  return layout;
}
// #endregion detect

let layoutOfThisProcess: Layout | undefined;

/**
 * The layout of this machine, as the runtime sees it: read once per process (the runtime, the
 * doctor), since the cgroups feature and the cgroupfs feature both need it on every start.
 */
export function readLayout(): Layout {
  layoutOfThisProcess ??= detectLayout(
    readFileSync('/proc/self/mountinfo', 'utf8'),
    readFileSync('/proc/self/cgroup', 'utf8'),
    (mountPoint) => {
      try {
        return readFileSync(`${mountPoint}/cgroup.controllers`, 'utf8').trim().split(/\s+/);
      } catch {
        return [];
      }
    },
  );
  return layoutOfThisProcess;
}

/** One word for the docs and messages: v2, v1 or hybrid. */
export function describeLayout(mountinfo: string): 'v1' | 'v2' | 'hybrid' | 'none' {
  const mounts = cgroupMounts(mountinfo);
  const hasV1 = mounts.some((m) => m.fstype === 'cgroup');
  const hasV2 = mounts.some((m) => m.fstype === 'cgroup2');
  return hasV1 && hasV2 ? 'hybrid' : hasV2 ? 'v2' : hasV1 ? 'v1' : 'none';
}
