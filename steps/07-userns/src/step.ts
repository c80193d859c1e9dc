import { pidNamespace } from '@ctr/01';
import { mountNamespace } from '@ctr/03';
import { cgroups } from '@ctr/04';
import { network } from '@ctr/05';
import { step06 } from '@ctr/06';
import { defineStep } from '@ctr/runtime';
import { cgroupsWithoutRoot, mountsInUserNamespace, networkWithoutRoot } from './rootless.js';
import { userNamespace } from './user-namespace.js';

export { DEFAULT_RANGE, subordinateRange, usernsRefusalHint } from './idmap.js';
export { buildNative } from './native.js';
export {
  type RootfsMapping,
  shiftedRootfs,
  type UsernsConfig,
  userNamespace,
  userNamespaceWith,
} from './user-namespace.js';

export const step07 = defineStep({
  id: '07',
  title: 'User namespace: root inside, nobody on the host, and rootless mode',
  extends: step06,
  // What changes in earlier steps' features (rootless.ts), each in its place in the list:
  changes: [
    // The PID namespace must now be made inside the user namespace, by the native helper: the
    // user namespace takes its place in the list. Its spawned hook, which learns the init's pid
    // from the helper, then runs before step 04's, so the init is what joins the container's
    // cgroup, and the helper (outside the container's PID namespace) stays out of it.
    [pidNamespace, userNamespace],
    // A new sysfs needs a network namespace of the user namespace's own (--net host has none).
    [mountNamespace, mountsInUserNamespace],
    // Without root, no cgroup and no bridge: limits dropped, user-mode networking instead.
    [cgroups, cgroupsWithoutRoot],
    [network, networkWithoutRoot],
  ],
  adds: [],
  rootless: true,
});
