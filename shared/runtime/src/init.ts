/**
 * The container side. The host re-executes its own program as `<entry> init` (as `runc init`
 * does) in the new PID namespace; this is that process. It runs as PID 1 of the container until
 * it execve()s the command, which then is PID 1.
 *
 * Everything here is synchronous and on the main thread: unshare() moves only the calling
 * thread into new namespaces (docs/architecture.md), so Node's worker threads and anything
 * asynchronous would still see the host.
 */
import { fstatSync } from 'node:fs';
import { constants } from 'node:os';
import { PR_SET_PDEATHSIG, prctl, setTraceRole, unshare } from '@ctr/syscalls';
import { INIT_CHANNEL_FD, InitChannel } from './channel.js';
import { describeFailure } from './errors.js';
import { execCommand } from './exec.js';
import type { Step } from './feature.js';
import { asHook, asRuntime } from './hooks.js';

export const INIT_COMMAND = 'init';

// #region init
export function runInit(step: Step): void {
  setTraceRole('init');
  if (!isSocket(INIT_CHANNEL_FD)) {
    process.stderr.write(`ctr: "init" is the container side of "start" and is not run by hand\n`);
    process.exit(125);
  }
  const channel = new InitChannel(INIT_CHANNEL_FD);
  try {
    // #region unshare-setup
    const spec = asRuntime('init', () => {
      // If the runtime dies (even by SIGKILL), the kernel kills the container instead of leaving
      // it running unsupervised. The setting survives execve, so it also covers the command.
      prctl(PR_SET_PDEATHSIG, constants.signals.SIGKILL);
      const { spec } = channel.receive('spec');
      if (spec.namespaces !== 0) unshare(spec.namespaces);
      channel.send({ type: 'ready' });
      channel.receive('go');
      return spec;
    });

    const active = step.features.filter((feature) => spec.features[feature.name] !== null);
    for (const feature of active) asHook(feature, 'setup', () => feature.setup?.(spec.features[feature.name], spec));
    const launcher = active.findLast((feature) => feature.launch);
    if (launcher) asHook(launcher, 'launch', () => launcher.launch?.(spec.features[launcher.name], spec));
    else asRuntime('exec', () => execCommand(spec.args, spec.env));
    // #endregion unshare-setup
  } catch (error) {
    const { message, exitCode } = describeFailure(error);
    try {
      channel.send({ type: 'error', message, exitCode });
    } catch {
      process.stderr.write(`ctr: ${message}\n`);
    }
    process.exit(exitCode);
  }
}
// #endregion init

function isSocket(fd: number): boolean {
  try {
    return fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}
