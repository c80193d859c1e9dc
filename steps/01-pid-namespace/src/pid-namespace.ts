import { defineFeature } from '@ctr/runtime';
import { CLONE_NEWPID, closeFile, openReadOnly, setns, unshare } from '@ctr/syscalls';

/**
 * The command gets a PID namespace of its own, in which it is PID 1.
 *
 * unshare(CLONE_NEWPID) is unlike the other namespaces: it does not move the caller, whose PID
 * cannot change, but sets the namespace its *next children* are born in. So the runtime unshares
 * right before it spawns the init, which becomes PID 1, and then setns() back to its own PID
 * namespace. Without that last step every later spawn from the runtime (the `ip` commands of
 * step 05, say) would try to join a namespace whose PID 1 may be gone, and fail with ENOMEM.
 */
export const pidNamespace = defineFeature({
  name: 'pid',
  // Trace: `host 01 pid.aroundSpawn`, before anything else: the init is born in the namespace.
  aroundSpawn(spawnInit) {
    // #task 01.1
    // Opened before unshare: this link names the namespace the runtime itself lives in.
    const ownPidNamespace = openReadOnly('/proc/self/ns/pid');
    try {
      unshare(CLONE_NEWPID);
      return spawnInit();
    } finally {
      setns(ownPidNamespace, CLONE_NEWPID);
      closeFile(ownPidNamespace);
    }
    // #end-task
  },
});
