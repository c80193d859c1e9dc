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
import { closeSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { RuntimeError } from '@ctr/runtime';
import {
  chdir,
  closeFile,
  createFile,
  MNT_DETACH,
  MS_BIND,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_REMOUNT,
  makeDirectory,
  makeReadOnlyRecursive,
  makeSymlink,
  mount,
  openInRoot,
  openReadOnly,
  pivotRoot,
  umount2,
} from '@ctr/syscalls';
import type { MountStep } from './mount-plan.js';

// #region enter
export function enterRootfs(rootfs: string, plan: readonly MountStep[]): void {
  // #task 03.1
  mount(null, '/', null, MS_REC | MS_PRIVATE);
  // #end-task
  const root = reachable(rootfs);
  // #task 03.2
  mount(root, root, null, MS_BIND | MS_REC);
  // #end-task
  const rootFd = openReadOnly(root);
  try {
    for (const step of plan) applyMountStep(rootFd, step);
  } finally {
    closeFile(rootFd);
  }
  // #task 03.2
  chdir(root);
  try {
    pivotRoot('.', '.');
  } catch (error) {
    throw new RuntimeError(`cannot pivot into ${root}: ${(error as Error).message}`, undefined, { cause: error });
  }
  umount2('.', MNT_DETACH);
  chdir('/');
  // #end-task
}
// #endregion enter

/** The rootfs's real path, or why the init cannot reach it. */
function reachable(rootfs: string): string {
  try {
    return realpathSync(rootfs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RuntimeError(
      `cannot reach the rootfs ${rootfs} from the container's init (${code}): every directory above it must be searchable by the init's uid (chmod o+x)`,
    );
  }
}

// #region apply
function applyMountStep(root: number, step: MountStep): void {
  // #task 03.3
  switch (step.kind) {
    case 'mount':
      at(root, step.target, 'directory', (target) =>
        mount(step.fstype, target, step.fstype, step.flags, step.data ?? null),
      );
      return;
    case 'bind-device':
      at(root, `/dev/${step.device}`, 'file', (target) => mount(`/dev/${step.device}`, target, null, MS_BIND));
      return;
    case 'symlink':
      create(root, step.target, (path) => makeSymlink(step.pointsTo, path));
      return;
    case 'bind': {
      const kind = statSync(step.source).isDirectory() ? 'directory' : 'file';
      // MS_REC, as docker's -v: what is mounted below the source comes along (without it, the
      // bind would uncover what those mounts hide).
      at(root, step.target, kind, (target) => mount(step.source, target, null, MS_BIND | MS_REC));
      // Read-only all the way down (mount_setattr, Linux 5.12+): a remount changes one mount only.
      // Opened again: the path now leads to the new mount, the old descriptor to what is under it.
      if (step.readonly) at(root, step.target, kind, (target) => makeReadOnlyRecursive(target));
      return;
    }
    case 'read-only':
      // Only paths the kernel made (in the fresh /proc): absent ones are skipped.
      if (!at(root, step.target, null, (target) => mount(target, target, null, MS_BIND | MS_REC))) return;
      // A bind mount ignores MS_RDONLY on creation: read-only takes a remount, which changes this
      // one mount only (MS_REC means nothing to a remount). /proc/sys has nothing mounted below.
      at(root, step.target, null, (target) => mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY));
      return;
    case 'mask':
      at(root, step.target, null, (target) => {
        if (statSync(target).isDirectory()) mount('tmpfs', target, 'tmpfs', MS_RDONLY);
        else mount('/dev/null', target, null, MS_BIND);
      });
      return;
  }
  // #end-task
}
// #endregion apply

// #region inside
/**
 * Runs `use` on `path` of the rootfs through a descriptor that cannot point outside the rootfs,
 * after making the path as `kind` when it is missing (null: skip it then). A rootfs is untrusted
 * input: a symlink such as /proc -> /etc would otherwise put the mount on the host's /etc (runc's
 * CVE-2019-19921), and checking a path before mounting on it leaves a moment for another process
 * to swap a symlink in (the rootfs is shared with every other container that runs it). So the
 * kernel resolves the path inside the root (openat2 RESOLVE_IN_ROOT), and the mount goes to
 * /proc/self/fd/N: the very object it resolved. Returns false when a missing path was skipped.
 */
function at(root: number, path: string, kind: 'directory' | 'file' | null, use: (target: string) => void): boolean {
  // #task 03.4
  let fd = openIfThere(root, path);
  if (fd === null) {
    if (kind === null) return false;
    // A new file with O_EXCL: never through a symlink planted meanwhile.
    create(root, path, kind === 'directory' ? makeDirectory : createFile);
    fd = openInRoot(root, path);
  }
  try {
    use(`/proc/self/fd/${fd}`);
  } finally {
    closeSync(fd);
  }
  return true;
  // #end-task
}

/** Makes `path` with `make` (and its missing parents as directories), in a parent resolved inside the root. */
function create(root: number, path: string, make: (created: string) => void): void {
  const parentPath = dirname(path);
  let parent = openIfThere(root, parentPath);
  if (parent === null) {
    create(root, parentPath, makeDirectory);
    parent = openInRoot(root, parentPath);
  }
  try {
    make(`/proc/self/fd/${parent}/${basename(path)}`);
  } catch (error) {
    throw new RuntimeError(`cannot make ${path} in the rootfs: ${(error as Error).message}`, undefined, {
      cause: error,
    });
  } finally {
    closeSync(parent);
  }
}

function openIfThere(root: number, path: string): number | null {
  try {
    return openInRoot(root, path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
}
// #endregion inside
