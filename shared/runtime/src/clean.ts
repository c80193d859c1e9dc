/**
 * What a runtime could not remove because it was killed (SIGKILL leaves no chance to clean up):
 * per-container state under /run/ctr/containers whose runtime is gone, with any mount left there
 * (step 07's idmapped rootfs, step 09's overlay), and container cgroups (step 04). `pnpm clean`
 * (clean-cli.ts) sweeps the whole host; the per-container functions remove one container's
 * leftovers, for a command that knows its id and that its runtime is gone.
 */
import { readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MNT_DETACH, umount2 } from '@ctr/syscalls';
import { RuntimeError } from './errors.js';
import { isAlive, readFileOr } from './host-tools.js';
import { containerStateDir } from './state.js';

export type Say = (line: string) => void;

const CONTAINERS = containerStateDir('');
const CONTAINER_ID = /^[0-9a-f]{12}$/;

const mountPoints = (): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter(Boolean);

/** The pid in the container's `owner` file: the runtime that made its directory; null without one. */
export function containerOwner(id: string): number | null {
  const owner = Number(readFileOr(join(containerStateDir(id), 'owner'), '0'));
  return owner > 0 ? owner : null;
}

/** Unmounts what is mounted under the container's directory, deepest first, and removes it. */
export function removeContainerState(id: string, say: Say): void {
  const dir = containerStateDir(id);
  for (const point of mountPoints()
    .filter((p) => p.startsWith(`${dir}/`))
    .reverse()) {
    umount2(point, MNT_DETACH);
    say(`unmounted ${point}`);
  }
  // ENOENT is no error: force. A directory that was never made is not announced.
  try {
    statSync(dir);
  } catch {
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  say(`removed ${dir}`);
}

function cleanContainerState(say: Say): void {
  let ids: string[];
  try {
    ids = readdirSync(CONTAINERS);
  } catch {
    return;
  }
  for (const id of ids) {
    const owner = containerOwner(id);
    if (owner !== null && isAlive(owner)) continue;
    removeContainerState(id, say);
  }
}

/**
 * Directories named ctr/<name> in every cgroup hierarchy mounted on the host, for the names that
 * `wanted` accepts. Searched rather than computed: a v1 container cgroup hangs below the cgroup of
 * the runtime that made it (step 04's containerDir), which another process cannot know.
 */
function findContainerCgroups(wanted: (name: string) => boolean): string[] {
  const roots = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => / - cgroup2? /.test(line))
    .map((line) => line.split(' ')[4] as string);
  const found: string[] = [];
  for (const root of roots) walk(root, 0, wanted, found);
  return found;
}

function walk(dir: string, depth: number, wanted: (name: string) => boolean, found: string[]): void {
  if (depth > 8) return;
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((name) => statSync(join(dir, name)).isDirectory());
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (dir.endsWith('/ctr') && CONTAINER_ID.test(name)) {
      if (wanted(name)) found.push(path);
    } else {
      walk(path, depth + 1, wanted, found);
    }
  }
}

/** The container's cgroups: one per v1 hierarchy it was put in, or its one cgroup2 directory. */
export const containerCgroups = (id: string): string[] => findContainerCgroups((name) => name === id);

const processesIn = (cgroup: string): number[] =>
  readFileOr(join(cgroup, 'cgroup.procs'), '').split('\n').filter(Boolean).map(Number);

/** rmdir of each cgroup that holds no process; one that still does is left, and not announced. */
function removeEmptyCgroups(cgroups: readonly string[], say: Say): void {
  for (const path of cgroups) {
    if (readFileOr(join(path, 'cgroup.procs'), 'x').trim() !== '') continue;
    try {
      rmdirSync(path);
      say(`removed the empty cgroup ${path}`);
    } catch {}
  }
}

/**
 * SIGKILLs every process left in the container's cgroups until they are empty: the kernel kills
 * a PID namespace's processes with its PID 1, but not a process that joined the cgroups from
 * outside that namespace (a host-side helper), nor one PR_SET_PDEATHSIG missed. A killed process
 * leaves its cgroups only once it has exited, which takes a moment: cgroup.procs is read again
 * until it is empty. A process that forks meanwhile is in the cgroup too: killed the next round.
 */
export async function killContainerProcesses(id: string, say: Say): Promise<void> {
  const cgroups = containerCgroups(id);
  const deadline = Date.now() + 10_000;
  const killed = new Set<number>();
  for (;;) {
    const left = cgroups.flatMap((cgroup) => processesIn(cgroup));
    if (left.length === 0) return;
    for (const pid of new Set(left)) {
      try {
        process.kill(pid, 'SIGKILL');
        if (!killed.has(pid)) say(`killed process ${pid} left in the cgroups of container ${id}`);
        killed.add(pid);
      } catch {} // exited meanwhile
    }
    if (Date.now() > deadline) {
      throw new RuntimeError(
        `processes ${[...new Set(left)].join(' ')} are still in the cgroups of container ${id} 10 s after SIGKILL: look at their state in /proc/<pid>/status (D: stuck in the kernel) and run this again`,
      );
    }
    await sleep(10);
  }
}

/** rmdir of the container's cgroups, after killContainerProcesses: one that stays is an error. */
export function removeContainerCgroups(id: string, say: Say): void {
  for (const path of containerCgroups(id)) {
    try {
      rmdirSync(path);
      say(`removed the empty cgroup ${path}`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // removed meanwhile
      throw new RuntimeError(
        `cannot remove the cgroup ${path} (${code}): see what holds it in its cgroup.procs`,
        undefined,
        {
          cause: error,
        },
      );
    }
  }
}

/**
 * `pnpm clean`'s sweep: every container directory whose owner is gone, every container cgroup
 * that holds no process. A cgroup that still holds one is left: its runtime may be starting it.
 */
export function cleanAll(say: Say): void {
  cleanContainerState(say);
  removeEmptyCgroups(
    findContainerCgroups(() => true),
    say,
  );
}
