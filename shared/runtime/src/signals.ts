/**
 * Which signals the runtime passes on to the container: one list, used by the host, by step 06's
 * init, which passes them on again to the command, and by step 07's native helper, which is given
 * it on its command line.
 */

/** Signals that ask the container to stop: passed on once; a second one means SIGKILL. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
/** Signals passed on as they are, as many times as they come. */
export const PASSED_SIGNALS: readonly NodeJS.Signals[] = ['SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** Everything the host passes on to the container's init, which passes it on to the command. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [...STOP_SIGNALS, ...PASSED_SIGNALS];
