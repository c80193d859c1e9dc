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
 *
 * A layer may leave out the parents of its members (`./tmp/foo` without `./tmp/`: the OCI spec's
 * own example does). tar makes them 0755 root, and overlayfs takes a directory's owner and mode
 * from the top-most layer that has it, so /tmp would turn 0755 under a base's 1777. containerd
 * applies a diff onto its parent snapshots and gives such a parent the attributes it has below
 * (archive.mkparent); so does this unpack, given the layers below (see pull.ts for how the
 * result is keyed, since it then depends on them).
 */
import {
  chmodSync,
  chownSync,
  closeSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { hostCommand, onPath, RuntimeError } from '@ctr/runtime';
import { lsetxattr, mknodWhiteout } from '@ctr/syscalls';
import { shownEntry } from './layers.js';

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
 * Extracts `blob` into the empty directory `dir` and converts its whiteouts. `below` are the
 * unpacked layers under this one in its image, bottom first: a directory the layer holds but does
 * not list takes its owner and mode from them. Returns the bytes of its files (docker's SIZE) and
 * those unlisted directories. `name` is the layer's digest, for the messages.
 */
export function unpackLayer(
  blob: string,
  dir: string,
  name: string,
  below: readonly string[] = [],
): { size: number; unlisted: string[] } {
  if (compressionOf(blob) === 'zstd' && !onPath('zstd')) {
    throw new RuntimeError(`layer ${name} is zstd-compressed and zstd is not installed: apt-get install zstd`);
  }
  // What tar extracted, one name a line, as it goes (no second pass over the blob); into a file
  // beside `dir`, as a big layer's list outgrows a pipe's buffer.
  const members = `${dir}.members`;
  // GNU tar detects gzip and zstd from the file's first bytes itself (reading a file, not a pipe).
  const result = hostCommand('tar', [
    '--extract',
    '--verbose',
    `--index-file=${members}`,
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
  let listed: Set<string>;
  try {
    listed = memberNames(readFileSync(members, 'latin1'));
  } catch {
    listed = new Set(); // tar failed before writing it: told below
  } finally {
    rmSync(members, { force: true });
  }
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
  const unlisted = unlistedDirectories(dir, '', listed);
  for (const path of unlisted) {
    const lower = directoryBelow(below, path);
    if (!lower) continue; // no layer below shows it: tar's 0755 root is what containerd makes too
    const own = join(dir, path);
    chownSync(own, lower.uid, lower.gid);
    // After chown, which may clear setgid. No xattr is copied: the only one a layer keeps is a
    // file's security.capability, and a lower's opaque mark would hide its own contents here.
    chmodSync(own, lower.mode & 0o7777);
  }
  return { size: convertWhiteouts(dir), unlisted };
}

/**
 * tar's list, names as the archive has them (`./tmp/`, `/abs`, `a/b`) in its default `escape`
 * quoting (`\\`, `\n`, `\ooo` octal for other bytes), as paths relative to the layer.
 */
export function memberNames(list: string): Set<string> {
  const names = new Set<string>();
  const escapes: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
  for (const line of list.split('\n')) {
    if (!line) continue;
    const raw = line.replace(/\\([0-7]{3}|.)/g, (_, code: string) =>
      code.length === 3 ? String.fromCharCode(Number.parseInt(code, 8)) : (escapes[code] ?? code),
    );
    // Bytes read as latin1, back to the UTF-8 names the file system calls give.
    const path = Buffer.from(raw, 'latin1')
      .toString('utf8')
      .split('/')
      .filter((part) => part !== '' && part !== '.')
      .join('/');
    if (path) names.add(path);
  }
  return names;
}

/** Directories under `dir`/`path` (the layer's root itself aside) that tar made without a member. */
function unlistedDirectories(dir: string, path: string, listed: Set<string>): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(dir, path), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const child = path ? `${path}/${entry.name}` : entry.name;
    if (!listed.has(child)) found.push(child);
    found.push(...unlistedDirectories(dir, child, listed));
  }
  return found;
}

/** The directory `path` as the layers `below` show it stacked, or null (see shownEntry). */
function directoryBelow(below: readonly string[], path: string): Stats | null {
  const shown = shownEntry(below, path);
  return shown?.stat.isDirectory() ? shown.stat : null;
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
