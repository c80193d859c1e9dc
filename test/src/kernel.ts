/** Facts read from the kernel on the host side, to compare with what the container reports. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { scaled } from './slowness.js';

export type NamespaceKind = 'cgroup' | 'ipc' | 'mnt' | 'net' | 'pid' | 'user' | 'uts';

/** The namespace's identity as the kernel prints it, e.g. `pid:[4026531836]`. */
export function namespaceOf(pid: number | 'self', kind: NamespaceKind): string {
  return readlinkSync(`/proc/${pid}/ns/${kind}`);
}

/** Mount points of the test process's mount namespace (the host's), from /proc/self/mountinfo. */
export function hostMountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4] as string);
}

/**
 * The direct children of a process, from /proc/<pid>/task/<tid>/children of *every* thread: that
 * file lists only the children the thread itself forked, and a multi-threaded runtime (Go, Rust
 * with threads, Node) forks from whichever thread it likes.
 */
export function childrenOf(pid: number): number[] {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  return threads.flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return []; // the thread ended while we looked
    }
  });
}

/** The first process on the host below `pid` whose command line matches, waiting for it to appear. */
export async function waitForDescendant(
  pid: number,
  matches: (cmdline: string[]) => boolean,
  timeoutMs = scaled(10_000),
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const queue = childrenOf(pid);
    while (queue.length > 0) {
      const candidate = queue.shift() as number;
      try {
        const cmdline = readFileSync(`/proc/${candidate}/cmdline`, 'utf8').split('\0').filter(Boolean);
        if (matches(cmdline)) return candidate;
      } catch {}
      queue.push(...childrenOf(candidate));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no process below pid ${pid} matched within ${timeoutMs} ms`);
}

export interface ProcessEntry {
  pid: number;
  /** R, S, Z (zombie)... from /proc/<pid>/status. */
  state: string;
  name: string;
}

/** Every process on the host in the same PID namespace as `pid`: a container's process table. */
export function processesInNamespaceOf(pid: number): ProcessEntry[] {
  const namespace = namespaceOf(pid, 'pid');
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        if (readlinkSync(`/proc/${name}/ns/pid`) !== namespace) return [];
        const status = readFileSync(`/proc/${name}/status`, 'utf8');
        const state = /^State:\s+(\S)/m.exec(status)?.[1] ?? '?';
        return [{ pid: Number(name), state, name: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '' }];
      } catch {
        return []; // gone while we looked
      }
    });
}

/**
 * What `after` has that `before` had not: what a container left behind. Entries that went away
 * meanwhile (another container ending) are not this test's business.
 */
export function added<T>(before: readonly T[], after: readonly T[]): T[] {
  return after.filter((entry) => !before.includes(entry));
}
