import { defineFeature, flag, UsageError } from '@ctr/runtime';
import { runAsInit } from './pid1.js';

export interface InitConfig {
  /** Seconds between the forwarded stop signal and SIGKILL. */
  stopTimeout: number;
}

/**
 * A PID 1 that does PID 1's job: the init no longer execs the command, it starts it as its
 * child, reaps every child, forwards signals and exits with the command's status.
 */
export const initReaper = defineFeature({
  name: 'init',
  flags: {
    stopTimeout: flag('--stop-timeout <seconds>', 'seconds from the stop signal (SIGTERM...) to SIGKILL', '10'),
  },
  // Trace: `host 06 init.configure`, no system call.
  configure({ stopTimeout }): InitConfig {
    if (!/^\d+$/.test(stopTimeout))
      throw new UsageError(`--stop-timeout "${stopTimeout}" must be a whole number of seconds, e.g. --stop-timeout 10`);
    return { stopTimeout: Number(stopTimeout) };
  },
  stopTimeout: (config) => config.stopTimeout,
  // Trace: `init 06 init.launch`, last, in place of the exec: posix_spawn, then waitpid as children end.
  launch(_config, spec) {
    runAsInit(spec.args, spec.env);
  },
});
