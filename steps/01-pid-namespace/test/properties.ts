/** What step 01 promises, checked on the real kernel; every later step's suite runs these too. */
import { readdirSync, readFileSync } from 'node:fs';
import { CONTRACT, hint, namespaceOf, run, scaled, sleepIn, startContainer, task } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';

/** From step 06 on, an init is PID 1 and the command is its child. */
export interface PidOptions {
  init?: boolean;
}

export function pidNamespaceProperties(step: string, { init = false }: PidOptions = {}): void {
  describe(`step ${step}: PID namespace`, CONTRACT, () => {
    // Which process is PID 1 depends on the step: the command, or from step 06 on, the init.
    if (!init) {
      it('runs the command as PID 1', task('01.1'), async () => {
        const result = await run(step, ['/bin/sh', '-c', 'echo $$']);
        expect(result).toExit(0);
        const pid = result.stdout.trim().split('\n').at(-1);
        expect(
          pid,
          hint(
            `the command is PID ${pid}, not 1: is your runtime's own helper PID 1? The first process of the new PID namespace must exec the command itself`,
          ),
        ).toBe('1');
      });
    } else {
      it('runs the command as a child of the init, which is PID 1', task('01.1'), async () => {
        const result = await run(step, ['/bin/sh', '-c', 'echo $PPID']);
        expect(result).toExit(0, { stdout: '1\n' });
      });
    }

    it("puts the command in a PID namespace other than the host's", task('01.1'), async () => {
      const container = startContainer(step, ['sleep', '3111']);
      const sleep = await sleepIn(container, 3111);
      const inside = namespaceOf(sleep, 'pid');
      process.kill(sleep, 'SIGKILL');
      await container.result;
      expect(inside).toMatch(/^pid:\[\d+\]$/);
      expect(inside).not.toBe(namespaceOf('self', 'pid'));
    });

    it('reports the same namespace from inside as the host sees', task('01.1'), async () => {
      const result = await run(step, ['/bin/sh', '-c', 'readlink /proc/self/ns/pid']);
      expect(result.stdout.trim()).toMatch(/^pid:\[\d+\]$/);
      expect(result.stdout.trim()).not.toBe(namespaceOf('self', 'pid'));
    });

    it('takes every process of the container down when PID 1 exits', task('01.1'), async () => {
      // The background sleep is orphaned when the shell (PID 1) exits; the kernel kills it.
      const result = await run(step, ['/bin/sh', '-c', 'sleep 3112 & echo started']);
      expect(result).toExit(0, { stdout: 'started\n' });
      await new Promise((resolve) => setTimeout(resolve, scaled(200)));
      expect(
        processesRunning(['sleep', '3112']),
        hint(
          'when PID 1 of a namespace exits, the kernel kills the rest: is the command PID 1 of a new PID namespace?',
        ),
      ).toEqual([]);
    });
  });
}

function processesRunning(cmdline: string[]): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        return argv.length === cmdline.length && argv.every((a, i) => a.endsWith(cmdline[i] as string));
      } catch {
        return false;
      }
    })
    .map(Number);
}
