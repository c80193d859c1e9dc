import type { ChildProcess } from 'node:child_process';
import type { Cleanup } from './cleanup.js';
import type { FlagTable, FlagValues } from './flags.js';
import type { StartOptions } from './host.js';

/**
 * What the host sends the init: a small cousin of an OCI runtime spec (config.json). The named
 * fields are what one feature states for the others; `features` holds each feature's own
 * settings, keyed by the feature's name, for its own hooks only.
 */
export interface ContainerSpec {
  /** 12 hex digits, like docker's short ids; names the cgroup, the veth, the default hostname. */
  id: string;
  /** The command and its arguments; args[0] is looked up in the container's PATH. Empty while
   * the features configure when none was given: then a feature may set one (step 09's image). */
  args: string[];
  /** KEY=VALUE strings: the command's whole environment (nothing leaks from the host). */
  env: string[];
  /** Absolute path of the root filesystem, or null when no step uses one yet. */
  rootfs: string | null;
  /** The CLONE_NEW* namespaces the init unshares, from every feature's `namespaces`. */
  namespaces: number;
  /** The container's hostname, from step 02 on (OCI: `hostname`); null before. */
  hostname: string | null;
  /** Host files that become these files of the container's /etc, read-only (step 05's resolv.conf, hosts). */
  etcFiles: { [file in 'resolv.conf' | 'hosts']?: string };
  features: Record<string, unknown>;
}

/** A host path bound into the container (`-v`, or a file of `etcFiles`). */
export interface Bind {
  /** A host path. */
  source: string;
  /** Where it appears inside the container. */
  target: string;
  readonly: boolean;
}

// #region feature
/**
 * One kernel concept, as a set of hooks into the container's life. A step is a list of features;
 * step N is step N-1's list plus its own, so a step's new code is its features and nothing else.
 *
 * The hooks in the order they run; the trace (CTR_TRACE=1) names each one as it runs, e.g.
 * `04 cgroups.spawned` (H: the runtime on the host, C: the init, inside the container):
 *
 *   H configure     flags -> this feature's settings; bad input is refused before anything exists
 *   H aroundSpawn   wraps the spawn of the init: what must hold from its birth (PID namespace)
 *   H create        host resources (a cgroup, an address lease); registers their undo
 *   H spawned       the init exists, waiting for its spec (a cgroup to join)
 *   C               the init unshares spec.namespaces and says it is ready
 *   H attach        the init is in its namespaces, nothing of the user's has run (a veth)
 *   C setup         inside the new namespaces (hostname, mounts, pivot_root)
 *   C launch        starts the command instead of exec'ing it (an init that stays PID 1)
 *   H exited        the container has ended; report what the kernel recorded (an OOM kill)
 *   H               every undo registered, in reverse order
 *
 * Hooks are written as methods so a Feature<{ hostname: ... }> fits in a Feature[] list.
 */
export interface Feature<Flags extends FlagTable = FlagTable, Config = unknown> {
  readonly name: string;
  /** This feature's docker-style flags of `start`, with their types (flags.ts). */
  readonly flags?: Flags;
  /** True when the feature needs the root filesystem; until one does, --rootfs is not used. */
  readonly usesRootfs?: boolean;
  /**
   * Host: turns this feature's flags into its settings; throw UsageError for bad input. Returning
   * null leaves the feature out of this container: none of its other hooks run.
   */
  configure?(
    flags: FlagValues<Flags>,
    spec: ContainerSpec,
    log: (line: string) => void,
  ): Config | null | Promise<Config | null>;
  /** CLONE_NEW* bits the init unshares for this feature, given its settings (`--net host`: none). */
  namespaces?(config: Config): number;
  /**
   * Host: wraps the spawn of the init, for what must be true of it from its birth. Runs before
   * the flags are parsed (the init is started early, fast-start.ts), so it cannot use them.
   */
  aroundSpawn?(spawn: (through?: readonly string[]) => ChildProcess): ChildProcess;
  /** Host: creates what the container needs on the host, and registers the undo with `cleanup`. */
  create?(config: Config, spec: ContainerSpec, cleanup: Cleanup): void | Promise<void>;
  /**
   * Host: the init exists and waits for its spec. When the spawned program is not the init
   * itself (step 07's helper), the hook that knows returns the init's pid.
   */
  spawned?(
    config: Config,
    pid: number,
    spec: ContainerSpec,
    cleanup: Cleanup,
    spawned: ChildProcess,
  ): number | undefined | Promise<number | undefined>;
  /** Host: the init has unshared its namespaces, and nothing of the user's has run. */
  attach?(config: Config, pid: number, spec: ContainerSpec, cleanup: Cleanup): void | Promise<void>;
  /** Container: runs inside the init, in the new namespaces, before the command is exec'd. */
  setup?(config: Config, spec: ContainerSpec): void;
  /**
   * Container: starts the command instead of exec'ing it (an init that stays PID 1). The init's
   * event loop keeps running afterwards; the feature exits the process when it is done. It must
   * close the init channel (fd 3) once the command runs: that end-of-file tells the host.
   */
  launch?(config: Config, spec: ContainerSpec): void;
  /** Host: seconds to wait after forwarding a stop signal before the container is SIGKILLed. */
  stopTimeout?(config: Config): number;
  /** Host: the container has ended; report what the kernel recorded, before clean-up removes it. */
  exited?(config: Config, spec: ContainerSpec, log: (line: string) => void): void;
}
// #endregion feature

// biome-ignore lint/suspicious/noExplicitAny: a step holds features of every flag table and settings type
export type AnyFeature = Feature<any, any>;

/**
 * A command of the CLI beside `start`, for what is not one container's life (step 09's `pull`,
 * `images`, `rmi`). Its errors are the runtime's: one line, exit 125.
 */
export interface StepCommand {
  /** commander's usage: `pull <name>`, `rmi <names...>`. */
  readonly usage: string;
  readonly summary: string;
  /** The command's own flags (`ps -a`), read back by their keys in `context.flags`. */
  readonly flags?: FlagTable;
  /** Takes `start`'s flags and a command after them (step 10's `run`): `context.start`. */
  readonly startFlags?: boolean;
  /** Left out of --help: the runtime runs it itself (step 10's monitor). */
  readonly hidden?: boolean;
  /** The entry point starts the container's init before the flags are parsed (fast-start.ts), with this stdio. */
  readonly startsInit?: 'inherit' | 'pipe';
  /** Runs with the positional arguments, a variadic one spread; returns the exit status. */
  run(args: string[], log: (line: string) => void, context: CommandContext): number | Promise<number>;
}

export interface CommandContext {
  readonly flags: Readonly<Record<string, unknown>>;
  /** With `startFlags`: what `start` would run, given the same flags (not configured yet). */
  readonly start: StartOptions | null;
  /** The step's entry file, to re-execute (the init, step 10's monitor). */
  readonly entry: string;
  /** The init the entry point started early (`startsInit`), to take over or stop. */
  readonly init: ChildProcess | null;
}

export interface Step {
  /** Two digits: `pnpm --filter 03` selects the package `@ctr/03`. */
  readonly id: string;
  readonly title: string;
  readonly features: readonly AnyFeature[];
  /** The commands beside `start`, from the step that brought each one on. */
  readonly commands: readonly StepCommand[];
  /** True from the step on that can run without root (step 07's user namespace). */
  readonly rootless: boolean;
}

/** Which step brought each feature (or its changed version): the trace names it. */
const introducedBy = new WeakMap<AnyFeature, string>();

export const stepOf = (feature: AnyFeature): string => introducedBy.get(feature) ?? '--';

// #region define-step
/**
 * Step N: everything step N-1 does (`extends`), plus what it `adds`. Rarely a step must change a
 * feature of an earlier one: `changes` lists each as [the earlier feature, its replacement (or a
 * list of features in its place), or null to drop it], kept in its place in the list (step 07 makes the PID namespace itself, inside
 * the user namespace, and adapts cgroups, network and mounts to running without root).
 */
export function defineStep(step: {
  id: string;
  title: string;
  extends: Step | null;
  changes?: readonly (readonly [AnyFeature, AnyFeature | readonly AnyFeature[] | null])[];
  adds: readonly AnyFeature[];
  commands?: readonly StepCommand[];
  rootless?: boolean;
}): Step {
  const changes = new Map(step.changes ?? []);
  const kept = (step.extends?.features ?? []).flatMap((feature) => {
    if (!changes.has(feature)) return [feature];
    return [changes.get(feature) ?? []].flat();
  });
  for (const feature of [...step.adds, ...[...changes.values()].flat()]) {
    // A feature kept in a replacement list (step 09 puts one before step 08's security) stays its step's.
    if (feature && !introducedBy.has(feature)) introducedBy.set(feature, step.id);
  }
  return {
    id: step.id,
    title: step.title,
    features: [...kept, ...step.adds],
    commands: [...(step.extends?.commands ?? []), ...(step.commands ?? [])],
    rootless: step.rootless ?? step.extends?.rootless ?? false,
  };
}
// #endregion define-step

/** The namespaces all features of a step ask for, given their settings (null: left out). */
export function namespacesOf(features: readonly AnyFeature[], settings: ContainerSpec['features']): number {
  return features.reduce((all, feature) => {
    const config = settings[feature.name];
    return config === null ? all : all | (feature.namespaces?.(config) ?? 0);
  }, 0);
}

export function defineFeature<Flags extends FlagTable, Config>(
  feature: Feature<Flags, Config>,
): Feature<Flags, Config> {
  return feature;
}
