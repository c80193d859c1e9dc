/**
 * A layer blob -> a directory overlayfs can use as a lower layer. GNU tar (Debian's, on every
 * machine this course runs on) does the extracting: it keeps owners, modes, setuid bits, device
 * nodes and hard links as root, and it already refuses the tricks a hostile layer could play
 * (test/unpack.test.ts shows each): it strips a leading `/`, skips members whose name has `..`,
 * and extracts a symlink that is absolute or has `..` in its target as a placeholder file until
 * the end, so no later member can be written through it. A `..` member, or one that would be
 * written through such a link, exits tar with 2, which fails the pull: a well-made image never
 * has one. An absolute symlink alone is kept as it is: it resolves inside the container.
 * Then the OCI whiteouts become overlay's own: `.wh.NAME` a char device 0/0 named NAME,
 * `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its directory.
 */
import { closeSync, lstatSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hostCommand, onPath, RuntimeError } from '@ctr/runtime';
import { lsetxattr, mknodWhiteout } from '@ctr/syscalls';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** What the first bytes say: gzip (1f 8b), zstd (28 b5 2f fd) or a plain tar. */
export function compressionOf(file: string): 'gzip' | 'zstd' | 'none' {
  const head = Buffer.alloc(4);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/**
 * Extracts `blob` into the empty directory `dir` and converts its whiteouts; returns the bytes of
 * its files (docker's SIZE). `name` is the layer's digest, for the messages.
 */
export function unpackLayer(blob: string, dir: string, name: string): number {
  if (compressionOf(blob) === 'zstd' && !onPath('zstd')) {
    throw new RuntimeError(`layer ${name} is zstd-compressed and zstd is not installed: apt-get install zstd`);
  }
  // GNU tar detects gzip and zstd from the file's first bytes itself (reading a file, not a pipe).
  const result = hostCommand('tar', [
    '--extract',
    '--file',
    blob,
    '--directory',
    dir,
    '--numeric-owner',
    '--same-owner',
    '--same-permissions',
    // File capabilities (ping's cap_net_raw) live in this xattr; no other is taken from an image
    // (a trusted.overlay.* one would steer overlayfs).
    '--xattrs',
    '--xattrs-include=security.capability',
  ]);
  if (result.error || result.status !== 0) {
    // tar's notes (`Removing leading /`) and its closing line are not the reason.
    const reason = result.stderr
      .split('\n')
      .find((line) => line && !/Removing leading|Exiting with failure/.test(line));
    const why = result.error ? (result.error as NodeJS.ErrnoException).code : reason?.replace(/^tar: /, '');
    if (/No space left/.test(why ?? '')) throw Object.assign(new Error(why), { code: 'ENOSPC' });
    throw new RuntimeError(
      `layer ${name} does not unpack (tar: ${why}): the image is broken or hostile; nothing was kept`,
    );
  }
  return convertWhiteouts(dir);
}

// #region whiteouts
/** Walks `dir` without following symlinks; returns the bytes of its regular files. */
export function convertWhiteouts(dir: string): number {
  // #task 09.4
  const entries = readdirSync(dir, { withFileTypes: true });
  // OCI: a whiteout hides the name in the layers BELOW; a file of this same layer by that name
  // stays (it replaces the lower one anyway), and a directory of it must then hide the lower's
  // contents: it becomes opaque.
  const names = new Map(entries.map((entry) => [entry.name, entry]));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (!entry.name.startsWith(WHITEOUT)) continue;
    if (!entry.isFile()) {
      throw new RuntimeError(
        `a layer holds ${JSON.stringify(entry.name)} as something other than an empty file: the image is broken or hostile; nothing was kept`,
      );
    }
    if (entry.name === OPAQUE) {
      lsetxattr(dir, 'trusted.overlay.opaque', 'y');
      rmSync(path);
      continue;
    }
    const name = entry.name.slice(WHITEOUT.length);
    // `.wh.`, `.wh..` and `.wh...` would whiteout the directory itself or its parent: rm -r of
    // join(dir, '..') is outside the layer.
    if (name === '' || name === '.' || name === '..') {
      throw new RuntimeError(
        `a layer holds the whiteout ${JSON.stringify(entry.name)}, which names no file: the image is broken or hostile; nothing was kept`,
      );
    }
    const own = names.get(name);
    if (own?.isDirectory()) lsetxattr(join(dir, name), 'trusted.overlay.opaque', 'y');
    else if (!own) mknodWhiteout(join(dir, name));
    rmSync(path);
  }
  let size = 0;
  for (const entry of entries) {
    if (entry.name.startsWith(WHITEOUT)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) size += convertWhiteouts(path);
    else if (entry.isFile()) size += lstatSync(path).size;
  }
  return size;
  // #end-task
}
// #endregion whiteouts
