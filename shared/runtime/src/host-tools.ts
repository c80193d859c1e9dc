/** Small host-side helpers several steps need. */
import { accessSync, constants } from 'node:fs';

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

/** commander's accumulator for a repeatable option (`-e A=1 -e B=2`). */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];
