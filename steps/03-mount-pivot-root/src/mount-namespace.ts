import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { type Bind, collect, defineFeature, UsageError } from '@ctr/runtime';
import { CLONE_NEWNS } from '@ctr/syscalls';
import { enterRootfs } from './pivot-root.js';

/**
 * The container's own mount table, with the rootfs as `/`. The first feature to use --rootfs:
 * from this step on, the command, its PATH lookup and everything it opens are inside it.
 */
export const mountNamespace = defineFeature({
  name: 'mnt',
  namespaces: () => CLONE_NEWNS,
  usesRootfs: true,
  flags(command) {
    command.option(
      '-v, --volume <host:container[:ro]>',
      'bind a host directory into the container, as docker -v (repeatable)',
      collect,
      [],
    );
  },
  configure(flags, spec) {
    spec.binds.push(...(flags.volume as string[]).map(parseVolume));
  },
  setup(_config, spec) {
    enterRootfs(spec.rootfs as string, spec.binds);
  },
});

/** docker's `-v /host/dir:/in/container[:ro]`: both absolute, the host side existing. */
export function parseVolume(text: string): Bind {
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
}
