/**
 * What a container runtime can leave on a host, read generically, so that any implementation is
 * held to "nothing left behind" by the same measure: mounts, network interfaces, named network
 * namespaces, cgroup directories, nftables and iptables rules, and container processes below the
 * grader (it is a subreaper: what a CLI leaves stays below it). Nothing here knows this project's
 * names (ctr0, vctr*, /run/ctr). Mounts, interfaces and rules are the host's own: grade one
 * implementation at a time, with no other containers starting meanwhile.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerProcessesBelow } from './processes.js';
import { scaled } from './slowness.js';

export interface HostState {
  mounts: string[];
  interfaces: string[];
  netns: string[];
  cgroups: string[];
  rules: string[];
  processes: string[];
}

const mountinfo = (): string[][] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '));

/** `<mount point> <fstype> <source>`, one per mount, in mount order (stacked mounts repeat). */
function mounts(): string[] {
  return mountinfo().map((fields) => {
    const dash = fields.indexOf('-');
    return `${fields[4]} ${fields[dash + 1]} ${fields[dash + 2]}`;
  });
}

/** The names in `dir`, or none when it does not exist (or is gone by now). */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function cgroupDirectories(): string[] {
  const roots = mountinfo()
    .filter((fields) => /^cgroup2?$/.test(fields[fields.indexOf('-') + 1] ?? ''))
    .map((fields) => fields[4] as string);
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 12) return;
    for (const name of listDir(dir)) {
      const path = join(dir, name);
      try {
        if (!statSync(path).isDirectory()) continue;
      } catch {
        continue;
      }
      found.push(path);
      walk(path, depth + 1);
    }
  };
  for (const root of roots) walk(root, 0);
  return found;
}

/** A rule-set dump, one line a rule, without counters and timestamps, which change by themselves. */
function ruleLines(command: string, args: string[], filter: (line: string) => string | null): string[] {
  const dump = spawnSync(command, args, { encoding: 'utf8' });
  if (dump.error || dump.status !== 0) return [];
  return dump.stdout.split('\n').flatMap((line) => {
    const kept = filter(line.trim());
    return kept ? [`${command}: ${kept}`] : [];
  });
}

function rules(): string[] {
  return [
    // -s: stateless, without counter values; each line is prefixed by the table it is in.
    ...(() => {
      let table = '';
      return ruleLines('nft', ['-s', 'list', 'ruleset'], (line) => {
        if (line.startsWith('table ')) table = line.replace(/ \{$/, '');
        return line && line !== '}' ? `${table} | ${line}` : null;
      });
    })(),
    ...ruleLines('iptables-save', [], (line) =>
      line.startsWith('#') ? null : line.replace(/\[\d+:\d+\]/g, '').trim() || null,
    ),
  ];
}

export function hostState(): HostState {
  return {
    mounts: mounts(),
    interfaces: listDir('/sys/class/net'),
    netns: listDir('/run/netns'),
    cgroups: cgroupDirectories(),
    rules: rules(),
    processes: containerProcessesBelow(),
  };
}

/** What `after` has that `before` had not, counting repeats (a mount stacked twice is two). */
function addedLines(before: readonly string[], after: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const line of before) left.set(line, (left.get(line) ?? 0) + 1);
  return after.filter((line) => {
    const count = left.get(line) ?? 0;
    if (count > 0) left.set(line, count - 1);
    return count === 0;
  });
}

export type Leftovers = { [K in keyof HostState]: string[] };

export function leftoversSince(before: HostState, after: HostState = hostState()): Leftovers {
  const result = {} as Leftovers;
  for (const key of Object.keys(before) as (keyof HostState)[]) result[key] = addedLines(before[key], after[key]);
  return result;
}

export const isClean = (leftovers: Leftovers): boolean => Object.values(leftovers).every((list) => list.length === 0);

/**
 * Leftovers once the host has settled: a runtime's clean-up may finish a moment after its exit
 * status is known (a cgroup is removed once its last process is gone). Waits up to `graceMs`.
 */
export async function settledLeftovers(before: HostState, graceMs = scaled(2000)): Promise<Leftovers> {
  const deadline = Date.now() + graceMs;
  let leftovers = leftoversSince(before);
  while (!isClean(leftovers) && Date.now() < deadline) {
    await sleep(100);
    leftovers = leftoversSince(before);
  }
  return leftovers;
}

/** Leftovers as lines for a failure message: `mounts: /tmp/x tmpfs none`. */
export function describeLeftovers(leftovers: Leftovers): string {
  return Object.entries(leftovers)
    .flatMap(([kind, lines]) => lines.map((line) => `${kind}: ${line}`))
    .join('\n');
}

/**
 * Puts the host back as `before` had it, as far as it safely can: unmounts new mounts, removes
 * new empty cgroup directories, new network interfaces, new named network namespaces and new
 * nftables tables. Used between two graded implementations, so that one cannot change the host
 * for the next. Returns what it did.
 */
export function restoreHost(before: HostState): string[] {
  const done: string[] = [];
  const attempt = (what: string, command: string, args: string[]): void => {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    done.push(result.status === 0 ? what : `could not ${what}: ${(result.stderr || String(result.error)).trim()}`);
  };
  const leftovers = leftoversSince(before);
  // Namespaces first: `ip netns delete` unmounts its own bind mount, which is a new mount too.
  for (const name of leftovers.netns) attempt(`delete the network namespace ${name}`, 'ip', ['netns', 'delete', name]);
  for (const name of leftovers.interfaces) {
    // Deleting one end of a veth pair deletes the other.
    if (existsSync(`/sys/class/net/${name}`)) attempt(`delete the interface ${name}`, 'ip', ['link', 'delete', name]);
  }
  const tableOf = (line: string): string[] => /^nft: (table \S+ \S+) \| /.exec(line)?.slice(1, 2) ?? [];
  const tablesBefore = new Set(before.rules.flatMap(tableOf));
  for (const table of new Set(leftovers.rules.flatMap(tableOf))) {
    if (!tablesBefore.has(table)) attempt(`delete the nftables ${table}`, 'nft', ['delete', ...table.split(' ')]);
  }
  for (const mount of [...leftoversSince(before).mounts].reverse()) {
    attempt(`unmount ${mount.split(' ')[0]}`, 'umount', ['--lazy', mount.split(' ')[0] as string]);
  }
  for (const dir of [...leftovers.cgroups].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(dir);
      done.push(`remove the cgroup ${dir}`);
    } catch (error) {
      done.push(`could not remove the cgroup ${dir}: ${(error as NodeJS.ErrnoException).code}`);
    }
  }
  return done;
}
