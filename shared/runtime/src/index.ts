import type { ChildProcess } from 'node:child_process';
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
export { collect, isAlive, onPath } from './host-tools.js';
export { PASSED_SIGNALS, STOP_SIGNALS } from './signals.js';

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
  // #region early-init
  // The init's start-up, a second Node.js, is the longest wait of a start. It begins now, while
  // this process loads its CLI and parses the flags (~10 ms); `start` takes the init over, and
  // whatever does not start a container (--help, a usage error) stops it.
  const init = startsContainer(step, process.argv) ? await spawnInitEarly(step, entry) : null;
  const { runCli } = await import('./cli.js');
  const exitCode = await runCli(step, entry, process.argv, init);
  if (init && init.exitCode === null && init.signalCode === null) init.kill('SIGKILL');
  process.exit(exitCode);
  // #endregion early-init
}

/**
 * Only a guess, good for the common case: `start` that will not stop at --help, run by root (or a
 * step that runs rootless). A wrong guess costs a little time, never correctness: an init started
 * for nothing is stopped, and `start` spawns one itself when none was started here.
 */
function startsContainer(step: Step, argv: readonly string[]): boolean {
  const asksForHelp = argv.includes('-h') || argv.includes('--help');
  return argv[2] === 'start' && !asksForHelp && (process.getuid?.() === 0 || step.rootless);
}

/** The init, or null when it could not start: `start` then tries again, and reports why. */
async function spawnInitEarly(step: Step, entry: string): Promise<ChildProcess | null> {
  try {
    const { spawnInit } = await import('./spawn.js');
    const init = await spawnInit(step, entry);
    if (init.pid !== undefined) return init;
    init.once('error', () => {}); // spawn() failed; the error event would otherwise crash us
  } catch {}
  return null;
}
