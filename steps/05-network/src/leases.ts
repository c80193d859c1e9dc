/**
 * Who holds what on this host: a file per address or host port under /run/ctr, created with
 * O_CREAT|O_EXCL. The kernel lets exactly one creator win, so two containers started at the same
 * moment never get the same address, with no lock and no daemon. Where /run is a tmpfs (most
 * systemd machines), a reboot, which also removes the veths and the bridge, forgets every lease;
 * elsewhere `pnpm net clean` drops leases whose runtime is gone.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DIR } from '@ctr/runtime';

export interface Lease {
  file: string;
  release(): void;
}

// #region try-lease
/** Takes `name` in `kind` for container `id`, or returns null when someone holds it. */
export function tryLease(kind: string, name: string, id: string): Lease | null {
  // #task 05.5
  const dir = join(STATE_DIR, kind);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw error;
  }
  writeSync(fd, `${id} ${process.pid}\n`);
  closeSync(fd);
  return { file, release: () => rmSync(file, { force: true }) };
  // #end-task
}
// #endregion try-lease

export interface Holder {
  kind: string;
  name: string;
  id: string;
  /** The pid of the runtime that took it: a lease whose runtime is gone is stale. */
  pid: number;
}

export function listLeases(kind: string): Holder[] {
  const dir = join(STATE_DIR, kind);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      const [id = '', pid = '0'] = readFileSync(join(dir, name), 'utf8').trim().split(' ');
      return [{ kind, name, id, pid: Number(pid) }];
    } catch {
      return [];
    }
  });
}

/** Every lease on this host: the addresses of each subnet ever used, and the host ports. */
export function allLeases(): Holder[] {
  const subnets = existsSync(join(STATE_DIR, 'addresses')) ? readdirSync(join(STATE_DIR, 'addresses')) : [];
  return [...subnets.map((subnet) => `addresses/${subnet}`), 'ports'].flatMap((kind) => listLeases(kind));
}

/** Drops a lease whatever its holder: only for a holder that is gone. */
export function removeLease(lease: Holder): void {
  rmSync(join(STATE_DIR, lease.kind, lease.name), { force: true });
}
