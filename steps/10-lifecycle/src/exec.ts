/**
 * `ctr exec`: one more process in a running container, with everything its command has: the
 * same seven namespaces, the same cgroups (so the same limits), the same capabilities, seccomp
 * filter, no_new_privs and user. Nothing of it is asked of the container: the host joins it from
 * outside (setns(2)) and repeats step 08's setup for the new process, as runc's `exec` does.
 *
 * The joining is native/nsenter.c: setns into a user or mount namespace is refused to a
 * multi-threaded process such as Node (EINVAL), and only children made after setns(CLONE_NEWPID)
 * are in the container's PID namespace, which needs fork(). This side decides what to join and
 * with which settings, reading them from the container's spec as the runtime wrote it at `run`.
 *
 * -t: there is no pseudo-terminal here (docker makes one, in the daemon). The command gets the
 * caller's own terminal, in its foreground, as `start` gives it to the command today: it reads
 * what is typed and Ctrl-C goes to it, but it shares the terminal with the caller's shell (this
 * kernel has dev.tty.legacy_tiocsti = 1: a program in the container can push input into it).
 * A pty relay is the documented follow-up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { isatty } from 'node:tty';
import { fileURLToPath } from 'node:url';
import type { CgroupConfig } from '@ctr/04';
import { buildNative } from '@ctr/07';
import type { SecurityConfig } from '@ctr/08';
import {
  type ContainerSpec,
  DEFAULT_PATH,
  EXIT_RUNTIME_ERROR,
  FORWARDED_SIGNALS,
  RuntimeError,
  readFileOr,
  UsageError,
} from '@ctr/runtime';
import { withAssignments } from '@ctr/runtime/commands';
import { errnoText, trace, traceForChild, tracing } from '@ctr/syscalls';
import { isSame, observe, readSpec, resolveContainer } from './records.js';

export const NSENTER_SOURCE = fileURLToPath(new URL('../native/nsenter.c', import.meta.url));

export interface ExecOptions {
  /** -t: the command takes the caller's terminal (see the top of this file: no pty). */
  tty: boolean;
  /** -i: the command reads the caller's stdin; otherwise /dev/null, as docker exec without -i. */
  interactive: boolean;
  /** -e NAME=value, or NAME alone: the caller's value, as docker takes it. */
  env: string[];
  /** -u user[:group], names looked up in the container's own files; default: the container's user. */
  user?: string;
  /** -w: an absolute path inside; default: the image's WorkingDir, else /. */
  workdir?: string;
}

/** The fds the helper reads its seccomp program from and writes its errors to (nsenter.c). */
const PROGRAM_FD = 3;
const ENVIRONMENT_FD = 5;
const ERRORS_FD = 4;

// #region exec-command
/** `ctr exec [-i] [-t] [-e NAME=value]... [-u user] [-w dir] <container> <command...>` */
export async function execCommand(
  ref: string,
  command: string[],
  flags: Readonly<Record<string, unknown>>,
): Promise<number> {
  const id = resolveContainer(ref);
  const observed = observe(id);
  const short = id.slice(0, 12);
  if (observed?.status !== 'running' || !isSame(observed.state.pid, observed.state.pidStartTime)) {
    const status =
      observed?.status === 'exited' ? `exited (${observed.state.exitCode})` : (observed?.status ?? 'removed');
    throw new RuntimeError(
      `container ${short} is not running (${status}): see ctr ps -a, or start one with ctr run -d`,
    );
  }
  const spec = readSpec(id);
  if (spec === null) {
    throw new RuntimeError(`container ${short} has no spec.json in its record: remove it (ctr rm -f ${ref})`);
  }
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  return execInContainer(spec, observed.state.pid as number, command, {
    tty: flags.tty === true,
    interactive: flags.interactive === true,
    env: Array.isArray(flags.env) ? flags.env.map(String) : [],
    user: text(flags.user),
    workdir: text(flags.workdir),
  });
}
// #endregion exec-command

// #region exec
/**
 * Runs `command` in the container whose PID 1 is `pid` on the host, and returns its exit status
 * as docker does: the command's own, 128+N when signal N ended it. What keeps it from running
 * throws: 126 (not executable) and 127 (not found) with the command's message, 125 otherwise.
 */
export async function execInContainer(
  spec: ContainerSpec,
  pid: number,
  command: string[],
  options: ExecOptions,
): Promise<number> {
  if (command.length === 0) throw new UsageError('exec needs a command: ctr exec <container> <command...>');
  if (process.getuid?.() !== 0) {
    throw new RuntimeError('exec needs root in this step (rootless containers are out of its scope): use sudo');
  }
  checkRunning(spec, pid);
  const env = withAssignments(spec.env, options.env);
  const security = spec.features.security as SecurityConfig | null | undefined;
  const cgroups = spec.features.cgroups as CgroupConfig | null | undefined;
  const workingDir = (spec.features.image as { workingDir: string | null } | null | undefined)?.workingDir;
  const cwd = options.workdir ?? (workingDir || '/');
  if (!cwd.startsWith('/')) {
    throw new UsageError(`--workdir ${cwd}: give an absolute path inside the container, e.g. -w /tmp`);
  }
  const user = options.user ?? containerUser(security);
  if (user !== undefined && !USER.test(user)) {
    throw new UsageError(
      `--user ${JSON.stringify(user)}: give user[:group], each a number or a name, e.g. -u 1000:1000`,
    );
  }
  // Without a terminal to draw on, -t would mean nothing; docker says the same.
  if (options.tty && !isatty(0)) {
    throw new RuntimeError('the input device is not a TTY: leave out -t, or run ctr exec from a terminal');
  }
  const stdinInherited = options.interactive || options.tty;

  const args = [`${pid}`, `--forward=${FORWARDED_SIGNALS.map((name) => constants.signals[name]).join(',')}`];
  // One directory per hierarchy the container is in (v1: cpu and cpuacct may be one mount).
  for (const dir of new Set(Object.values(cgroups?.dirs ?? {}))) args.push(`--cgroup=${dir}`);
  args.push(`--cwd=${cwd}`, `--keyring=_ses.${spec.id}`);
  if (user !== undefined) args.push(`--user=${user}`);
  if (security) {
    args.push(`--caps=${security.capabilityMask}`, `--last-cap=${security.lastCapability}`);
    if (security.noNewPrivileges) args.push('--nnp');
    if (security.seccomp) args.push(`--seccomp=${security.seccomp.flags}`);
  }
  if (stdinInherited) args.push('--foreground');

  const stdio: ('inherit' | 'ignore' | 'pipe' | number)[] = [
    stdinInherited ? 'inherit' : 'ignore',
    'inherit',
    'inherit',
    security?.seccomp ? 'pipe' : 'ignore',
    'pipe',
    'pipe',
  ];
  const traced = traceForChild(stdio.length);
  if (traced.fd !== null) stdio.push(traced.fd);
  if (traced.env.CTR_TRACE) args.push(`--trace=${traced.env.CTR_TRACE}`);
  args.push('--', ...command);

  const helper = buildNative(NSENTER_SOURCE, fileURLToPath(new URL('../build/', import.meta.url)), '10');
  if (tracing()) trace(`$ ${helper} ${args.join(' ')}`);
  // An empty environment: the container's (an image's LD_PRELOAD) would act on the helper's
  // dynamic loader, on the host, as root. The command's comes on fd 5. The helper closes every
  // fd but 0-2 and its error channel itself, before it forks the command.
  const child = spawn(helper, args, { stdio, env: {} });
  const environment = (child.stdio as unknown[])[ENVIRONMENT_FD] as NodeJS.WritableStream;
  environment.on('error', () => {});
  environment.end(Buffer.from(env.map((variable) => `${variable}\0`).join('')));
  if (security?.seccomp) {
    const program = child.stdio[PROGRAM_FD] as NodeJS.WritableStream;
    // A helper that failed before it read the program says why on its error channel: EPIPE here adds nothing.
    program.on('error', () => {});
    program.end(Buffer.from(security.seccomp.program, 'base64'));
  }
  return waitForCommand(child, command[0] as string, env);
}
// #endregion exec

const USER = /^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/;

/** The container's user (step 08's --user, or the image's User as step 09 resolved it). */
function containerUser(security: SecurityConfig | null | undefined): string | undefined {
  const user = security?.user;
  if (!user) return undefined;
  return user.gid === null ? `${user.uid}` : `${user.uid}:${user.gid}`;
}

/**
 * The pid given is the container's PID 1 only while it is in the container's cgroup: a pid the
 * kernel gave to another process since would put the command in some other process's
 * namespaces. The caller checked the start time; this is the second lock on that door.
 */
function checkRunning(spec: ContainerSpec, pid: number): void {
  const cgroupFile = readFileOr(`/proc/${pid}/cgroup`, null);
  const cgroups = spec.features.cgroups as CgroupConfig | null | undefined;
  const inContainer =
    cgroupFile !== null && (Object.keys(cgroups?.dirs ?? {}).length === 0 || cgroupFile.includes(`/ctr/${spec.id}\n`));
  if (!inContainer) {
    throw new RuntimeError(
      `container ${spec.id} is not running: its PID 1 (${pid}) is gone; see ctr ps -a, or start one with ctr run -d`,
    );
  }
}

/**
 * Passes the runtime's signals on to the helper (which passes them on to the command) until it
 * exits. Ctrl-C without -t reaches only this process: the helper runs in a process group of its
 * own, so the command gets each signal once.
 */
async function waitForCommand(child: ChildProcess, name: string, env: readonly string[]): Promise<number> {
  const onSignal = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  try {
    const errors: Buffer[] = [];
    const channel = child.stdio[ERRORS_FD] as NodeJS.ReadableStream;
    channel.on('data', (chunk: Buffer) => errors.push(chunk));
    const channelClosed = new Promise<void>((resolve) => channel.once('close', resolve));
    const status = await new Promise<number>((resolve, reject) => {
      child.once('error', (error) =>
        reject(new RuntimeError(`cannot start the exec helper: ${error.message}`, EXIT_RUNTIME_ERROR)),
      );
      child.once('exit', (code, signal) =>
        resolve(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? EXIT_RUNTIME_ERROR)),
      );
    });
    await channelClosed;
    const line = Buffer.concat(errors).toString('utf8').split('\n')[0] ?? '';
    if (line) throw helperFailure(line, status, name, env);
    return status;
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
}

// #region failure
/** "E<errno> <call>" from the helper, as one line a user can act on. */
function helperFailure(line: string, status: number, name: string, env: readonly string[]): RuntimeError {
  const match = /^E(\d+) (.*)$/.exec(line);
  if (!match) return new RuntimeError(`the exec helper failed: ${line}`, EXIT_RUNTIME_ERROR);
  const errno = Number(match[1]);
  const call = match[2] as string;
  const code = status === 126 || status === 127 ? status : EXIT_RUNTIME_ERROR;
  const argument = /^\w+\((.*)\)/.exec(call)?.[1] ?? '';
  if (call.startsWith('lookup(') && errno === constants.errno.ENOENT) {
    const path = env.find((entry) => entry.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
    return new RuntimeError(
      `exec: "${name}" not found in the container's PATH (${path}): give its full path, or -e PATH=...`,
      code,
    );
  }
  if (call.startsWith('lookup(')) return new RuntimeError(`exec: "${argument}" is not executable: chmod +x it`, code);
  if (call.startsWith('execve(')) return new RuntimeError(`exec: cannot run "${argument}": ${errnoText(errno)}`, code);
  if (call.startsWith('chdir(')) {
    return new RuntimeError(
      `exec: cannot enter the working directory ${argument}: ${errnoText(errno)}: give -w a directory of the container`,
      code,
    );
  }
  if (call.startsWith('getpwnam(') || call.startsWith('getgrnam(')) {
    return new RuntimeError(
      `exec: ${call.replace(/^\w+\((.*?)\)/, '"$1" not found')}: give a number or a name it has`,
      code,
    );
  }
  // Between the check and the join the container may have ended: its cgroups and /proc/<pid> go.
  const gone = errno === constants.errno.ENOENT || errno === constants.errno.ESRCH;
  if (gone && /^(open|stat|setns)\((\/proc\/|\/sys\/fs\/cgroup)/.test(call)) {
    return new RuntimeError(
      `exec: the container stopped meanwhile (${call}: ${errnoText(errno)}): see ctr ps -a`,
      code,
    );
  }
  if (call.startsWith('fork(') && errno === constants.errno.EAGAIN) {
    return new RuntimeError(`exec: fork() failed: EAGAIN: the container's --pids-limit is reached`, code);
  }
  return new RuntimeError(`exec: ${call} failed: ${errnoText(errno)}`, code);
}
// #endregion failure
