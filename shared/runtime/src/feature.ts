import type { ChildProcess } from 'node:child_process';
import type { Command } from 'commander';
import type { Cleanup } from './cleanup.js';

/**
 * What the host sends the init: a small cousin of an OCI runtime spec (config.json).
 * `features` holds each feature's own settings, keyed by the feature's name.
 */
export interface ContainerSpec {
  /** 12 hex digits, like docker's short ids; names the cgroup, the veth, the default hostname. */
  id: string;
  /** The command and its arguments; args[0] is looked up in the container's PATH. */
  args: string[];
  /** KEY=VALUE strings: the command's whole environment (nothing leaks from the host). */
  env: string[];
  /** Absolute path of the root filesystem, or null when no step uses one yet. */
  rootfs: string | null;
  /** Host files to bind into the rootfs (resolv.conf, say); applied by the mount namespace step. */
  binds: Bind[];
  features: Record<string, unknown>;
}

export interface Bind {
  /** A host path. */
  source: string;
  /** Where it appears inside the container. */
  target: string;
  readonly: boolean;
}

/** The parsed `start` flags, as commander hands them over. */
export type Flags = Readonly<Record<string, unknown>>;

// #region feature
/**
 * One kernel concept, as a set of hooks into the container's life. A step is a list of features;
 * step N is step N-1's list plus one feature, so a step's new code is its feature and nothing else.
 *
 * Order of the hooks, host side (H) and inside the container's init (C):
 *   H aroundSpawn(spawn init) -> H flags -> H configure -> H create -> H spawned(pid)
 *   -> C unshare(namespaces) -> H attach(pid) -> C setup -> C exec(command), or C launch
 *   -> H (wait) -> H exited -> H clean-up, in reverse.
 *
 * Hooks are written as methods so a Feature<{ hostname: string }> fits in a Feature[] list.
 */
export interface Feature<Config = unknown> {
  readonly name: string;
  /**
   * Namespaces (CLONE_NEW* bits) the init unshares before anything of this feature's runs, given
   * the feature's settings (`--net host` asks for none).
   */
  namespaces?(config: Config): number;
  /** True when the feature needs the root filesystem; until one does, --rootfs is not used. */
  readonly usesRootfs?: boolean;
  /** Adds this feature's docker-style flags to `start`. */
  flags?(command: Command): void;
  /**
   * Host: runs before any feature's `configure`, and may change the flags for all of them (step
   * 07's rootless mode turns `--net bridge` into `--net none`, with a notice).
   */
  adjustFlags?(flags: Flags, log: (line: string) => void): Flags;
  /** Host: turns flags into this feature's settings. Throw UsageError for bad input. */
  configure?(flags: Flags, spec: ContainerSpec): Config | Promise<Config>;
  /**
   * Host: creates what the container needs on the host; registers the undo with `cleanup`. The
   * init has been spawned and is starting up meanwhile; it waits for its spec.
   */
  create?(config: Config, spec: ContainerSpec, cleanup: Cleanup): void | Promise<void>;
  /**
   * Host: wraps the spawn of the init, for what must be true of the init from its birth. Runs
   * before the flags are parsed (the entry point starts the init early), so it cannot use them.
   */
  aroundSpawn?(spawn: (through?: readonly string[]) => ChildProcess): ChildProcess;
  /**
   * Host: the init exists and waits for its spec, before it unshares anything (cgroups join here).
   * When the spawned program is not the init itself, the hook that knows returns the init's pid.
   */
  spawned?(
    config: Config,
    pid: number,
    spec: ContainerSpec,
    cleanup: Cleanup,
    spawned: ChildProcess,
  ): number | undefined | Promise<number | undefined>;
  /** Host: the init exists and has unshared its namespaces, and nothing of the user's has run. */
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

export interface Step {
  /** Two digits: `pnpm --filter 03` selects the package `@ctr/03`. */
  readonly id: string;
  readonly title: string;
  readonly features: readonly Feature[];
  /** True from the step on that can run without root (step 07's user namespace). */
  readonly rootless: boolean;
}

/**
 * Step N: everything step N-1 does (`extends`), minus what it `replaces`, plus what it `adds`.
 * Replacing is rare: step 07 must make the PID namespace itself, inside the user namespace.
 */
export function defineStep(step: {
  id: string;
  title: string;
  extends: Step | null;
  replaces?: readonly Feature[];
  adds: readonly Feature[];
  rootless?: boolean;
}): Step {
  const kept = (step.extends?.features ?? []).filter((feature) => !step.replaces?.includes(feature));
  return {
    id: step.id,
    title: step.title,
    features: [...kept, ...step.adds],
    rootless: step.rootless ?? step.extends?.rootless ?? false,
  };
}

/** The namespaces all features of a step ask for, given their settings. */
export function namespacesOf(features: readonly Feature[], settings: ContainerSpec['features']): number {
  return features.reduce((all, feature) => {
    return all | (feature.namespaces?.(settings[feature.name]) ?? 0);
  }, 0);
}

export function defineFeature<Config>(feature: Feature<Config>): Feature<Config> {
  return feature;
}
