/**
 * The host side of `start`: one container from flags to exit code. This function is the order
 * of operations; CTR_TRACE=1 prints each system call it leads to, named by the hook that asked.
 *
 *   configure   every feature validates its flags (nothing exists yet, so bad input costs nothing)
 *   spawn       the init, this same program re-executed as `<entry> init`, inside whatever
 *               namespaces must hold from birth (the PID namespace); it waits for its spec.
 *               Usually the entry point did this already, before the flags were parsed.
 *   create      host resources, while the init starts: cgroup, network lease... each registers
 *               its undo
 *   spawned     the init waits for its spec: put it where it must be before it runs anything
 *   spec        the init unshares spec.namespaces and says it is ready
 *   attach      the init waits in its namespaces: host work that needs them (a veth)
 *   go          the init sets up the container (setup hooks) and execs the command
 *   wait        the command's exit status becomes ours
 *   exited      features report what the kernel recorded (an OOM kill, say)
 *   clean up    in reverse, always: on success, on error, on SIGINT/SIGTERM
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { resolveRootfs } from '@ctr/rootfs';
import { signalExitCode } from '@ctr/syscalls';
import { HostChannel } from './channel.js';
import { Cleanup } from './cleanup.js';
import { EXIT_RUNTIME_ERROR, RuntimeError, UsageError } from './errors.js';
import { DEFAULT_ENV } from './exec.js';
import { type AnyFeature, type ContainerSpec, namespacesOf, type Step } from './feature.js';
import type { FlagTable, FlagValues } from './flags.js';
import { asHook, asRuntime } from './hooks.js';
import { FORWARDED_SIGNALS, PASSED_SIGNALS, STOP_SIGNALS } from './signals.js';
import { spawnInit } from './spawn.js';

export interface StartOptions {
  command: string[];
  rootfs: string | undefined;
  env: string[];
  /** Each feature's own flags, by feature name. */
  flags: ReadonlyMap<string, unknown>;
  /** The program to re-execute as the init: the step's own entry file. */
  entry: string;
  /** The init, when the entry point started it before the flags were parsed (fast-start.ts). */
  init?: ChildProcess | null;
  log: (line: string) => void;
  /** The command's stdin, stdout and stderr: the runtime's own, or pipes to read (step 10's monitor). */
  stdio?: 'inherit' | 'pipe';
  /** The short id to give the container (step 10 chooses it before the container exists). */
  id?: string;
  /** Called once the command runs (its execve succeeded), with the host pid of the container's init. */
  onRunning?: (initPid: number) => void;
}

class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

// #region lifecycle
export async function startContainer(step: Step, options: StartOptions): Promise<number> {
  return runContainer(step, await configureContainer(step, options), options);
}

/** Every feature validates its flags into its settings: bad input stops here, with nothing made. */
export async function configureContainer(step: Step, options: StartOptions): Promise<ContainerSpec> {
  if (process.getuid?.() !== 0 && !step.rootless) {
    throw new RuntimeError(
      'must run as root: namespaces, mounts and cgroups need it (try sudo, or step 07 for rootless)',
    );
  }
  const spec = await buildSpec(step, options);
  for (const feature of step.features) {
    // What commander parsed for this feature's own flag table (cli.ts), typed by that table.
    const flags = (options.flags.get(feature.name) ?? {}) as FlagValues<FlagTable>;
    spec.features[feature.name] = await asHook(feature, 'configure', () =>
      feature.configure?.(flags, spec, options.log),
    );
  }
  // A feature may supply the default command (step 09: the image's); else docker's shell.
  if (spec.args.length === 0) spec.args = ['/bin/sh'];
  spec.namespaces = namespacesOf(step.features, spec.features);
  return spec;
}

/** The container of a configured spec, from its init's spawn to its clean-up; returns its exit status. */
export async function runContainer(
  step: Step,
  spec: ContainerSpec,
  options: Omit<StartOptions, 'flags' | 'command' | 'rootfs' | 'env'>,
): Promise<number> {
  // Features whose configure returned null sit this container out: none of their hooks run.
  const active = (): AnyFeature[] => step.features.filter((feature) => spec.features[feature.name] !== null);
  const settings = (feature: AnyFeature) => spec.features[feature.name];

  const cleanup = new Cleanup();
  let child: ChildProcess | null = null;
  let interrupted: NodeJS.Signals | null = null;
  let stopping = false;
  let stopTimer: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const running = child !== null && child.exitCode === null && child.signalCode === null;
    if (!running) {
      if (STOP_SIGNALS.includes(signal)) interrupted ??= signal;
    } else if (PASSED_SIGNALS.includes(signal)) {
      child?.kill(signal);
    } else if (stopping) {
      // Asked twice: the container did not stop (PID 1 ignores signals it has no handler for).
      child?.kill('SIGKILL');
    } else {
      stopping = true;
      child?.kill(signal);
      const seconds = stopTimeoutOf(active(), spec);
      if (seconds !== null) stopTimer = setTimeout(() => child?.kill('SIGKILL'), seconds * 1000);
    }
  };
  const checkInterrupted = (): void => {
    if (interrupted) throw new Interrupted(interrupted);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);

  try {
    // The init starts before the host creates anything, as runc starts `runc init` before it
    // applies the cgroups: its Node.js start-up (~40 ms) overlaps the host's work, and it only
    // waits for its spec meanwhile. The entry point has usually started it already.
    const init = options.init ?? (await spawnInit(step, options.entry, options.stdio));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      init.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const spawnFailed = new Promise<never>((_, reject) =>
      init.once('error', (error) => reject(new RuntimeError(`cannot start the container's init: ${error.message}`))),
    );
    spawnFailed.catch(() => {}); // observed through Promise.race below; never an unhandled rejection
    const stopInit = async (): Promise<void> => {
      if (init.exitCode === null && init.signalCode === null) {
        init.kill('SIGKILL');
        await exited;
      }
    };
    try {
      for (const feature of active()) {
        await asHook(feature, 'create', () => feature.create?.(settings(feature), spec, cleanup));
        checkInterrupted();
      }
    } catch (error) {
      await stopInit();
      throw error;
    }
    // Registered after what create made, so that clean-up, in reverse, stops the container first:
    // a cgroup with a process left in it cannot be removed (EBUSY).
    asRuntime('stop', () => cleanup.defer('stop the container', stopInit));
    child = init;

    let initPid = init.pid as number;
    for (const feature of active()) {
      const pid = await asHook(feature, 'spawned', () =>
        feature.spawned?.(settings(feature), initPid, spec, cleanup, init),
      );
      if (typeof pid === 'number') initPid = pid;
    }
    const channel = new HostChannel(init.stdio[3] as Duplex);
    asRuntime('start', () => channel.send({ type: 'spec', spec }));
    const first = await Promise.race([channel.next(), spawnFailed]);
    let last = first;
    if (first?.type === 'ready') {
      for (const feature of active()) {
        await asHook(feature, 'attach', () => feature.attach?.(settings(feature), initPid, spec, cleanup));
      }
      checkInterrupted();
      asRuntime('start', () => channel.send({ type: 'go' }));
      // End-of-file now means execve() succeeded; a message means the setup failed before it.
      last = await channel.next();
      if (last === null) options.onRunning?.(initPid);
    }
    const status = await exited;
    channel.close();
    for (const feature of active()) {
      asHook(feature, 'exited', () => feature.exited?.(settings(feature), spec, options.log));
    }

    if (last?.type === 'error') {
      options.log(last.message);
      return last.exitCode;
    }
    if (status.signal) return signalExitCode(status.signal);
    if (first === null) {
      options.log(`the container's init exited with status ${status.code} before it was ready`);
      return EXIT_RUNTIME_ERROR;
    }
    return status.code ?? EXIT_RUNTIME_ERROR;
  } catch (error) {
    if (error instanceof Interrupted) return signalExitCode(error.signal);
    throw error;
  } finally {
    clearTimeout(stopTimer);
    await cleanup.run(options.log);
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
}
// #endregion lifecycle

/** The stop timeout a feature sets (step 06's --stop-timeout); without one, only a second signal kills. */
function stopTimeoutOf(features: readonly AnyFeature[], spec: ContainerSpec): number | null {
  const feature = features.findLast((f) => f.stopTimeout);
  return feature?.stopTimeout?.(spec.features[feature.name]) ?? null;
}

async function buildSpec(step: Step, options: StartOptions): Promise<ContainerSpec> {
  const usesRootfs = step.features.some((feature) => feature.usesRootfs);
  if (!usesRootfs && options.rootfs !== undefined) {
    options.log(
      `note: step ${step.id} has no mount namespace yet, so the command sees the host's files; --rootfs takes effect from step 03`,
    );
  }
  return {
    id: options.id ?? randomBytes(6).toString('hex'),
    args: options.command,
    env: containerEnv(options.env),
    rootfs: usesRootfs ? await resolveRootfs(options.rootfs, options.log) : null,
    namespaces: 0,
    hostname: null,
    etcFiles: {},
    features: {},
  };
}

/**
 * The command's environment is built, not inherited: the host's variables (SUDO_*, SSH_*, the
 * student's tokens) stay on the host. TERM is the exception, so that an interactive shell knows
 * the terminal it is drawing on. `-e KEY` alone copies KEY from the host, as in docker.
 */
export function containerEnv(assignments: readonly string[], host: NodeJS.ProcessEnv = process.env): string[] {
  const base = [...DEFAULT_ENV].map(([key, value]) => `${key}=${value}`);
  if (host.TERM) base.push(`TERM=${host.TERM}`);
  return withAssignments(base, assignments, host);
}

/**
 * `base` with each `-e NAME=value` set and each `-e NAME` copied from `host`, later ones winning:
 * start's environment, and step 10's exec on top of a running container's.
 */
export function withAssignments(
  base: readonly string[],
  assignments: readonly string[],
  host: NodeJS.ProcessEnv = process.env,
): string[] {
  const env = new Map(base.map(splitAssignment));
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq === 0) throw new UsageError(`--env "${assignment}": the name is empty; use --env NAME=value`);
    if (eq < 0) {
      const value = host[assignment];
      if (value !== undefined) env.set(assignment, value);
    } else {
      env.set(assignment.slice(0, eq), assignment.slice(eq + 1));
    }
  }
  return [...env].map(([key, value]) => `${key}=${value}`);
}

function splitAssignment(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
}
