/**
 * Starting the init: this same program, re-executed as `<entry> init`, wrapped by the features
 * that must hold from its birth (step 01's PID namespace, step 07's user namespace).
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { markCloseOnExecFrom, trace, traceForChild } from '@ctr/syscalls';
import { initProgram } from './fast-start.js';
import type { Step } from './feature.js';
import { asHook, asRuntime } from './hooks.js';
import { INIT_COMMAND } from './init.js';

/**
 * The init's own environment, not the host's: from step 06 it stays the container's PID 1, whose
 * environment anyone inside can read in /proc/1/environ (the user's tokens, SUDO_*, SSH_*). Node
 * also acts on some variables at start: NODE_OPTIONS could load code into the init, and
 * NODE_EXTRA_CA_CERTS makes it read and parse a certificate bundle (~50 ms on the benchmark
 * machine) that an init never uses. The command's environment travels in the spec. CTR_TRACE is
 * the one exception, when it is set: the init and the helper write to the same trace, through a
 * descriptor of the host's.
 */
const INIT_ENV: NodeJS.ProcessEnv = {};

// #region spawn-init
export async function spawnInit(
  step: Step,
  entry: string,
  commandStdio: 'inherit' | 'pipe' = 'inherit',
): Promise<ChildProcess> {
  // The same program, re-executed (fast-start.ts: a bundle of it, when it runs under tsx).
  const init = [...(await initProgram(entry)), INIT_COMMAND];
  const spawnPlain = (through: readonly string[] = []): ChildProcess => {
    const [program, ...args] = [...through, ...init] as [string, ...string[]];
    // A program the init is started through (step 07) gets a socket of its own as fd 4.
    const helperSocket = through.length > 0 ? (['pipe'] as const) : [];
    // Fds 0-2 pass through every wrapper and the init to the command: the runtime's terminal, or
    // pipes whose other ends the caller reads (stdin then /dev/null, as docker's run -d).
    const own =
      commandStdio === 'inherit' ? (['inherit', 'inherit', 'inherit'] as const) : (['ignore', 'pipe', 'pipe'] as const);
    const stdio: StdioOptions = [...own, 'pipe', ...helperSocket];
    const traced = traceForChild(stdio.length);
    if (traced.fd !== null) stdio.push(traced.fd);
    return asRuntime('spawn', () => {
      // Whatever the runtime's caller left open (a shell's `exec 200</`, a pipe of a CI harness)
      // would follow into the init and sit in /proc/1/fd, a door to the host's files from inside
      // (runc's CVE-2024-21626 was a leaked fd of its own). Only what stdio lists goes across.
      markCloseOnExecFrom(3);
      // Traced before the spawn: the new process may write its own lines at once.
      trace(`$ ${[program, ...args].join(' ')} &`);
      return spawn(program, args, { stdio, env: { ...INIT_ENV, ...traced.env } });
    });
  };
  // Each feature's aroundSpawn wraps the ones before it: step 01's PID namespace is innermost.
  type Spawn = (through?: readonly string[]) => ChildProcess;
  const wrapped = step.features.reduce<Spawn>(
    (inner, feature) =>
      feature.aroundSpawn
        ? () => asHook(feature, 'aroundSpawn', () => feature.aroundSpawn?.(inner) as ChildProcess)
        : inner,
    spawnPlain,
  );
  return wrapped();
}
// #endregion spawn-init
