/**
 * Limits on what the container may use: memory, number of tasks, CPU time.
 *
 * Host side: a cgroup per container, `<parent>/ctr/<id>` in each hierarchy that has a controller
 * we need, the init moved in while it still waits for its spec, the limits written before it
 * execs the command, and the directory removed when the container is gone. Container side: a cgroup
 * namespace, unshared after the move, so /proc/self/cgroup inside shows `/`.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ContainerSpec, defineFeature, type FlagValues, flag, RuntimeError, readFileOr } from '@ctr/runtime';
import { CLONE_NEWCGROUP, makeDirectory, removeDirectory, writeKernelFile } from '@ctr/syscalls';
import { CONTROLLERS, type Hierarchy, type Joined, type Layout, readLayout } from './layout.js';
import {
  type Controller,
  type Limits,
  limitFiles,
  oomCounter,
  parseCpus,
  parseMemory,
  parsePidsLimit,
} from './limits.js';

/** The project's own group in each hierarchy; every container's cgroup is a child of it. */
export const PARENT = 'ctr';

export interface CgroupConfig {
  limits: Limits;
  /** The container's cgroup directory for each controller it is in. */
  dirs: Partial<Record<Joined, string>>;
  layout: Layout;
}

// #region container-dir
/**
 * v2's no-internal-processes rule: a cgroup that holds processes cannot pass controllers to its
 * children, and the runtime's own cgroup (a login session, a service) always holds some. So on v2
 * the parent hangs off the root, which is exempt, as docker's cgroupfs driver does. v1 has no such
 * rule: the parent nests in the runtime's own cgroup and stays inside whatever limits it is under.
 */
export function containerDir(hierarchy: Hierarchy, id: string): string {
  const base = hierarchy.version === 2 ? hierarchy.mountPoint : join(hierarchy.mountPoint, hierarchy.ownCgroup);
  return join(base, PARENT, id);
}
// #endregion container-dir

export const CGROUP_FLAGS = {
  memory: flag('--memory <size>', 'memory limit, swap included: 100m, 1g, or bytes'),
  pidsLimit: flag('--pids-limit <n>', 'most processes and threads at once'),
  cpus: flag('--cpus <n>', 'CPU time, in CPUs: 0.5 is half of one CPU'),
};

// #region configure
/** Trace: `host 04 cgroups.configure`, no system call: the limits are checked, the layout read. */
export function configureCgroups(flags: FlagValues<typeof CGROUP_FLAGS>, spec: ContainerSpec): CgroupConfig {
  const limits: Limits = {};
  if (flags.memory !== undefined) limits.memory = parseMemory(flags.memory);
  if (flags.pidsLimit !== undefined) limits.pids = parsePidsLimit(flags.pidsLimit);
  if (flags.cpus !== undefined) limits.cpus = parseCpus(flags.cpus, availableParallelism());
  const layout = readLayout();
  const wanted: Record<keyof Limits, Controller> = { memory: 'memory', pids: 'pids', cpus: 'cpu' };
  for (const [limit, controller] of Object.entries(wanted) as [keyof Limits, Controller][]) {
    if (limits[limit] !== undefined && !layout[controller]) {
      throw new RuntimeError(
        `the ${controller} controller is not available on this machine (neither a v1 hierarchy nor in cgroup2's cgroup.controllers), so --${limit === 'pids' ? 'pids-limit' : limit} cannot be enforced`,
      );
    }
  }
  const dirs: CgroupConfig['dirs'] = {};
  for (const controller of CONTROLLERS) {
    const hierarchy = layout[controller];
    if (hierarchy) dirs[controller] = containerDir(hierarchy, spec.id);
  }
  return { limits, dirs, layout };
}
// #endregion configure

export const cgroups = defineFeature({
  name: 'cgroups',
  flags: CGROUP_FLAGS,
  configure: configureCgroups,
  namespaces() {
    // #task 04.5
    return CLONE_NEWCGROUP;
    // #end-task
  },
  // #region create
  // Trace: `host 04 cgroups.create`, while the init starts: mkdir of the container's cgroups.
  create({ dirs, layout }, _spec, cleanup) {
    const unique = [...new Set(Object.values(dirs))];
    if (unique.length === 0) return; // no cgroup of its own (step 07 without root): nothing to enable
    // #task 04.1
    enableV2Controllers(layout);
    for (const dir of unique) {
      makeCgroup(dir);
      cleanup.defer(`remove the cgroup ${dir}`, () => removeCgroup(dir));
    }
    // #end-task
  },
  // #endregion create
  // #region join-and-limit
  // Trace: `host 04 cgroups.spawned`, the init waiting for its spec: write its pid to cgroup.procs.
  spawned({ dirs }, pid) {
    // The init waits for its spec: moved now, before it unshares its cgroup namespace, the
    // namespace's root is the container's cgroup. Its children will inherit the cgroup.
    // #task 04.2
    for (const dir of new Set(Object.values(dirs))) writeCgroupFile(join(dir, 'cgroup.procs'), String(pid));
    // #end-task
  },
  // Trace: `host 04 cgroups.attach`, right before `go`: the limit files.
  attach({ limits, dirs, layout }) {
    // The limits take effect now, right before the init is told to go on and exec the command:
    // the command never runs without them. Not earlier, because the init is a Node process with
    // a dozen threads, and pids.max counts threads: a low --pids-limit would starve the init.
    // #task 04.3
    const versionOf = (controller: Controller) => layout[controller]?.version ?? 2;
    for (const { controller, file, value, optional } of limitFiles(limits, versionOf)) {
      writeCgroupFile(join(dirs[controller] as string, file), value, optional);
    }
    // #end-task
  },
  // #endregion join-and-limit
  // #region oom
  // Trace: `host 04 cgroups.exited`: the OOM counter is read before the cgroup is removed.
  exited({ dirs, layout, limits }, _spec, log) {
    // #task 04.4
    const memory = layout.memory;
    if (!memory || !dirs.memory) return;
    const { file, key } = oomCounter(memory.version);
    const kills = readCounter(join(dirs.memory, file), key);
    if (kills > 0) {
      const limit = limits.memory === undefined ? '' : ` of ${limits.memory / 1024 ** 2} MiB`;
      log(
        `the container ran out of memory: the kernel's OOM killer killed ${kills} process(es) (memory limit${limit}, ${file} ${key})`,
      );
    }
    // #end-task
  },
  // #endregion oom
});

// #region enable-v2
/** v2: a controller works in a cgroup only if every ancestor lists it in cgroup.subtree_control. */
function enableV2Controllers(layout: Layout): void {
  const v2 = (['memory', 'pids', 'cpu'] as const).filter((c) => layout[c]?.version === 2);
  const mountPoint = v2.length > 0 ? layout[v2[0] as Controller]?.mountPoint : undefined;
  if (!mountPoint) return;
  makeCgroup(join(mountPoint, PARENT));
  for (const dir of [mountPoint, join(mountPoint, PARENT)]) {
    writeCgroupFile(join(dir, 'cgroup.subtree_control'), v2.map((c) => `+${c}`).join(' '));
  }
}
// #endregion enable-v2

/** What the machine, not the runtime, got wrong: a cgroup filesystem this process may not change. */
const UNWRITABLE = ['EACCES', 'EPERM', 'EROFS'];
const MACHINE_HINT =
  ': no writable cgroup here (run as root, on the host); pnpm run doctor says what this machine lacks';

/**
 * mkdir -p of a container's cgroup. Node reports the deepest directory's ENOENT when a parent
 * could not be made (EROFS, EACCES), so any failure here points at the machine.
 */
function makeCgroup(dir: string): void {
  try {
    makeDirectory(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RuntimeError(`cannot make the cgroup ${dir} (${code})${MACHINE_HINT}`, undefined, { cause: error });
  }
}

function writeCgroupFile(path: string, value: string, optional = false): void {
  try {
    writeKernelFile(path, value);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (optional && code === 'ENOENT') return;
    const hint =
      code === 'EBUSY' && path.endsWith('subtree_control')
        ? ': processes live in that cgroup, and v2 lets only leaf cgroups (or the root) hold them'
        : UNWRITABLE.includes(code ?? '')
          ? MACHINE_HINT
          : '';
    throw new RuntimeError(`cannot write "${value}" to ${path} (${code})${hint}`, undefined, { cause: error });
  }
}

function readCounter(path: string, key: string): number {
  const line = readFileOr(path, '')
    .split('\n')
    .find((l) => l.startsWith(`${key} `));
  return Number(line?.split(' ')[1] ?? 0);
}

// #region remove
/**
 * rmdir(2) of a cgroup fails with EBUSY while any task is in it. When the container's PID 1
 * exits the kernel kills the rest of its PID namespace, but they take a moment to go; a
 * process that escaped the namespace (it cannot, here) would be killed too.
 */
async function removeCgroup(dir: string): Promise<void> {
  // #task 04.1
  const deadline = Date.now() + 10_000;
  for (;;) {
    let tasks: number[];
    try {
      tasks = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // already gone
      throw error;
    }
    for (const pid of tasks) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    if (tasks.length === 0) {
      try {
        removeDirectory(dir);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EBUSY') throw error;
      }
    }
    if (Date.now() > deadline) throw new Error(`${dir} still holds tasks ${tasks.join(' ')} after 10 s`);
    await sleep(10);
  }
  // #end-task
}
// #endregion remove
