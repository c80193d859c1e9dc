/**
 * What PID 1 owes the rest of the container.
 *
 *  - Reaping: every process whose parent dies is re-parented to PID 1, and stays a zombie (an
 *    entry in the process table) until PID 1 calls wait() on it.
 *  - Signals: the kernel delivers to PID 1 only the signals it has a handler for, so a runtime's
 *    SIGTERM to a container whose PID 1 is `sleep` does nothing. This init handles them all and
 *    passes them on to the command.
 *  - The exit status: the init exits with the command's (128 + N when signal N killed it), and when
 *    it exits the kernel kills whatever else is left in the namespace.
 *
 * Who reaps: the command is started with posix_spawn through koffi, not with child_process, so
 * libuv has no child of its own here and never calls waitpid(). This code is the only reaper,
 * and waitpid(-1) cannot take a child from under libuv (docs/architecture.md).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import {
  commandFailure,
  FORWARDED_SIGNALS,
  handOverStdioOnly,
  INIT_CHANNEL_FD,
  RuntimeError,
  resolveCommand,
} from '@ctr/runtime';
import {
  asking,
  closeFile,
  currentContext,
  isatty,
  kill,
  posixSpawn,
  shellExitCode,
  WNOHANG,
  waitpid,
} from '@ctr/syscalls';

// #region run-as-init
export function runAsInit(args: readonly string[], env: readonly string[]): void {
  const path = resolveCommand(args[0] as string, env);
  let command = 0;

  // Listening before the command exists: an exit cannot happen before there is a listener. The
  // reaping it does is traced as this hook's, whenever the signal comes.
  const launch = currentContext();
  process.on('SIGCHLD', () => asking(launch, reapAll));
  // What the runtime on the host forwards to the init (FORWARDED_SIGNALS): all of it goes on.
  // #task 06.1
  for (const signal of FORWARDED_SIGNALS) {
    process.on(signal, () => {
      if (command > 0) kill(command, constants.signals[signal]);
    });
  }
  // #end-task
  // Signal listeners do not keep Node's event loop alive; this does, until process.exit.
  setInterval(() => {}, 2 ** 30);

  // #task 06.2
  handOverStdioOnly();
  try {
    command = posixSpawn({
      path,
      argv: args,
      env,
      // Its own process group, in the terminal's foreground when there is one: Ctrl-C then goes
      // to the command (and its children) only, not to this init or the runtime on the host.
      newProcessGroup: true,
      foregroundOf: isatty(0) ? 0 : null,
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'EAGAIN') {
      // pids.max counts threads, and this init stays: its own threads share the limit.
      const threads = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
      throw new RuntimeError(
        `cannot start the command: --pids-limit is reached (this init alone has ${threads} threads): raise it`,
      );
    }
    throw commandFailure(path, error);
  }
  // End-of-file on the init channel tells the host that the command runs.
  closeFile(INIT_CHANNEL_FD);
  // #end-task
  reapAll();

  /** Reaps every child that has exited: the command, and any orphan handed to PID 1. */
  function reapAll(): void {
    // #task 06.3
    for (;;) {
      let reaped: { pid: number; status: number };
      try {
        reaped = waitpid(-1, WNOHANG);
      } catch (error) {
        if ((error as { code?: string }).code === 'ECHILD') return;
        throw error;
      }
      if (reaped.pid === 0) return; // children remain, none has exited
      if (reaped.pid === command) process.exit(shellExitCode(reaped.status));
    }
    // #end-task
  }
}
// #endregion run-as-init
