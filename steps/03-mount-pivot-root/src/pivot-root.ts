/**
 * Moves the container into its rootfs, inside the new mount namespace (CLONE_NEWNS) the init
 * unshared. The order is the lesson:
 *
 *  1. `/` recursively private, before any other mount: a new mount namespace starts as a copy
 *     whose mounts keep the host's propagation, and on most systems (systemd) `/` is shared, so
 *     every mount below would appear on the host too.
 *  2. The rootfs bind-mounted onto itself: pivot_root(2) fails with EINVAL unless the new root is
 *     a mount point.
 *  3. /proc, /dev, /sys mounted under the rootfs (mount-plan.ts), while the host's /dev is still
 *     reachable for the device nodes.
 *  4. pivot_root(".", "."): the new root goes to `/` and the old root is stacked on top of it,
 *     so no directory for the old root is needed; then it is detached (MNT_DETACH) and the host's
 *     whole tree is gone from the container. A chroot would leave it one `..` walk away.
 */
import { closeSync, lstatSync, mkdirSync, openSync, realpathSync, symlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Bind, RuntimeError } from '@ctr/runtime';
import {
  chdir,
  MNT_DETACH,
  MS_BIND,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_REMOUNT,
  makeReadOnlyRecursive,
  mount,
  pivotRoot,
  umount2,
} from '@ctr/syscalls';
import { bindStep, type MountStep, mountPlan } from './mount-plan.js';

// #region enter
export function enterRootfs(rootfs: string, binds: readonly Bind[] = []): void {
  mount(null, '/', null, MS_REC | MS_PRIVATE);
  const root = realpathSync(rootfs);
  mount(root, root, null, MS_BIND | MS_REC);
  for (const step of [...mountPlan(), ...binds.map(bindStep)]) applyMountStep(root, step);
  chdir(root);
  try {
    pivotRoot('.', '.');
  } catch (error) {
    throw new RuntimeError(`cannot pivot into ${root}: ${(error as Error).message}`, undefined, { cause: error });
  }
  umount2('.', MNT_DETACH);
  chdir('/');
}
// #endregion enter

// #region apply
function applyMountStep(root: string, step: MountStep): void {
  switch (step.kind) {
    case 'mount': {
      const target = inside(root, step.target, 'directory');
      try {
        mount(step.fstype, target, step.fstype, step.flags, step.data ?? null);
      } catch (error) {
        // In a user namespace (step 07) only the owner of the network namespace may mount a new
        // sysfs: with --net host that is the host, so the host's /sys is bound in, read-only.
        if (step.fstype !== 'sysfs' || (error as { code?: string }).code !== 'EPERM') throw error;
        // Recursive, or the kernel refuses (EINVAL): a bind without what is mounted below would
        // uncover what those mounts hide. All of it, the host's cgroup mounts too, made read-only.
        mount('/sys', target, null, MS_BIND | MS_REC);
        makeReadOnlyRecursive(target);
      }
      return;
    }
    case 'bind-device': {
      const target = inside(root, `/dev/${step.device}`, 'file');
      mount(`/dev/${step.device}`, target, null, MS_BIND);
      return;
    }
    case 'symlink':
      symlinkSync(step.pointsTo, inside(root, step.target, 'none'));
      return;
    case 'bind': {
      const target = inside(root, step.target, lstatSync(step.source).isDirectory() ? 'directory' : 'file');
      mount(step.source, target, null, MS_BIND);
      if (step.readonly) mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY);
      return;
    }
    case 'read-only': {
      const target = existing(root, step.target);
      if (!target) return;
      mount(target, target, null, MS_BIND | MS_REC);
      // A bind mount ignores MS_RDONLY on creation: read-only takes a remount, which changes this
      // one mount only (MS_REC means nothing to a remount). /proc/sys has nothing mounted below.
      mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY);
      return;
    }
    case 'mask': {
      const target = existing(root, step.target);
      if (!target) return;
      if (lstatSync(target).isDirectory()) mount('tmpfs', target, 'tmpfs', MS_RDONLY);
      else mount('/dev/null', target, null, MS_BIND);
      return;
    }
  }
}
// #endregion apply

// #region inside
/**
 * The host path of `path` inside the rootfs, created as `kind`, and proven to stay inside: a
 * rootfs is untrusted input, and a symlink such as /proc -> /etc would otherwise put the mount
 * on the host's /etc (runc's CVE-2019-19921 was of this family).
 */
function inside(root: string, path: string, kind: 'directory' | 'file' | 'none'): string {
  const full = `${root}${path}`;
  mkdirSync(dirname(full), { recursive: true });
  if (kind === 'directory') mkdirSync(full, { recursive: true });
  if (kind === 'file') closeSync(openSync(full, 'a'));
  const resolved = kind === 'none' ? `${realpathSync(dirname(full))}/${path.split('/').pop()}` : realpathSync(full);
  if (resolved !== root && !resolved.startsWith(`${root}/`)) {
    throw new RuntimeError(
      `refusing to mount on ${path}: in this rootfs it resolves to ${resolved}, outside the rootfs`,
    );
  }
  return resolved;
}

/** Like inside(), for paths only the kernel makes (in /proc): absent ones are skipped. */
function existing(root: string, path: string): string | null {
  try {
    lstatSync(`${root}${path}`);
  } catch {
    return null;
  }
  return `${root}${path}`;
}
// #endregion inside
