/**
 * Which signals the runtime passes on to the container. Shared by the host and by step 06's init,
 * which passes them on again to the command.
 */

/** Signals that ask the container to stop: passed on once; a second one means SIGKILL. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
/** Signals passed on as they are, as many times as they come. */
export const PASSED_SIGNALS: readonly NodeJS.Signals[] = ['SIGUSR1', 'SIGUSR2', 'SIGWINCH'];
