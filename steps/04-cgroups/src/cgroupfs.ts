/**
 * /sys/fs/cgroup inside the container: its own cgroup, read-only, as docker shows it. Without
 * this the directory is empty (the fresh sysfs of step 03 has nothing mounted on it), and a
 * program that reads its own limit (`cat /sys/fs/cgroup/memory.max`, a JVM sizing its heap)
 * finds nothing.
 *
 * A cgroup filesystem mounted by a process in a cgroup namespace shows that namespace's root, the
 * container's cgroup, as its `/` (cgroup_namespaces(7)): nothing of the host's tree above it. So
 * the host's hierarchies are mounted again, fresh, from inside: cgroup2 on v2; on v1 and hybrid a
 * tmpfs holding each v1 hierarchy, as runc does (libcontainer/rootfs_linux.go, mountCgroupV1 with
 * a cgroup namespace). Only the hierarchies the container has a cgroup of its own in (the layout's:
 * memory, pids, cpu, cpuacct): in the others (freezer, name=systemd, hybrid's empty cgroup2) the
 * namespace's root is the runtime's own cgroup, often the host's `/`, and a mount of it would show
 * the host's tree. Both filesystems may be mounted inside a user namespace that owns the cgroup
 * namespace (FS_USERNS_MOUNT), so step 07 gets the same view without binding host paths (there,
 * without root, the root is the user's own cgroup: none of its own can be made).
 */

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { defineFeature } from '@ctr/runtime';
import {
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
  MS_REMOUNT,
  makeDirectory,
  makeSymlink,
  mount,
} from '@ctr/syscalls';
import { cgroupMounts, type Layout, readLayout } from './layout.js';

export const CGROUPFS = '/sys/fs/cgroup';

/** One cgroup filesystem under /sys/fs/cgroup; `at` is relative to it ('' for /sys/fs/cgroup itself). */
export interface CgroupfsMount {
  fstype: 'cgroup' | 'cgroup2';
  at: string;
  /** v1: which hierarchy (its controllers, or name=systemd); null for cgroup2. */
  options: string | null;
}

export interface CgroupfsPlan {
  /** v1 and hybrid: a tmpfs at /sys/fs/cgroup holds one directory per hierarchy. */
  tmpfs: boolean;
  mounts: CgroupfsMount[];
  /** Comounted controllers (`cpu,cpuacct`) are also reached by each name, as the host's distro links them. */
  links: { name: string; pointsTo: string }[];
}

/**
 * Super options that do not name a hierarchy: rw/ro are the mount's, and release_agent may be
 * set only from the initial namespaces (EPERM inside: the container-escape path it once was).
 */
const notHierarchy = (option: string) => option === 'rw' || option === 'ro' || option.startsWith('release_agent=');

/**
 * What to mount inside, from the host's /proc/self/mountinfo: the hierarchies of the layout (those
 * the container joins), where the host has them.
 */
export function cgroupfsPlan(mountinfo: string, layout: Layout): CgroupfsPlan {
  const joined = new Set(Object.values(layout).map((hierarchy) => hierarchy?.mountPoint));
  const mounts: CgroupfsMount[] = [];
  for (const host of cgroupMounts(mountinfo)) {
    if (!joined.has(host.mountPoint)) continue;
    const at = relative(CGROUPFS, host.mountPoint);
    // Only the conventional places: one level below /sys/fs/cgroup, or /sys/fs/cgroup itself.
    if (at.startsWith('..') || at.includes('/') || mounts.some((m) => m.at === at)) continue;
    const options = host.fstype === 'cgroup' ? host.options.filter((o) => !notHierarchy(o)).join(',') : null;
    mounts.push({ fstype: host.fstype, at, options });
  }
  const unified = mounts.find((m) => m.at === '');
  if (unified) return { tmpfs: false, mounts: [unified], links: [] };
  const links = mounts
    .filter((m) => m.at.includes(','))
    .flatMap((m) => m.at.split(',').map((name) => ({ name, pointsTo: m.at })))
    .filter((link) => !mounts.some((m) => m.at === link.name));
  return { tmpfs: mounts.length > 0, mounts, links };
}

const SAFE = MS_NOSUID | MS_NODEV | MS_NOEXEC;

// #region cgroupfs
/**
 * Trace: `init 04 cgroupfs.setup`, after step 03's pivot_root: the mounts go on the container's
 * own /sys, whose paths the container's processes have had no chance to swap for symlinks yet.
 */
export const cgroupfs = defineFeature({
  name: 'cgroupfs',
  // Trace: `host 04 cgroupfs.configure`, no system call: the host's layout is read here, because
  // inside, after pivot_root, /proc/self/mountinfo shows the container's mounts, not the host's.
  configure: (): CgroupfsPlan => cgroupfsPlan(readFileSync('/proc/self/mountinfo', 'utf8'), readLayout()),
  setup({ tmpfs, mounts, links }) {
    // #task 04.6
    // Read-only from the start (MS_RDONLY on each cgroup mount, then the tmpfs remounted): the
    // container reads its limits but cannot raise them, nor make cgroups, through these mounts.
    if (tmpfs) mount('tmpfs', CGROUPFS, 'tmpfs', SAFE, 'mode=755');
    for (const { fstype, at, options } of mounts) {
      const target = at === '' ? CGROUPFS : `${CGROUPFS}/${at}`;
      if (tmpfs) makeDirectory(target);
      mount(fstype, target, fstype, SAFE | MS_RDONLY, options);
    }
    for (const { name, pointsTo } of links) makeSymlink(pointsTo, `${CGROUPFS}/${name}`);
    if (tmpfs) mount(null, CGROUPFS, null, MS_REMOUNT | SAFE | MS_RDONLY);
    // #end-task
  },
});
// #endregion cgroupfs
