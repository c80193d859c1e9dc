/**
 * For a step's commands that run or clean up a container themselves (step 10's run -d, its
 * monitor, rm of a dead container): `@ctr/runtime/commands`. Not re-exported by the package's
 * index, which every init loads: an init evaluates what its entry imports, and the host's start
 * path (the rootfs, the spawn, the clean-up) would cost each container start ~10 ms for nothing.
 */
export {
  containerCgroups,
  containerOwner,
  killContainerProcesses,
  removeContainerCgroups,
  removeContainerState,
  type Say,
} from './clean.js';
export { initProgram } from './fast-start.js';
export { configureContainer, runContainer, type StartOptions, startContainer, withAssignments } from './host.js';
export { spawnInit } from './spawn.js';
