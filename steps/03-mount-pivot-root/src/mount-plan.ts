/**
 * What the container's filesystem tree gets on top of the rootfs, as data: the same list runc
 * builds from an OCI spec's "mounts", "maskedPaths" and "readonlyPaths". Each entry is applied
 * in order, under the rootfs, before pivot_root (see pivot-root.ts).
 */
import type { Bind, ContainerSpec } from '@ctr/runtime';
import { MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_STRICTATIME } from '@ctr/syscalls';

export type MountStep =
  /** A new filesystem instance: proc, tmpfs, devpts, sysfs, mqueue. */
  | { kind: 'mount'; fstype: string; target: string; flags: number; data?: string }
  /** A host file bound in, e.g. the /dev/null device node. */
  | { kind: 'bind-device'; device: string }
  /** A host file or directory: a -v volume, or a file of spec.etcFiles (resolv.conf). Recursive. */
  | { kind: 'bind'; source: string; target: string; readonly: boolean }
  | { kind: 'symlink'; target: string; pointsTo: string }
  /** Visible but unwritable: bound onto itself, then remounted read-only. */
  | { kind: 'read-only'; target: string }
  /** Hidden: /dev/null over a file, an empty read-only tmpfs over a directory. */
  | { kind: 'mask'; target: string };

const SAFE = MS_NOSUID | MS_NODEV | MS_NOEXEC;

/** The device nodes a program can expect, bound from the host (no mknod: it is refused in step 07's user namespace). */
export const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'] as const;

/** Writable parts of /proc that reach the whole machine: sysctls, the magic SysRq key, IRQ routing. */
export const READ_ONLY_PROC = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs'];
/** What /proc reveals of the host's kernel memory and keys; runc hides the same list. */
export const MASKED_PROC = [
  '/proc/kcore',
  '/proc/keys',
  '/proc/timer_list',
  '/proc/sched_debug',
  '/proc/acpi',
  '/proc/scsi',
];

export function mountPlan(): MountStep[] {
  return [
    // A procfs shows the PID namespace of the process that mounts it: the init is PID 1 of the
    // container's, so this /proc lists the container's processes only.
    { kind: 'mount', fstype: 'proc', target: '/proc', flags: SAFE },
    ...READ_ONLY_PROC.map((target): MountStep => ({ kind: 'read-only', target })),
    ...MASKED_PROC.map((target): MountStep => ({ kind: 'mask', target })),
    { kind: 'mount', fstype: 'tmpfs', target: '/dev', flags: MS_NOSUID | MS_STRICTATIME, data: 'mode=755,size=65536k' },
    ...DEVICES.map((device): MountStep => ({ kind: 'bind-device', device })),
    // newinstance: the container's own pty numbering, not a window onto the host's terminals.
    {
      kind: 'mount',
      fstype: 'devpts',
      target: '/dev/pts',
      flags: MS_NOSUID | MS_NOEXEC,
      data: 'newinstance,ptmxmode=0666,mode=0620',
    },
    { kind: 'symlink', target: '/dev/ptmx', pointsTo: 'pts/ptmx' },
    { kind: 'mount', fstype: 'tmpfs', target: '/dev/shm', flags: SAFE, data: 'mode=1777,size=65536k' },
    // POSIX message queues of the container's IPC namespace (step 02).
    { kind: 'mount', fstype: 'mqueue', target: '/dev/mqueue', flags: SAFE },
    { kind: 'symlink', target: '/dev/fd', pointsTo: '/proc/self/fd' },
    { kind: 'symlink', target: '/dev/stdin', pointsTo: '/proc/self/fd/0' },
    { kind: 'symlink', target: '/dev/stdout', pointsTo: '/proc/self/fd/1' },
    { kind: 'symlink', target: '/dev/stderr', pointsTo: '/proc/self/fd/2' },
    // Read-only: /sys/kernel, /sys/power and friends would change the host's kernel.
    { kind: 'mount', fstype: 'sysfs', target: '/sys', flags: SAFE | MS_RDONLY },
  ];
}

/** A bind (-v, or a file of spec.etcFiles) as a step of the plan; applied after the plan's own. */
export function bindStep(bind: Bind): MountStep {
  return { kind: 'bind', ...bind };
}

/** The host files other features asked to see in the container's /etc (step 05's resolv.conf). */
export function etcBinds(etcFiles: ContainerSpec['etcFiles']): MountStep[] {
  return Object.entries(etcFiles).map(([file, source]) =>
    bindStep({ source: source as string, target: `/etc/${file}`, readonly: true }),
  );
}
