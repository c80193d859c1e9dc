import type { Step } from './feature.js';
import { INIT_COMMAND } from './init.js';

export { INIT_CHANNEL_FD } from './channel.js';
export { Cleanup } from './cleanup.js';
export {
  EXIT_NOT_EXECUTABLE,
  EXIT_NOT_FOUND,
  EXIT_RUNTIME_ERROR,
  RuntimeError,
  UsageError,
} from './errors.js';
export { commandFailure, handOverStdioOnly, resolveCommand } from './exec.js';
export {
  type Bind,
  type ContainerSpec,
  defineFeature,
  defineStep,
  type Feature,
  type Flags,
  type Step,
} from './feature.js';
export { containerEnv, PASSED_SIGNALS, STOP_SIGNALS } from './host.js';
export { collect, isAlive, onPath } from './host-tools.js';

/**
 * A step's entry point. The same file is both the runtime the user starts (`ctr start ...`) and,
 * re-executed with `init`, the container's first process. The init never loads the CLI code.
 */
export async function main(step: Step): Promise<never> {
  const entry = process.argv[1] as string;
  if (process.argv[2] === INIT_COMMAND) {
    const { runInit } = await import('./init.js');
    runInit(step);
    // Only an init that launched the command (step 06) gets here; its event loop carries on.
    return new Promise<never>(() => {});
  }
  const { runCli } = await import('./cli.js');
  process.exit(await runCli(step, entry, process.argv));
}
