/**
 * The container's root: an overlay. Its lower directories (an image's layers, or a --rootfs
 * directory) are read-only and shared by every container; its upper directory is the container's
 * own, and takes every write: a changed file is copied up first, a deleted one is hidden by a
 * whiteout. When the container ends, the upper directory goes, and the layers are as they were.
 *
 * Rootful, the container's root is an unprivileged host uid (step 07), and the layers belong to
 * host root. Each lower is therefore an idmapped mount, as step 07's rootfs was, but a detached
 * one: open_tree(2) clones it, mount_setattr(2) maps it, and overlayfs takes it as
 * /proc/self/fd/N without it ever being attached anywhere. The overlay itself cannot be idmapped
 * (EINVAL), nor may its upper be (the overlay then turns read-only): the upper and work
 * directories are simply owned by the host uid that is root inside.
 */
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RootfsMapping, shiftedRootfs } from '@ctr/07';
import { containerStateDir, RuntimeError } from '@ctr/runtime';
import {
  AT_RECURSIVE,
  close,
  closeFile,
  idmapMount,
  lgetxattr,
  MNT_DETACH,
  MS_NODEV,
  mount,
  OPEN_TREE_CLOEXEC,
  OPEN_TREE_CLONE,
  openReadOnly,
  openTree,
  SyscallError,
  umount2,
} from '@ctr/syscalls';
import type { ImageSettings } from './image.js';

// #region overlay-rootfs
export const overlayRootfs: RootfsMapping = (rootfs, pid, spec, config, cleanup) => {
  const image = spec.features.image as ImageSettings | null | undefined;
  // overlayfs lists its lowers top first; an image lists its layers bottom first.
  const lowers = image ? shownLayers(image.layers).reverse() : [rootfs];
  const dir = containerStateDir(spec.id);
  const target = join(dir, 'rootfs');
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  mkdirSync(dir, { recursive: true });
  // Searchable by the container's root, an unprivileged host uid, whatever the umask made it.
  chmodSync(dir, 0o755);
  // Who owns it, for `pnpm clean` after a runtime that was killed and could not unmount it; and
  // which image and layers it runs on, so that `rmi` and the store's clean-up leave them alone.
  writeFileSync(join(dir, 'owner'), String(process.pid));
  if (image) {
    writeFileSync(join(dir, 'image'), image.digest);
    writeFileSync(join(dir, 'layers'), `${image.layers.join('\n')}\n`);
  }
  cleanup.defer(`unmount the overlay ${target} and remove its upper layer`, () => {
    try {
      umount2(target, MNT_DETACH);
    } catch {} // not mounted: a failure came first
    rmSync(dir, { recursive: true, force: true });
  });
  const root = { uid: config.uidMap[0]?.outside ?? 0, gid: config.gidMap[0]?.outside ?? 0 };
  for (const path of [target, upper, work]) {
    mkdirSync(path);
    chownSync(path, root.uid, root.gid);
  }
  // #task 09.3
  const trees: number[] = [];
  try {
    let lowerdir: string;
    try {
      const userns = openReadOnly(`/proc/${pid}/ns/user`);
      try {
        for (const lower of lowers) {
          const tree = openTree(lower, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
          trees.push(tree);
          idmapMount(tree, userns);
        }
      } finally {
        closeFile(userns);
      }
      lowerdir = trees.map((tree) => `/proc/self/fd/${tree}`).join(':');
    } catch (error) {
      if (!(error instanceof SyscallError) || image) throw error;
      // A filesystem without idmapped mounts: step 07's copy with shifted owners, as the lower.
      lowerdir = shiftedRootfs(rootfs, config, error);
    }
    // nodev: a device node shipped in an image (a disk, a tty of the host's) opens nothing. The
    // container's /dev is a mount of its own; overlayfs reads its own 0/0 whiteouts regardless.
    mount('overlay', target, 'overlay', MS_NODEV, `lowerdir=${lowerdir},upperdir=${upper},workdir=${work}`);
  } catch (error) {
    throw overlayRefusal(error, image !== null && image !== undefined);
  } finally {
    for (const tree of trees) close(tree);
  }
  // #end-task
  return target;
};
// #endregion overlay-rootfs

/**
 * The layers from the top-most one whose root is opaque (`.wh..wh..opq` at the layer's top) up:
 * overlayfs honours trusted.overlay.opaque on a lower's subdirectories but not on its root, so
 * the layers below such a root would still show through it.
 */
export function shownLayers(layers: readonly string[]): string[] {
  const opaqueRoot = layers.findLastIndex((layer) => lgetxattr(layer, 'trusted.overlay.opaque') === 'y');
  return layers.slice(Math.max(opaqueRoot, 0));
}

function overlayRefusal(error: unknown, isImage: boolean): unknown {
  if (!(error instanceof SyscallError)) return error;
  if (error.syscall === 'mount' && error.code === 'ENODEV') {
    return new RuntimeError('this kernel has no overlayfs: load it (modprobe overlay) and start again', 125, {
      cause: error,
    });
  }
  if (error.syscall !== 'mount' && isImage) {
    return new RuntimeError(
      `cannot idmap the image's layers (${error.message}): images need idmapped mounts (Linux 5.12+, a filesystem that has them, such as ext4 or xfs)`,
      125,
      { cause: error },
    );
  }
  return new RuntimeError(
    `cannot mount the container's overlay (${error.message}): see dmesg for overlayfs's reason`,
    125,
    {
      cause: error,
    },
  );
}
