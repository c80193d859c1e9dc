import { startInitEarly } from './fast-start.js';
import type { Step } from './feature.js';
import { INIT_COMMAND } from './init.js';

export { INIT_CHANNEL_FD } from './channel.js';
export { Cleanup } from './cleanup.js';
export {
  describeFailure,
  EXIT_NOT_EXECUTABLE,
  EXIT_NOT_FOUND,
  EXIT_RUNTIME_ERROR,
  RuntimeError,
  TaskNotDone,
  todo,
  UsageError,
} from './errors.js';
export { commandFailure, DEFAULT_ENV, DEFAULT_PATH, handOverStdioOnly, resolveCommand } from './exec.js';
export {
  type AnyFeature,
  type Bind,
  type CommandContext,
  type ContainerSpec,
  defineFeature,
  defineStep,
  type Feature,
  type Step,
  type StepCommand,
} from './feature.js';
export { collect, type FlagSpec, type FlagValues, flag, repeatable, toggle } from './flags.js';
export { asHook, asRuntime } from './hooks.js';
export { hostCommand, isAlive, onPath, readFileOr } from './host-tools.js';
export { FORWARDED_SIGNALS, PASSED_SIGNALS, STOP_SIGNALS } from './signals.js';
export { containerStateDir, STATE_DIR } from './state.js';

/**
 * A step's entry point. The same file is both the runtime the user starts (`ctr start ...`) and,
 * re-executed with `init`, the container's first process. The init never loads the CLI code.
 */
export async function main(step: Step): Promise<never> {
  if (process.argv[2] === INIT_COMMAND) {
    const { runInit } = await import('./init.js');
    runInit(step);
    // Only an init that launched the command (step 06) gets here; its event loop carries on.
    return new Promise<never>(() => {});
  }
  // Started before the flags are parsed, only to be faster (fast-start.ts); `start` takes it over.
  const init = await startInitEarly(step, process.argv);
  const { runCli } = await import('./cli.js');
  const exitCode = await runCli(step, process.argv[1] as string, process.argv, init);
  if (init && init.exitCode === null && init.signalCode === null) init.kill('SIGKILL');
  process.exit(exitCode);
}
