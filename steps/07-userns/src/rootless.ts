/**
 * What step 07 changes in earlier steps' features, each named in step.ts's `changes`. Step 04's
 * and 05's files know nothing of user namespaces or rootless runs: the differences live here.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type MountStep, mountNamespace } from '@ctr/03';
import { cgroups, configureCgroups } from '@ctr/04';
import { configureNetwork, type NetworkConfig, network } from '@ctr/05';
import { defineFeature, onPath, UsageError } from '@ctr/runtime';
import { CLONE_NEWNET } from '@ctr/syscalls';
import { startSlirp4netns } from './slirp4netns.js';

const isRoot = (): boolean => process.getuid?.() === 0;

/** Step 05's settings, and whether slirp4netns stands in for the bridge. */
export type RootlessNetworkConfig = NetworkConfig & { userMode: boolean };

// #region cgroups-without-root
/**
 * Step 04's cgroups, without root: no cgroup can be made (the hierarchy belongs to root, or to
 * whoever systemd delegated a sub-tree to), so none is, and a limit asked for is dropped with a
 * notice rather than refused. The cgroup namespace stays: /proc/self/cgroup inside shows `/`.
 */
export const cgroupsWithoutRoot = defineFeature({
  ...cgroups,
  // Trace: `host 07 cgroups.configure`, no system call; the other hooks are step 04's.
  configure(flags, spec, log) {
    if (isRoot()) return configureCgroups(flags, spec);
    // #task 07.4
    for (const [name, value] of [
      ['--memory', flags.memory],
      ['--pids-limit', flags.pidsLimit],
      ['--cpus', flags.cpus],
    ] as const) {
      if (value !== undefined) log(`notice: rootless: ${name} ignored: cgroup limits need root or a delegated cgroup`);
    }
    return { ...configureCgroups({ memory: undefined, pidsLimit: undefined, cpus: undefined }, spec), dirs: {} };
    // #end-task
  },
});
// #endregion cgroups-without-root

// #region network-without-root
/**
 * Step 05's network, without root: a bridge and NAT need root. slirp4netns gives the container
 * a network of its own in user mode instead: its own namespace, reached through a tap device that
 * slirp4netns, running as the user, serves from the host's network stack. Without slirp4netns,
 * `--net none`. Either way with a notice, not an error.
 */
export const networkWithoutRoot = defineFeature({
  ...network,
  // Trace: `host 07 net.configure`, no system call; with root, create and attach are step 05's,
  // without it `07 net.attach` starts slirp4netns (`$ slirp4netns ... &`).
  configure(flags, _spec, log): RootlessNetworkConfig {
    if (isRoot() || flags.net !== 'bridge') return { ...configureNetwork(flags), userMode: false };
    // #task 07.3
    if (flags.publish.length > 0) {
      throw new UsageError('-p publishes ports through a bridge and NAT, which need root: run with sudo, or drop -p');
    }
    const userMode = onPath('slirp4netns');
    log(
      userMode
        ? 'notice: rootless: user-mode networking through slirp4netns instead of a bridge'
        : 'notice: rootless: --net none instead of bridge: a bridge needs root; install slirp4netns for user-mode networking',
    );
    return { mode: 'none', publish: [], address: null, subnet: null, userMode };
    // #end-task
  },
  create(config: RootlessNetworkConfig, spec, cleanup) {
    if (!config.userMode) return network.create?.(config, spec, cleanup);
    // slirp4netns answers DNS on 10.0.2.3 and forwards it to the host's resolvers.
    const dir = join(process.env.XDG_RUNTIME_DIR ?? join(homedir(), '.cache'), 'ctr', spec.id);
    mkdirSync(dir, { recursive: true });
    cleanup.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 10.0.2.3\n');
    spec.etcFiles['resolv.conf'] = join(dir, 'resolv.conf');
  },
  attach(config: RootlessNetworkConfig, pid, spec, cleanup) {
    if (!config.userMode) return network.attach?.(config, pid, spec, cleanup);
    return startSlirp4netns(pid, cleanup);
  },
});
// #endregion network-without-root

// #region mounts-in-user-namespace
/**
 * Step 03's mounts, in a user namespace. A new sysfs may be mounted only by a process whose user
 * namespace owns the network namespace it is in (the sysfs shows that namespace's devices). With
 * `--net host` the container has no network namespace of its own: the host's /sys is bound in
 * instead, recursively (a bind without what is mounted below would uncover what those mounts
 * hide) and read-only all the way down, the host's cgroup mounts included.
 */
export const mountsInUserNamespace = defineFeature({
  ...mountNamespace,
  // Trace: `init 07 mnt.setup`: step 03's mounts and pivot_root, with the host's /sys under --net host.
  setup(config, spec) {
    const ownsNetwork = (spec.namespaces & CLONE_NEWNET) !== 0;
    const hostSys: MountStep = { kind: 'bind', source: '/sys', target: '/sys', readonly: true };
    const plan = config.plan.map((step) =>
      !ownsNetwork && step.kind === 'mount' && step.fstype === 'sysfs' ? hostSys : step,
    );
    mountNamespace.setup?.({ plan }, spec);
  },
});
// #endregion mounts-in-user-namespace
