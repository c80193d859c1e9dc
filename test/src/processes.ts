/**
 * Everything a CLI under test started, found and stopped from the host, whatever language it is
 * written in and however it forks.
 *
 * The grader's process is a child subreaper (PR_SET_CHILD_SUBREAPER): a process the CLI leaves
 * behind when it exits (a container whose runtime died, a helper that double-forked) is re-parented
 * to the grader instead of to the host's PID 1, so it stays findable and killable.
 */
import { ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { PR_SET_CHILD_SUBREAPER, prctl, WNOHANG, waitpid } from '@ctr/syscalls';
import { childrenOf } from './kernel.js';
import { scaled } from './slowness.js';

export function becomeSubreaper(): void {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/** Every process below `pid`, parents before children. */
export function descendantsOf(pid: number): number[] {
  const found: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const next = queue.shift() as number;
    if (found.includes(next)) continue;
    found.push(next);
    queue.push(...childrenOf(next));
  }
  return found;
}

export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '?';
  }
}

/** The one-letter state of `pid` in /proc (R, S, D, Z...), or null once it is gone. */
export function stateOf(pid: number): string | null {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

const alive = (pid: number): boolean => {
  const state = stateOf(pid);
  return state !== null && state !== 'Z' && state !== 'X';
};

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {}
}

/** The host pid of PID 1 of each PID namespace, other than ours, that one of `pids` is in. */
function namespaceInits(pids: readonly number[]): number[] {
  const ours = readlinkSync('/proc/self/ns/pid');
  const inits: number[] = [];
  for (const pid of pids) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/pid`) === ours) continue;
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.split(/\s+/);
      // The innermost PID is 1: this process is its namespace's init. Killing it from outside
      // makes the kernel kill every other process of that namespace (pid_namespaces(7)).
      if (nspid?.at(-1) === '1') inits.push(pid);
    } catch {}
  }
  return inits;
}

/**
 * Stops `root` and everything below it for good: each round freezes what it finds with SIGSTOP
 * (a stopped process forks no more, so a fork loop cannot outrun the walk), until a round finds
 * nothing new; then every one of them, and the init of every PID namespace among them, gets
 * SIGKILL. Returns what was killed, as `pid command line` lines.
 */
export function killTree(root: number): string[] {
  const seen = new Set<number>();
  for (let round = 0; round < 50; round++) {
    const found = [root, ...descendantsOf(root)].filter((pid) => !seen.has(pid));
    if (found.length === 0) break;
    for (const pid of found) {
      seen.add(pid);
      signal(pid, 'SIGSTOP');
    }
  }
  const victims = [...seen, ...namespaceInits([...seen])].filter(alive);
  const described = [...new Set(victims)].map((pid) => `${pid} ${commandLineOf(pid)}`);
  for (const pid of victims) signal(pid, 'SIGKILL');
  return described;
}

/**
 * Every process Node.js spawned here (the CLIs under test, a test's servers), recorded where every
 * spawn goes through, and which of them are CLIs under test (cli.ts registers them).
 */
const spawnedHere = new Set<number>();
const clis = new Set<number>();
type Spawn = (this: ChildProcess, ...args: unknown[]) => unknown;
const prototype = ChildProcess.prototype as unknown as { spawn: Spawn };
const spawn = prototype.spawn;
prototype.spawn = function recordingSpawn(this: ChildProcess, ...args: unknown[]) {
  const result = spawn.apply(this, args);
  if (this.pid !== undefined) spawnedHere.add(this.pid);
  return result;
};

/** A CLI under test was started: from now on, what it leaves behind is re-parented to us. */
export function registerCli(pid: number): void {
  if (clis.size === 0) becomeSubreaper();
  clis.add(pid);
}

/** Field 6 of /proc/<pid>/stat, after the command name in parentheses (which may hold spaces). */
function sessionOf(pid: number | 'self'): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
  } catch {
    return null;
  }
}

/**
 * Children of ours that a CLI under test left: not spawned here, so re-parented to us when their
 * parent died (we are a subreaper once a CLI ran). A child in our own session was there before
 * the spawns were recorded (esbuild, which tsx starts before this module loads).
 */
function adoptedChildren(): number[] {
  const ours = sessionOf('self');
  return childrenOf(process.pid).filter((pid) => !spawnedHere.has(pid) && sessionOf(pid) !== ours);
}

/** Reaps adopted children that have exited, so they do not sit in the process table as zombies. */
export function reapAdopted(): void {
  for (const pid of adoptedChildren()) {
    if (stateOf(pid) === 'Z') {
      try {
        waitpid(pid, WNOHANG);
      } catch {}
    }
  }
}

/**
 * Processes a CLI left running: adopted children of ours that are still alive after `graceMs`
 * (a container's processes take a moment to go after its init), and everything below them.
 * They are killed; the lines say what they were.
 */
export async function killStrays(graceMs = scaled(1000)): Promise<string[]> {
  reapAdopted(); // what ended already (a CLI's esbuild, say) leaves no zombie
  const deadline = Date.now() + graceMs;
  let strays = adoptedChildren().filter(alive);
  while (strays.length > 0 && Date.now() < deadline) {
    await sleep(50);
    reapAdopted();
    strays = adoptedChildren().filter(alive);
  }
  const killed = strays.flatMap((pid) => killTree(pid));
  if (killed.length > 0) {
    await sleep(50);
    reapAdopted();
  }
  return killed;
}

/**
 * The processes below us that live in a PID namespace other than ours: the containers of the CLIs
 * this process started, still running. As a subreaper we keep what their runtimes left behind, so
 * nothing of theirs is missed, and nothing of anyone else's on the host (another grader, the
 * user's own containers) is counted.
 */
export function containerProcessesBelow(pid: number = process.pid): string[] {
  const ours = readlinkSync('/proc/self/ns/pid');
  return descendantsOf(pid).flatMap((child) => {
    try {
      if (readlinkSync(`/proc/${child}/ns/pid`) === ours || !alive(child)) return [];
      return [`${child} ${commandLineOf(child)}`];
    } catch {
      return [];
    }
  });
}

/**
 * Stops a CLI that the test gave up on, and everything it started. It first gets SIGTERM and a
 * moment to clean up after itself (a runtime removes its cgroups and its state when it is asked to
 * stop); then whatever is left of its tree, and anything it left behind, is killed.
 */
export async function stopCli(pid: number, graceMs = scaled(2000)): Promise<string[]> {
  const before = [pid, ...descendantsOf(pid)].map((p) => `${p} ${commandLineOf(p)}`);
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  const killed = [...killTree(pid), ...(await killStrays(0))];
  // What was there when the kit stepped in, whether it went by itself after SIGTERM or was killed.
  return [...new Set([...before, ...killed])];
}
