import { defineFeature, flag, UsageError } from '@ctr/runtime';
import { CLONE_NEWIPC, CLONE_NEWUTS, sethostname } from '@ctr/syscalls';

/** HOST_NAME_MAX on Linux: sethostname(2) fails with EINVAL past it. */
const HOST_NAME_MAX = 64;
/** RFC 1123: labels of letters, digits and inner hyphens, joined by dots. */
const HOSTNAME = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$/;

export function validHostname(name: string): string {
  // #task 02.1
  if (Buffer.byteLength(name) > HOST_NAME_MAX || !HOSTNAME.test(name)) {
    throw new UsageError(
      `--hostname "${name}" is not a valid hostname: use letters, digits, '-' and '.', at most ${HOST_NAME_MAX} characters`,
    );
  }
  return name;
  // #end-task
}

/**
 * The container's own hostname. The UTS namespace holds the hostname and the NIS domain name;
 * sethostname() inside it changes only the container's copy, so the host keeps its name.
 * The default is the container's id, as in docker.
 */
export const utsNamespace = defineFeature({
  name: 'uts',
  flags: { hostname: flag('--hostname <name>', "the container's hostname (default: its id)") },
  // Trace: `host 02 uts.configure`, no system call: the name is checked, and stated for the
  // other features as spec.hostname (step 05 writes it into /etc/hosts).
  configure({ hostname }, spec) {
    spec.hostname = validHostname(hostname ?? spec.id);
    return { hostname: spec.hostname };
  },
  namespaces() {
    // #task 02.2
    return CLONE_NEWUTS;
    // #end-task
  },
  // Trace: `init 02 uts.setup`, inside the new UTS namespace, before the command runs.
  setup({ hostname }) {
    // #task 02.2
    sethostname(hostname);
    // #end-task
  },
});

/**
 * The container's own System V IPC objects (message queues, semaphores, shared memory) and POSIX
 * message queues: without it, a container could read the host's queues or attach to its shared
 * memory by key. Nothing to set up: the new namespace starts empty.
 */
export const ipcNamespace = defineFeature({
  name: 'ipc',
  namespaces() {
    // #task 02.3
    return CLONE_NEWIPC;
    // #end-task
  },
});
