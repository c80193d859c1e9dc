import { defineFeature, UsageError } from '@ctr/runtime';
import { runAsInit } from './pid1.js';

export interface InitConfig {
  /** Seconds between the forwarded stop signal and SIGKILL. */
  stopTimeout: number;
}

/**
 * A PID 1 that does PID 1's job: the init no longer execs the command, it starts it as its
 * child, reaps every child, forwards signals and exits with the command's status.
 */
export const initReaper = defineFeature<InitConfig>({
  name: 'init',
  flags(command) {
    command.option('--stop-timeout <seconds>', 'seconds from the stop signal (SIGTERM...) to SIGKILL', '10');
  },
  configure(flags) {
    const text = flags.stopTimeout as string;
    if (!/^\d+$/.test(text))
      throw new UsageError(`--stop-timeout "${text}" must be a whole number of seconds, e.g. --stop-timeout 10`);
    return { stopTimeout: Number(text) };
  },
  stopTimeout: (config) => config.stopTimeout,
  launch(_config, spec) {
    runAsInit(spec.args, spec.env);
  },
});
