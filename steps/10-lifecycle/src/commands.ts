/**
 * The commands of a container that outlives the command line. Each one reads the container's
 * record (records.ts); only the monitor writes its status. Signals go to the container's PID 1
 * (step 06's init passes them on to the command), checked against the start time the monitor
 * recorded, so that a pid the kernel gave to another process since is never signalled.
 */
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CommandContext, RuntimeError, type Step, UsageError } from '@ctr/runtime';
import { startContainer } from '@ctr/runtime/commands';
import { isSame, observe, readSpec, removeRecord, resolveContainer, type Status, withLock } from './records.js';
import { cleanDeadContainer } from './remove.js';
import { checkDetachedFlags, runDetached } from './run.js';

export { inspectCommand as inspect, psCommand as ps } from './ps.js';

/** docker's stop wait for a container started without --stop-timeout (step 06's default too). */
const DEFAULT_STOP_SECONDS = 10;

// exec and logs load their own modules: the others need neither the helper's build nor fs.watch.
export const exec = async (...args: Parameters<typeof import('./exec.js').execCommand>) =>
  (await import('./exec.js')).execCommand(...args);
export const logs = async (...args: Parameters<typeof import('./logs.js').logsCommand>) =>
  (await import('./logs.js')).logsCommand(...args);

export async function run(step: Step, command: string[], _log: unknown, context: CommandContext): Promise<number> {
  const detach = context.flags.detach === true;
  const name = (context.flags.name as string | undefined) ?? null;
  checkDetachedFlags(detach, name);
  if (detach) return runDetached(step, context, name);
  return startContainer(step, { ...(context.start as NonNullable<CommandContext['start']>), command });
}

export async function kill(refs: string[], signal: string, log: (line: string) => void): Promise<number> {
  const number = signalNumber(signal);
  return eachContainer(refs, log, async (id) => signalContainer(id, number));
}

/**
 * As docker: each container in turn, its reference printed when done; one that fails gets its
 * line on stderr and the others are still acted on; the exit status is then 125.
 */
async function eachContainer(
  refs: readonly string[],
  log: (line: string) => void,
  act: (id: string, ref: string) => Promise<void>,
): Promise<number> {
  let exitCode = 0;
  for (const ref of refs) {
    try {
      await act(resolveContainer(ref), ref);
      process.stdout.write(`${ref}\n`);
    } catch (error) {
      if (!(error instanceof RuntimeError)) throw error;
      log(error.message);
      exitCode = error.exitCode;
    }
  }
  return exitCode;
}

// #region stop
export async function stop(refs: string[], time: string | undefined, log: (line: string) => void): Promise<number> {
  const given = time === undefined ? null : Number(time);
  if (given !== null && (!Number.isInteger(given) || given < 0)) {
    throw new UsageError(`--time ${time}: give the whole number of seconds to wait before SIGKILL`);
  }
  return eachContainer(refs, log, async (id) => {
    // As docker: without --time, the wait the container was started with (step 06's --stop-timeout).
    const seconds = given ?? stopTimeoutOf(id);
    // #task 10.3
    if (statusNow(id) !== 'running') return;
    signalContainer(id, constants.signals.SIGTERM, 'skip');
    if (!(await waitForExit(id, seconds * 1000))) {
      signalContainer(id, constants.signals.SIGKILL, 'skip');
      await waitForExit(id, 30_000);
    }
    // #end-task
  });
}
// #endregion stop

export async function rm(refs: string[], force: boolean, log: (line: string) => void): Promise<number> {
  return eachContainer(refs, log, async (id, ref) => {
    const status = statusNow(id);
    if (status === 'running' || status === 'created') {
      if (!force) {
        throw new RuntimeError(
          `container ${id.slice(0, 12)} is running: stop it first (ctr stop ${ref}), or use rm -f`,
        );
      }
      signalContainer(id, constants.signals.SIGKILL, 'skip');
      if (!(await waitForExit(id, 30_000))) {
        throw new RuntimeError(`container ${id.slice(0, 12)} did not exit 30 s after SIGKILL: see ctr inspect ${ref}`);
      }
    }
    // A dead monitor could not clean up: its container's cgroups, mounts and network are left.
    const now = observe(id);
    if (now?.status === 'dead') await cleanDeadContainer(id.slice(0, 12), log, now.state.monitorPid);
    removeRecord(id);
  });
}

/**
 * Under the record's lock, so that the pid checked is the pid signalled. `kill` refuses a
 * container that is not running; stop and rm -f `skip` one that is already exiting or gone (a
 * second rm -f at once, a command that ended by itself): the wait that follows sees it end.
 */
function signalContainer(id: string, signal: number, whenNotRunning: 'refuse' | 'skip' = 'refuse'): void {
  if (whenNotRunning === 'skip' && statusNow(id) === 'removed') return;
  withLock(id, () => {
    const now = observe(id);
    if (now?.status === 'created') {
      // Still starting: its monitor stops it (an interrupted start cleans up and records nothing).
      process.kill(now.state.monitorPid, signal === constants.signals.SIGKILL ? 'SIGTERM' : signal);
      return;
    }
    if (now?.status !== 'running' || !isSame(now.state.pid, now.state.pidStartTime)) {
      if (whenNotRunning === 'skip') return;
      // Its PID 1 is gone, but the monitor has not recorded the exit yet.
      const status = now?.status === 'running' ? 'exiting' : (now?.status ?? 'removed');
      throw new RuntimeError(
        `container ${id.slice(0, 12)} is not running (${status}): see ctr ps -a, or start one with ctr run`,
      );
    }
    process.kill(now.state.pid as number, signal);
  });
}

/** The status as the record and the monitor's liveness say; `removed` once the record is gone. */
function stopTimeoutOf(id: string): number {
  const init = readSpec(id)?.features.init as { stopTimeout?: number } | null | undefined;
  return init?.stopTimeout ?? DEFAULT_STOP_SECONDS;
}

function statusNow(id: string): Status | 'removed' {
  return observe(id)?.status ?? 'removed';
}

/** True once the monitor recorded the exit (or died); false after `ms`. */
async function waitForExit(id: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = statusNow(id);
    if (status === 'exited' || status === 'dead' || status === 'removed') return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

function signalNumber(signal: string): number {
  const upper = signal.toUpperCase();
  const name = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as keyof typeof constants.signals;
  const number = /^\d+$/.test(signal) ? Number(signal) : constants.signals[name];
  if (number === undefined || number <= 0 || number > 64) {
    throw new UsageError(`--signal ${signal}: not a signal; give a name (TERM, SIGKILL) or a number`);
  }
  return number;
}
