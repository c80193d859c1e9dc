/**
 * `pnpm docs:traces` (as root): the traces the docs show, from real runs of every step with
 * CTR_TRACE, written to docs/traces/. docs/test/traces.test.ts runs the same code (generateTraces)
 * and compares its result with the files, so a change of the runtime that changes what it does
 * fails `pnpm test` until the files are regenerated.
 *
 *   NN.txt          `start --rootfs <repo>/rootfs /bin/true` of step NN, normalized (below)
 *   NN.diff         the same lines, `+ ` before each line that is new since step NN-1, `  ` before
 *                   the others: VitePress highlights the new ones (the diff language)
 *   life/<n>-*.txt  one start of the last step with more going on (--hostname, --memory), split
 *                   into the phases of the protocol between host and init (channel.ts)
 *
 * What is new is found per role: the host's lines are compared with the host's lines of the step
 * before (a longest common subsequence), the init's with the init's, the helper's with the
 * helper's. The interleaving of two processes varies from run to run; each role's own sequence
 * does not.
 *
 * Normalization: what differs between two runs or two machines, and nothing else.
 *   - the container's id (12 hex digits)               -> <id>, and `vctr<8 hex>` -> `vctr<id>`
 *   - host pids: /proc/<n>/, the pid written to cgroup.procs (and the length write(2) returns for
 *     it), `netns <n>` and `nsenter --target <n>`, the helper's `fork() = <n>`; and the command's
 *     pid in the container, from posix_spawn and waitpid (it comes after the init's threads, so
 *     it depends on the Node.js version)           -> <pid>, <len>
 *   - the runtime's own cgroup in each v1 hierarchy, from the generator's /proc/self/cgroup (`/` in
 *     most hierarchies, a per-session group in others) -> /sys/fs/cgroup/<hierarchy>/<own cgroup>/
 *   - the checkout's absolute path                     -> <repo>
 *   - the Node.js binary (process.execPath)            -> <node>
 *   - the hash suffix of step 07's helper binary       -> nsexec-<hash>
 *   - the serial number of step 08's new session keyring -> <serial>
 * fd numbers, addresses and MAC addresses stay as they are: masked() masks them, and a few races,
 * to compare. Regenerating changes no file unless the runtime changed: a trace that differs from
 * its checked-in file only in what masked() masks, or in how the processes interleave, keeps it.
 *
 * The runs themselves are made alike: a fixed environment (PATH and HOME only: no TERM, which the
 * command's environment would copy, and no SUDO_USER, which would choose step 07's id range),
 * stdin from /dev/null and stdout and stderr to pipes (the init's fcntl lines show their flags),
 * and one untraced start first, so that the shared bridge of step 05 exists
 * (its creation, once per boot, is not what a start usually does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  type Dirent,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
export const TRACES_DIR = join(REPO, 'docs', 'traces');
const STEPS_DIR = join(REPO, 'steps');
const ROOTFS = join(REPO, 'rootfs');

export const ROLES = ['host', 'init', 'helper'] as const;
export type Role = (typeof ROLES)[number];

/** The flags of the start the life page follows, before `/bin/true`. */
export const LIFE_FLAGS = ['--hostname', 'box', '--memory', '100m'];

/** The phases of the life page, in order; each is the file life/<n>-<name>.txt. */
export const PHASES = ['1-birth', '2-attach', '3-setup', '4-end'] as const;
export type Phase = (typeof PHASES)[number];

export interface StepTrace {
  /** Two digits. */
  step: string;
  /** The step's directory under steps/. */
  dir: string;
  /** The normalized lines, in the order they were written. */
  lines: string[];
  /** For each line, whether it is new since the step before. */
  isNew: boolean[];
}

export interface GeneratedTraces {
  steps: StepTrace[];
  life: { phase: Phase; lines: string[] }[];
  /** Every file of docs/traces/, by its path relative to it, with its content. */
  files: Map<string, string>;
}

/** The steps, in order: every directory NN-* of steps/. */
export function listSteps(): { step: string; dir: string }[] {
  return readdirSync(STEPS_DIR)
    .filter((name) => /^\d\d-/.test(name))
    .sort()
    .map((name) => ({ step: name.slice(0, 2), dir: join(STEPS_DIR, name) }));
}

/** The role of a trace line: its first word (after the marker, in a .diff). */
export const roleOf = (line: string): string => line.replace(/^[+ ] /, '').split(' ', 1)[0] ?? '';

// --- running a step ---------------------------------------------------------------------------

const runEnvironment = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: process.env.HOME ?? '/root',
});

const RUN_TIMEOUT_MS = 60_000;

/** Runs `start --rootfs <repo>/rootfs ...args /bin/true` of the step; with `traceFile`, traced to it. */
async function runStep(dir: string, args: readonly string[], traceFile: string | null): Promise<void> {
  const argv = ['--import', 'tsx', 'src/main.ts', 'start', '--rootfs', ROOTFS, ...args, '/bin/true'];
  const env = { ...runEnvironment(), ...(traceFile ? { CTR_TRACE: traceFile } : {}) };
  const child = spawn(process.execPath, argv, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.resume();
  const code = await new Promise<number | string>((resolve, reject) => {
    const timer = setTimeout(() => stopGroup(child), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve(exitCode ?? signal ?? 'unknown');
    });
  });
  if (code !== 0) {
    const command = `node ${argv.join(' ')}`;
    throw new Error(`${command} (in ${dir}) ended with ${code}:\n${stderr.trim()}`);
  }
}

function stopGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {}
}

/** One traced start: the raw lines every process of the runtime wrote. */
async function traceRun(dir: string, args: readonly string[]): Promise<string[]> {
  const work = mkdtempSync(join(tmpdir(), 'ctr-traces-'));
  try {
    const file = join(work, 'trace');
    await runStep(dir, args, file);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const stray = lines.find((line) => !(ROLES as readonly string[]).includes(roleOf(line)));
    if (stray !== undefined) throw new Error(`a line of ${dir}'s trace is not host, init or helper: ${stray}`);
    return lines;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// --- normalization ----------------------------------------------------------------------------

export interface Machine {
  repo: string[];
  node: string;
  /** `<mount point><own cgroup>/` -> `<mount point>/<own cgroup>/`, one per v1 hierarchy. */
  ownCgroups: [string, string][];
}

/** What the normalization needs to know of this machine and this process. */
export function readMachine(): Machine {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .flatMap((fields) => {
      const dash = fields.indexOf('-');
      if (dash < 0 || fields[dash + 1] !== 'cgroup') return [];
      return [{ mountPoint: fields[4] as string, options: (fields[dash + 3] ?? '').split(',') }];
    });
  const ownCgroups: [string, string][] = [];
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
    const [, controllers = '', path = '/'] = line.split(/:(.*?):(.*)/s);
    if (controllers === '') continue; // cgroup2: the runtime does not nest its cgroups there
    const first = controllers.split(',')[0] as string;
    const mount = mounts.find((m) => m.options.includes(first));
    if (!mount) continue;
    const own = path === '/' ? '' : path;
    ownCgroups.push([`${mount.mountPoint}${own}/`, `${mount.mountPoint}/<own cgroup>/`]);
  }
  return { repo: [...new Set([REPO, realpathSync(REPO)])], node: process.execPath, ownCgroups };
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Host pids as the lines show them, each with the text around it. */
const HOST_PID_PATTERNS: RegExp[] = [
  /(\/proc\/)(\d+)(\/)/g,
  /(cgroup\.procs", ")(\d+)("\) = )\d+/g,
  /( netns )(\d+)(\b)/g,
  /( --target )(\d+)(\b)/g,
  /(fork\(\) = )(\d+)(\b)/g,
];
/**
 * The command's pid in the container: PID 1 is the init, and the pids after it go to the init's
 * own threads first (how many depends on the Node.js version), so it is not the same everywhere.
 */
const CONTAINER_PID_PATTERNS: RegExp[] = [/(posix_spawn\(.*\) = 0, pid )(\d+)($)/g, /(waitpid\(.*\) = )(\d+)($)/g];

export function normalize(lines: readonly string[], machine: Machine): string[] {
  const id = lines.join('\n').match(/(?:\/ctr\/|\/containers\/|sethostname\(")([0-9a-f]{12})(?![0-9a-f])/)?.[1] ?? null;
  const pids = new Set<string>();
  for (const line of lines) {
    for (const pattern of HOST_PID_PATTERNS) for (const match of line.matchAll(pattern)) pids.add(match[2] as string);
  }
  const cgroups = new Map(machine.ownCgroups);
  const ownCgroup =
    cgroups.size > 0
      ? new RegExp(
          [...cgroups.keys()]
            .sort((a, b) => b.length - a.length)
            .map(escapeRegExp)
            .join('|'),
          'g',
        )
      : null;
  return lines.map((raw) => {
    let line = raw.replaceAll(`${machine.node} `, '<node> ');
    if (ownCgroup) line = line.replace(ownCgroup, (path) => cgroups.get(path) ?? path);
    for (const repo of machine.repo) line = line.replaceAll(repo, '<repo>');
    line = line.replace(/nsexec-[0-9a-f]{12}\b/g, 'nsexec-<hash>');
    line = line.replace(/(KEYCTL_JOIN_SESSION_KEYRING, .*\) = )\d+$/, '$1<serial>');
    if (id) line = line.replaceAll(id, '<id>').replaceAll(`vctr${id.slice(0, 8)}`, 'vctr<id>');
    for (const pattern of [...HOST_PID_PATTERNS, ...CONTAINER_PID_PATTERNS]) {
      line = line.replace(pattern, (_, before: string, _pid: string, after: string) =>
        after.endsWith(' = ') ? `${before}<pid>${after}<len>` : `${before}<pid>${after}`,
      );
    }
    // A host pid left anywhere else would make the file differ from run to run: say where. (Pids
    // below 1000 are left out: `mode=755` is not a pid, and a start has rarely one that low.)
    for (const pid of pids) {
      if (Number(pid) >= 1000 && new RegExp(`\\b${pid}\\b`).test(line)) {
        throw new Error(
          `host pid ${pid} is left in a normalized trace line; add its pattern to HOST_PID_PATTERNS: ${line}`,
        );
      }
    }
    return line;
  });
}

// --- comparing ------------------------------------------------------------------------------

const FD_ARGUMENT = /\b(setns|close|close_range|fcntl|ioctl|openat2|mount_setattr|move_mount)\(\d+/g;
const FD_RESULT = /(\s(?:open|openat2|socket|open_tree)\(.*\) = )\d+$/;
const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const MAC = /\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/gi;

/**
 * A line with what differs between two equal runs masked, for comparing only (the files keep it
 * as it was):
 *   - fd numbers: which fds Node.js holds at that moment depends on timing
 *   - IPv4 and MAC addresses: the address lease, the subnet the machine's routes leave free
 */
/**
 * Lines that some runs have and others not, left out of the comparison: clean-up deletes the veth
 * only if it is still there, and the kernel removes it with the container's network namespace,
 * asynchronously, after the last process in it is gone.
 */
const RACES_TO_BE_THERE = /\$ ip link delete vctr/;

export function masked(line: string): string {
  return line
    .replace(/\/proc\/self\/fd\/\d+/g, '/proc/self/fd/<fd>')
    .replace(FD_ARGUMENT, '$1(<fd>')
    .replace(FD_RESULT, '$1<fd>')
    .replace(/userns_fd=\d+/g, 'userns_fd=<fd>')
    .replace(IPV4, '<ipv4>')
    .replace(MAC, '<mac>');
}

export interface Difference {
  role: Role;
  /** 1-based, among the lines of that role. */
  position: number;
  /** The line of each side, or null when that side's lines of the role ended first. */
  checkedIn: string | null;
  regenerated: string | null;
}

/**
 * The first difference between two traces, role by role (masked): the host's lines compared with
 * the host's, the init's with the init's. How two processes interleave varies between runs.
 * Lines may carry a diff marker (`+ `, `  `), which then counts as part of the line.
 */
export function firstDifference(checkedIn: readonly string[], regenerated: readonly string[]): Difference | null {
  for (const role of ROLES) {
    const a = checkedIn.filter((line) => roleOf(line) === role && !RACES_TO_BE_THERE.test(line));
    const b = regenerated.filter((line) => roleOf(line) === role && !RACES_TO_BE_THERE.test(line));
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const [x, y] = [a[i], b[i]];
      if (x === undefined || y === undefined || masked(x) !== masked(y)) {
        return { role, position: i + 1, checkedIn: x ?? null, regenerated: y ?? null };
      }
    }
  }
  return null;
}

// --- what is new ------------------------------------------------------------------------------

/** For each element of `b`, whether it is outside a longest common subsequence of `a` and `b`. */
function outsideLcs(a: readonly string[], b: readonly string[]): boolean[] {
  // lengths[i][j]: the length of a longest common subsequence of a[i..] and b[j..]
  const lengths = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  const at = (i: number, j: number): number => (lengths[i] as number[])[j] as number;
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      (lengths[i] as number[])[j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const outside = new Array<boolean>(b.length).fill(true);
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      outside[j] = false;
      i++;
      j++;
    } else if (at(i + 1, j) >= at(i, j + 1)) i++;
    else j++;
  }
  return outside;
}

/**
 * A line as it compares with the previous step's: masked, without the number of the step that
 * brought its feature (step 07 changes step 04's cgroups, and their lines stay the same), and
 * without the step's own name in the init bundle's file name.
 */
const comparable = (line: string): string =>
  masked(line)
    .replace(/^(\S+\s+)\d\d (\S+)/, '$1$2')
    .replace(/ctr-init\/\d\d-[\w-]+\.cjs/, 'ctr-init/<step>.cjs');

/** Which lines of `current` are new since `previous`: role by role, comparable lines compared. */
export function newLines(previous: readonly string[], current: readonly string[]): boolean[] {
  const isNew = new Array<boolean>(current.length).fill(true);
  for (const role of ROLES) {
    const before = previous.filter((line) => roleOf(line) === role).map(comparable);
    const indexes = current.flatMap((line, index) => (roleOf(line) === role ? [index] : []));
    const outside = outsideLcs(
      before,
      indexes.map((index) => comparable(current[index] as string)),
    );
    indexes.forEach((index, k) => {
      isNew[index] = outside[k] as boolean;
    });
  }
  return isNew;
}

export const diffLines = (lines: readonly string[], isNew: readonly boolean[]): string[] =>
  lines.map((line, index) => `${isNew[index] ? '+' : ' '} ${line}`);

// --- the life of a container ------------------------------------------------------------------

/**
 * The phases, per role, following the protocol (channel.ts):
 *   1-birth   host: up to its `send spec` (configure, aroundSpawn, spawn, create, spawned);
 *             helper: all of it; init: up to its `send ready`
 *   2-attach  host: from `recv ready` to `send go`
 *   3-setup   init: from `recv go` to the execve of the command (or from step 06, its posix_spawn)
 *   4-end     host: after `send go` (end-of-file, exited, cleanup); init: after the command started
 */
export function splitPhases(lines: readonly string[]): { phase: Phase; lines: string[] }[] {
  const text = (line: string): string => line.replace(/^\S+\s+(?:\d\d )?\S+\s+/, '');
  let host: Phase = '1-birth';
  let init: Phase = '1-birth';
  const seen = new Set<string>();
  const phaseOf = (line: string): Phase => {
    const role = roleOf(line);
    const call = text(line);
    if (role === 'helper') return '1-birth';
    if (role === 'host') {
      if (call === 'recv ready') host = '2-attach';
      const phase = host;
      if (call === 'send go') host = '4-end';
      if (call.startsWith('send ') || call.startsWith('recv ')) seen.add(`host ${call.split(':')[0]}`);
      return phase;
    }
    if (call === 'recv go') init = '3-setup';
    const phase = init;
    if (init === '3-setup' && /^(execve|posix_spawn)\(/.test(call)) {
      init = '4-end';
      seen.add('init command');
    }
    if (call.startsWith('send ') || call.startsWith('recv ')) seen.add(`init ${call}`);
    return phase;
  };
  const phased = lines.map((line) => ({ line, phase: phaseOf(line) }));
  for (const needed of ['host send spec', 'host recv ready', 'host send go', 'init send ready', 'init recv go']) {
    if (!seen.has(needed)) throw new Error(`the life trace has no "${needed}" line: cannot split it into phases`);
  }
  if (!seen.has('init command')) throw new Error('the life trace has no execve or posix_spawn of the command');
  return PHASES.map((phase) => ({ phase, lines: phased.filter((p) => p.phase === phase).map((p) => p.line) }));
}

// --- all of it --------------------------------------------------------------------------------

const fileText = (lines: readonly string[]): string => `${lines.join('\n')}\n`;

/** The steps' traces, each with what is new in it, in order. */
function withNewLines(steps: readonly { step: string; dir: string; lines: string[] }[]): StepTrace[] {
  return steps.map((trace, index) => ({ ...trace, isNew: newLines(steps[index - 1]?.lines ?? [], trace.lines) }));
}

/** The files of docs/traces/, by path relative to it. */
function traceFiles(steps: readonly StepTrace[], life: GeneratedTraces['life']): Map<string, string> {
  const files = new Map<string, string>();
  for (const { step, lines, isNew } of steps) {
    files.set(`${step}.txt`, fileText(lines));
    files.set(`${step}.diff`, fileText(diffLines(lines, isNew)));
  }
  for (const { phase, lines } of life) files.set(`life/${phase}.txt`, fileText(lines));
  return files;
}

/** Runs every step (and the life start), and returns the traces and the files they make. */
export async function generateTraces(log: (line: string) => void = () => {}): Promise<GeneratedTraces> {
  if (process.getuid?.() !== 0) throw new Error('the traces come from rootful runs: run: sudo pnpm docs:traces');
  const steps = listSteps();
  const last = steps.at(-1);
  if (!last) throw new Error(`no step directories in ${STEPS_DIR}`);
  try {
    lstatSync(join(ROOTFS, 'bin', 'sh')); // a symlink to /bin/busybox, absolute: lstat
  } catch {
    throw new Error(`${ROOTFS} has no /bin/sh: run pnpm rootfs first`);
  }
  const machine = readMachine();
  log(`warming up: one untraced start of step ${last.step}`);
  await runStep(last.dir, [], null);

  const traced: { step: string; dir: string; lines: string[] }[] = [];
  for (const { step, dir } of steps) {
    log(`tracing step ${step}`);
    traced.push({ step, dir, lines: normalize(await traceRun(dir, []), machine) });
  }
  log(`tracing step ${last.step}: start ${LIFE_FLAGS.join(' ')} /bin/true`);
  const life = splitPhases(normalize(await traceRun(last.dir, LIFE_FLAGS), machine));
  const withNew = withNewLines(traced);
  return { steps: withNew, life, files: traceFiles(withNew, life) };
}

/** The lines of a checked-in file of docs/traces/, or null when there is none. */
export function readTraceFile(path: string): string[] | null {
  try {
    return readFileSync(join(TRACES_DIR, path), 'utf8').split('\n').filter(Boolean);
  } catch {
    return null;
  }
}

/**
 * Writes docs/traces/. A trace whose checked-in file differs from the new run only in what two
 * equal runs differ in (fd numbers, addresses, the interleaving of host and init) keeps its file,
 * so that regenerating changes nothing that did not change. Files of an older generation go.
 */
export function writeTraces(generated: GeneratedTraces): { written: string[]; removed: string[] } {
  const kept = (path: string, lines: string[]): string[] => {
    const old = readTraceFile(path);
    return old && firstDifference(old, lines) === null ? old : lines;
  };
  const steps = withNewLines(
    generated.steps.map((trace) => ({ ...trace, lines: kept(`${trace.step}.txt`, trace.lines) })),
  );
  const life = generated.life.map(({ phase, lines }) => ({ phase, lines: kept(`life/${phase}.txt`, lines) }));
  const files = traceFiles(steps, life);
  const written: string[] = [];
  for (const [path, content] of files) {
    const target = join(TRACES_DIR, path);
    if (readTraceFile(path) !== null && readFileSync(target, 'utf8') === content) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    written.push(path);
  }
  const removed = listTraceFiles().filter((path) => !files.has(path));
  for (const path of removed) rmSync(join(TRACES_DIR, path));
  return { written, removed };
}

/** The files under docs/traces/ now, by path relative to it. */
export function listTraceFiles(dir = TRACES_DIR, prefix = ''): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) =>
    entry.isDirectory() ? listTraceFiles(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const say = (line: string): void => {
    process.stderr.write(`traces: ${line}\n`);
  };
  try {
    const generated = await generateTraces(say);
    const { written, removed } = writeTraces(generated);
    for (const { step, lines, isNew } of generated.steps) {
      say(`step ${step}: ${lines.length} lines, ${isNew.filter(Boolean).length} new`);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    say(
      `${generated.files.size} files in docs/traces/: ${written.length} written, ${removed.length} removed, the others unchanged (${seconds} s)`,
    );
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
