/** Small host-side helpers several steps need. */
import type { SpawnSyncReturns } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { trace, tracing } from '@ctr/syscalls';

/** True when `command` is an executable in PATH: a lookup, no shell started. */
export function onPath(command: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((dir) => {
    try {
      accessSync(`${dir}/${command}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** True while process `pid` exists (EPERM: it exists, and is someone else's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A file's text, or `fallback` when it cannot be read (gone, not there yet, a process that ended). */
export function readFileOr<T extends string | null>(path: string, fallback: T): string | T {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/**
 * Runs a host command (ip, nft, newuidmap...) to the end, as a person would type it; traced as
 * `$ ip link add ... = 0`, with the exit status (and the first line of stderr when it failed).
 */
export function hostCommand(command: string, args: readonly string[], input?: string): SpawnSyncReturns<string> {
  // Loaded here, not above: the init imports this file too, and child_process costs it ~5 ms.
  const { spawnSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const result = spawnSync(command, args, { input, encoding: 'utf8' });
  if (tracing()) {
    const status = result.error
      ? `-1 ${(result.error as NodeJS.ErrnoException).code}`
      : result.status === 0
        ? '0'
        : `exit ${result.status}: ${result.stderr.trim().split('\n')[0]}`;
    const shown = input === undefined ? '' : ` <<< ${JSON.stringify(input)}`;
    trace(`$ ${command} ${args.join(' ')}${shown} = ${status}`);
  }
  return result;
}
