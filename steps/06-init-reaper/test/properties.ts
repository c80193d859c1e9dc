/** What step 06 promises: PID 1 reaps, forwards signals, keeps exit codes and passes stdio through. */

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CONTRACT,
  cliUnderTest,
  containerPid1,
  hint,
  processesInNamespaceOf,
  run,
  scaled,
  startContainer,
  task,
} from '@ctr/testkit';
import { quote } from 'shell-quote';
import { describe, expect, it } from 'vitest';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export function initProperties(step: string): void {
  describe(`step ${step}: an init as PID 1`, CONTRACT, () => {
    it(
      'leaves no zombie behind while the container runs, though the command leaves orphans',
      task('06.3'),
      async () => {
        // The subshells exit at once, orphaning their sleeps; then the command becomes `sleep 3`,
        // which never waits for anyone. Orphans go to PID 1, and only an init reaps them.
        const script = 'for i in 1 2 3 4 5; do (sleep 0.1 &); done; echo ready; exec sleep 3';
        const container = startContainer(step, ['--net', 'none', '/bin/sh', '-c', script]);
        await container.waitForOutput('ready');
        const pid1 = containerPid1(container.runtime.pid as number) as number;
        await sleep(scaled(800));
        const table = processesInNamespaceOf(pid1);
        expect(await container.result).toExit(0);
        expect(table.length).toBeGreaterThan(1);
        expect(
          table.filter((p) => p.state === 'Z'),
          hint('orphans are re-parented to PID 1, which must wait() for them: reap every child, not only the command'),
        ).toEqual([]);
      },
    );

    it(
      'passes SIGTERM sent to the runtime on to a command that traps it, and keeps its exit code',
      task('06.1'),
      async () => {
        const script = 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.1; done';
        const container = startContainer(step, ['--net', 'none', '/bin/sh', '-c', script]);
        await container.waitForOutput('ready');
        container.runtime.kill('SIGTERM');
        const result = await container.result;
        expect(result, hint('PID 1 gets only signals it handles: the init handles SIGTERM and passes it on')).toExit(
          3,
          {
            stdout: 'ready\ngot-term\n',
          },
        );
      },
    );

    it('SIGKILLs a command that ignores SIGTERM once --stop-timeout has passed', task('06.1'), async () => {
      const script = 'trap "" TERM; echo ready; sleep 60';
      const container = startContainer(step, ['--net', 'none', '--stop-timeout', '1', '/bin/sh', '-c', script]);
      await container.waitForOutput('ready');
      container.runtime.kill('SIGTERM');
      expect(await container.result).toExit(137);
    });

    it.each([
      ['exit 0', 0],
      ['exit 3', 3],
      ['kill -TERM $$', 143],
      ['kill -USR1 $$', 128 + 10],
    ])(
      'exits with the status of `%s`: %i (the command is not PID 1, so it can die of its own signal)',
      task('06.3'),
      async (script, code) => {
        expect(await run(step, ['--net', 'none', '/bin/sh', '-c', script])).toExit(code);
      },
    );

    it('passes stdin to stdout byte for byte: 4 MiB of random binary data', task('06.2'), async () => {
      const input = randomBytes(4 * 1024 * 1024);
      const result = await run(step, ['--net', 'none', 'cat'], { input });
      expect(result).toExit(0);
      expect(result.stdoutBytes.length).toBe(input.length);
      expect(sha256(result.stdoutBytes)).toBe(sha256(input));
    });

    it('passes stderr through byte for byte', task('06.2'), async () => {
      const input = randomBytes(256 * 1024);
      const result = await run(step, ['--net', 'none', '/bin/sh', '-c', 'cat >&2'], { input });
      expect(sha256(result.stderrBytes.subarray(-input.length))).toBe(sha256(input));
    });

    it(
      'runs an interactive shell under a terminal; Ctrl-C stops the program inside, not the shell',
      task('06.2'),
      async () => {
        // script(1) gives the runtime a pseudo-terminal as stdin, stdout and stderr.
        const { argv, cwd } = cliUnderTest(step);
        const command = quote([...argv, 'start', '--net', 'none']);
        const terminal = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], { cwd });
        let screen = '';
        terminal.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          screen += chunk;
        });
        // 'close', not 'exit': the terminal's last output has been read by then, so once it is
        // closed no text can still appear, and waiting on would only delay the failure.
        let closed = false;
        terminal.once('close', () => {
          closed = true;
        });
        const waitFor = async (text: string) => {
          const deadline = Date.now() + scaled(15_000);
          while (!screen.includes(text)) {
            if (closed || Date.now() > deadline)
              throw new Error(
                `"${text}" never appeared on the terminal${closed ? ', which closed' : ''}: ${JSON.stringify(screen)}`,
              );
            await sleep(20);
          }
        };
        const exited = new Promise<number | null>((resolve) => terminal.once('exit', (code) => resolve(code)));
        terminal.stdin.write('echo hello-$((6*7))\n');
        await waitFor('hello-42');
        // The terminal echoes what is typed: only the command's own output says $((40+2)) as 42.
        terminal.stdin.write('sleep 30; echo sleep-$((40+2))-finished\n');
        await sleep(500);
        terminal.stdin.write('\x03'); // Ctrl-C
        terminal.stdin.write('echo still-here-$((1+1))\n');
        await waitFor('still-here-2');
        terminal.stdin.write('exit 7\n');
        expect(await exited).toBe(7);
        expect(screen).not.toContain('sleep-42-finished');
      },
    );
  });
}
