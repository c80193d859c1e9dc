import { defineFeature } from '@ctr/runtime';
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
  setup(_config, spec) {
    enterRootfs(spec.rootfs as string, spec.binds);
  },
});
