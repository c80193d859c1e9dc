import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { type Bind, defineFeature, RuntimeError, repeatable, UsageError } from '@ctr/runtime';
import { CLONE_NEWNS } from '@ctr/syscalls';
import { bindStep, etcBinds, type MountStep, mountPlan } from './mount-plan.js';
import { enterRootfs } from './pivot-root.js';

export interface MountConfig {
  /** Every mount of the container's tree, in order, as data (mount-plan.ts), -v volumes last. */
  plan: MountStep[];
}

/**
 * The container's own mount table, with the rootfs as `/`. The first feature to use --rootfs:
 * from this step on, the command, its PATH lookup and everything it opens are inside it.
 */
export const mountNamespace = defineFeature({
  name: 'mnt',
  usesRootfs: true,
  flags: {
    volume: repeatable(
      '-v, --volume <host:container[:ro]>',
      'bind a host directory into the container, as docker -v (repeatable)',
    ),
  },
  // Trace: `host 03 mnt.configure`, no system call: the plan is data, checked before anything exists.
  configure({ volume }): MountConfig {
    return { plan: [...mountPlan(), ...volume.map(parseVolume).map(bindStep)] };
  },
  namespaces: () => CLONE_NEWNS,
  // Trace: `init 03 mnt.setup`, after the other namespaces exist: every mount, then pivot_root.
  setup({ plan }, spec) {
    if (!spec.rootfs) throw new RuntimeError('no rootfs in the spec: the mount namespace needs one');
    enterRootfs(spec.rootfs, [...plan, ...etcBinds(spec.etcFiles)]);
  },
});

/** docker's `-v /host/dir:/in/container[:ro]`: both absolute, the host side existing. */
export function parseVolume(text: string): Bind {
  // #task 03.5
  const [source = '', target = '', mode, ...rest] = text.split(':');
  if (
    !isAbsolute(source) ||
    !isAbsolute(target) ||
    rest.length > 0 ||
    (mode !== undefined && mode !== 'ro' && mode !== 'rw')
  ) {
    throw new UsageError(`-v "${text}" is not HOST_PATH:CONTAINER_PATH[:ro], both absolute, e.g. -v "$PWD/data:/data"`);
  }
  try {
    statSync(source);
  } catch {
    throw new UsageError(`-v "${text}": ${source} does not exist on the host; create it first`);
  }
  return { source, target, readonly: mode === 'ro' };
  // #end-task
}
