export {
  type CgroupDirs,
  cgroupCounter,
  cgroupCpuMicros,
  cgroupDirsOf,
  containerCgroupDirs,
  containerPid1,
  controllerDir,
} from './cgroups.js';
export {
  cliUnderTest,
  REPO,
  type RunningContainer,
  type RunOptions,
  type RunResult,
  run,
  startContainer,
} from './cli.js';
export { cliContract, sleepIn } from './contract.js';
export { earlierSteps, newestStep } from './earlier-steps.js';
export { errorLineHint, exitHint, hint, stdoutHint } from './hints.js';
export {
  describeLeftovers,
  type HostState,
  hostState,
  isClean,
  leftoversSince,
  listDir,
  restoreHost,
  settledLeftovers,
} from './host-state.js';
export {
  added,
  childrenOf,
  hostMountPoints,
  type NamespaceKind,
  namespaceOf,
  type ProcessEntry,
  processesInNamespaceOf,
  waitForDescendant,
} from './kernel.js';
export { CONTRACT, GRADING, REFERENCE, task } from './kinds.js';
export { removeNewMountTargetsAfter } from './mount-targets.js';
export { commandLineOf, descendantsOf, killTree } from './processes.js';
export {
  type BuiltImage,
  type BuiltIndex,
  baseLayer,
  buildImage,
  buildIndex,
  closedPort,
  hostPlatform,
  type Layer,
  type Registry,
  randomLayer,
  stageLayer,
  startRegistry,
} from './registry.js';
export { requireRoot } from './root.js';
export { SLOWNESS, scaled } from './slowness.js';
export { staticProgram } from './static-program.js';
export { startTestHost, type TestHost } from './test-host.js';
