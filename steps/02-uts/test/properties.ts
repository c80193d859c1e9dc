/** What step 02 promises, checked on the real kernel; later steps' suites run these too. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { CONTRACT, namespaceOf, REFERENCE, run, sleepIn, startContainer, task } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';

export function utsNamespaceProperties(step: string): void {
  describe(`step ${step}: UTS namespace`, CONTRACT, () => {
    it('sets the hostname inside and leaves the host its own', task('02.2'), async () => {
      const before = hostname();
      const result = await run(step, [
        '--hostname',
        'box-1',
        '/bin/sh',
        '-c',
        'hostname; cat /proc/sys/kernel/hostname',
      ]);
      expect(result).toExit(0, { stdout: 'box-1\nbox-1\n' });
      expect(hostname()).toBe(before);
      expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe(before);
    });

    it('names the container after its id by default, a different one each time', task('02.2'), async () => {
      const [a, b] = await Promise.all([run(step, ['hostname']), run(step, ['hostname'])]);
      expect(a.stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
      expect(b.stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
      expect(a.stdout).not.toBe(b.stdout);
    });

    it("puts the command in UTS and IPC namespaces other than the host's", task('02.2'), async () => {
      const container = startContainer(step, ['sleep', '3201']);
      const sleep = await sleepIn(container, 3201);
      const inside = { uts: namespaceOf(sleep, 'uts'), ipc: namespaceOf(sleep, 'ipc') };
      process.kill(sleep, 'SIGKILL');
      await container.result;
      expect(inside.uts).not.toBe(namespaceOf('self', 'uts'));
      expect(inside.ipc).not.toBe(namespaceOf('self', 'ipc'));
    });

    const invalid = ['-bad', 'a'.repeat(65), 'under_score', 'sp ace'];
    it.each(invalid)(
      'rejects --hostname %j with 125 and one line naming it, before starting',
      task('02.1'),
      async (name) => {
        const result = await run(step, ['--hostname', name, '/bin/true']);
        expect(result).toFailCleanly({ naming: ['--hostname', name] });
      },
    );

    it('says what a valid hostname is', REFERENCE, async () => {
      const result = await run(step, ['--hostname', 'under_score', '/bin/true']);
      expect(result.stderr).toMatch(/^ctr: --hostname "under_score" is not a valid hostname: use letters, digits/);
    });
  });

  describe(`step ${step}: IPC namespace`, CONTRACT, () => {
    it('does not show a System V message queue of the host inside the container', task('02.3'), async () => {
      // /proc/sysvipc/msg lists the queues of the reader's IPC namespace.
      const id = execFileSync('ipcmk', ['-Q'], { encoding: 'utf8' }).match(/\d+/)?.[0];
      if (!id) throw new Error('ipcmk -Q (util-linux) did not create a queue');
      try {
        expect(readFileSync('/proc/sysvipc/msg', 'utf8')).toMatch(new RegExp(`^\\s*\\S+\\s+${id}\\s`, 'm'));
        const inside = await run(step, ['cat', '/proc/sysvipc/msg']);
        expect(inside).toExit(0);
        expect(inside.stdout.trim().split('\n')).toHaveLength(1); // the header line only
      } finally {
        execFileSync('ipcrm', ['-q', id]);
      }
    });
  });
}
