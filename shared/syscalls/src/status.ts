import { constants } from 'node:os';

/** The wait(2) status macros (WIFEXITED and friends) from <sys/wait.h>. */
export const exited = (status: number): boolean => (status & 0x7f) === 0;
export const exitStatus = (status: number): number => (status >> 8) & 0xff;
/** Neither exited (0) nor stopped (0x7f, only seen with WUNTRACED): killed by the signal in the low bits. */
export const signaled = (status: number): boolean => (status & 0x7f) !== 0 && (status & 0x7f) !== 0x7f;
export const termSignal = (status: number): number => status & 0x7f;

/** The shell's convention, which docker follows: the exit code, or 128 + N for death by signal N. */
export function shellExitCode(status: number): number {
  if (exited(status)) return exitStatus(status);
  if (signaled(status)) return 128 + termSignal(status);
  return 255;
}

/** 128 + the signal's number, for a process Node reports as killed by a named signal. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}
