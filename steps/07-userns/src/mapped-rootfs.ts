/**
 * The rootfs belongs to host root, and host root is not in the container's map: its files would
 * show as nobody (65534) inside, and root in the container could not write its own /etc. Two ways
 * to make host uid 0 show as uid 0 inside:
 *
 *  - an idmapped mount (Linux 5.12+, filesystem permitting): a mount of the same files that
 *    translates owners through the container's user namespace, made by the host and left for the
 *    init to pivot into. Nothing is copied; files the container creates are owned by host root on
 *    disk, as if it were not in a user namespace at all.
 *  - a copy with every owner shifted by the map's start (uid 0 -> 100000), made once and reused:
 *    where idmapped mounts are refused, and for rootless users, who may not make one.
 */
import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { hostCommand, RuntimeError } from '@ctr/runtime';
import {
  AT_RECURSIVE,
  close,
  closeFile,
  idmapMount,
  moveMount,
  OPEN_TREE_CLOEXEC,
  OPEN_TREE_CLONE,
  openReadOnly,
  openTree,
} from '@ctr/syscalls';

// #region idmapped
/** Mounts `rootfs` at `target`, owners seen through the user namespace of process `pid`. */
export function mountIdmapped(rootfs: string, pid: number, target: string): void {
  const first = mkdirSync(target, { recursive: true });
  // Searchable by the container's root, an unprivileged host uid, whatever the umask made them.
  for (let dir = target; first !== undefined; dir = dirname(dir)) {
    chmodSync(dir, 0o755);
    if (dir === first) break;
  }
  // #task 07.2
  const tree = openTree(rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  const userns = openReadOnly(`/proc/${pid}/ns/user`);
  try {
    idmapMount(tree, userns);
    moveMount(tree, target);
  } finally {
    closeFile(userns);
    close(tree);
  }
  // #end-task
}
// #endregion idmapped

// #region shifted-copy
/**
 * A copy of `rootfs`, owners shifted by `shift` (none for a rootless user, whose own files are
 * root inside), made once: built under a temporary name and renamed into place.
 */
export function shiftedCopy(
  rootfs: string,
  target: string,
  shift: { uid: number; gid: number } | null,
  log: (line: string) => void,
): string {
  if (existsSync(join(target, 'bin'))) return target;
  log(`making ${target}: a copy of the rootfs whose owners fit the user namespace (once; delete it to redo)`);
  mkdirSync(dirname(target), { recursive: true });
  const work = `${target}.partial-${process.pid}`;
  // cp keeps links, modes and times; a rootless user cannot read root's 0700 directories (skipped).
  // Root keeps every owner, to shift them; a rootless user cannot, and owns the copy instead.
  const owners = shift ? [] : ['--no-preserve=ownership'];
  const copied = hostCommand('cp', ['-a', ...owners, rootfs, work]);
  if (!existsSync(join(work, 'bin'))) {
    rmSync(work, { recursive: true, force: true });
    throw new RuntimeError(`cannot copy ${rootfs} to ${work}: ${copied.stderr.trim().split('\n')[0]}`);
  }
  for (const dir of ['root', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(work, dir), { recursive: true });
  if (shift !== null) shiftOwners(work, shift);
  try {
    renameSync(work, target);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another start made it first
  }
  return target;
}

function shiftOwners(path: string, shift: { uid: number; gid: number }): void {
  const stat = lstatSync(path);
  lchownSync(path, stat.uid + shift.uid, stat.gid + shift.gid);
  if (stat.isDirectory()) for (const entry of readdirSync(path)) shiftOwners(join(path, entry), shift);
}
// #endregion shifted-copy
