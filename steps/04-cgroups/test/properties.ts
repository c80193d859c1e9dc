/** What step 04 promises, checked on the real kernel with the cgroups' own counters. */

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CONTRACT,
  cgroupCounter,
  cgroupCpuMicros,
  cgroupDirsOf,
  containerCgroupDirs,
  containerPid1,
  controllerDir,
  hint,
  REFERENCE,
  type RunningContainer,
  run,
  startContainer,
  task,
} from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { describeLayout, readLayout } from '../src/layout.js';

/** PID 1 of a container that has printed `ready` (so it is the command, not the runtime's init). */
async function readyPid1(container: RunningContainer): Promise<number> {
  await container.waitForOutput('ready');
  const pid = containerPid1(container.runtime.pid as number);
  if (pid === null) throw new Error('the container printed "ready" but has no PID 1 below the runtime');
  return pid;
}

/** `init`: from step 06 on the init stays, and its threads share --pids-limit with the command. */
export function cgroupProperties(step: string, { init = false }: { init?: boolean } = {}): void {
  describe(`step ${step}: cgroups`, CONTRACT, () => {
    it(
      'OOM-kills an allocation past --memory (137), says so from the OOM counter, and removes the cgroup',
      task('04.4'),
      async () => {
        // sh prints, waits for the test to note its cgroups, then becomes dd, which allocates 200 MiB.
        const container = startContainer(step, [
          '--memory',
          '96m',
          '/bin/sh',
          '-c',
          'echo ready; sleep 1; exec dd if=/dev/zero of=/dev/null bs=200M count=1',
        ]);
        const dirs = containerCgroupDirs(cgroupDirsOf(await readyPid1(container)));
        const result = await container.result;
        expect(result).toExit(137);
        expect(
          result.stderr,
          hint(
            "the runtime says so when the kernel OOM-killed the command: read the cgroup's OOM counter before removing it",
          ),
        ).toMatch(/out of memory|OOM/i);
        for (const dir of dirs) expect(existsSync(dir), `${dir} is left behind`).toBe(false);
      },
    );

    it('lets an allocation under --memory through', task('04.3'), async () => {
      // Generous: from step 07 on, the runtime's own init is born in the cgroup and counts too.
      const result = await run(step, ['--memory', '192m', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=20M', 'count=1']);
      expect(result).toExit(0);
      expect(result.stderr).not.toMatch(/out of memory|OOM/i);
    });

    it(
      'reads the OOM counter rather than guessing from 137: SIGKILL from outside is not called an OOM',
      task('04.4'),
      async () => {
        const container = startContainer(step, ['--memory', '96m', '/bin/sh', '-c', 'echo ready; exec sleep 3401']);
        process.kill(await readyPid1(container), 'SIGKILL');
        const result = await container.result;
        expect(result).toExit(137);
        expect(
          result.stderr,
          hint('a SIGKILL from outside is not an OOM kill: read the OOM counter, do not guess from 137'),
        ).not.toMatch(/out of memory|OOM/i);
      },
    );

    it(
      'holds a fork bomb at --pids-limit 20, keeps the host usable, and removes the cgroup after SIGKILL',
      task('04.3'),
      async () => {
        // PID 1 starts the bomb, then becomes sleep: once the limit is reached it could not fork either.
        // The bomb waits a second, so that the test can see the limit in place first: against a
        // runtime that does not set it, the bomb would hit the grader's machine.
        const bomb = 'echo ready; sleep 1; b() { b | b & }; b; exec sleep 3406';
        const container = startContainer(step, ['--pids-limit', '20', '/bin/sh', '-c', bomb]);
        const pid1 = await readyPid1(container);
        const dirs = cgroupDirsOf(pid1);
        const pids = controllerDir(dirs, 'pids');
        if (readFileSync(join(pids, 'pids.max'), 'utf8').trim() !== '20') {
          process.kill(pid1, 'SIGKILL');
          throw new Error(`pids.max of the container is not 20 (${pids}): the fork bomb is not started`);
        }
        let most = 0;
        for (let i = 0; i < 50; i++) {
          most = Math.max(most, Number(readFileSync(join(pids, 'pids.current'), 'utf8')));
          await sleep(50);
        }
        const hostStillForks = spawnSync('/bin/true').status === 0;
        const refusedForks = cgroupCounter(join(pids, 'pids.events'), 'max');
        const max = readFileSync(join(pids, 'pids.max'), 'utf8').trim();
        process.kill(pid1, 'SIGKILL');
        const result = await container.result;
        expect(max, hint("--pids-limit 20 is pids.max of the container's cgroup")).toBe('20');
        expect(most).toBeLessThanOrEqual(20);
        expect(refusedForks).toBeGreaterThan(0);
        expect(hostStillForks).toBe(true);
        expect(result).toExit(137);
        for (const dir of containerCgroupDirs(dirs)) expect(existsSync(dir), `${dir} is left behind`).toBe(false);
      },
    );

    it('gives a busy loop about half a CPU under --cpus 0.5, by the cgroup CPU counter', task('04.3'), async () => {
      const container = startContainer(step, ['--cpus', '0.5', '/bin/sh', '-c', 'echo ready; while :; do :; done']);
      const pid1 = await readyPid1(container);
      const dirs = cgroupDirsOf(pid1);
      await sleep(300);
      const [cpu0, wall0] = [cgroupCpuMicros(dirs), performance.now()];
      await sleep(3000);
      const [cpu1, wall1] = [cgroupCpuMicros(dirs), performance.now()];
      process.kill(pid1, 'SIGKILL');
      await container.result;
      const share = (cpu1 - cpu0) / ((wall1 - wall0) * 1000);
      // The quota caps it at 0.5; other tests on a 2-core machine may take some of it.
      expect(share).toBeGreaterThan(0.25);
      expect(share).toBeLessThan(0.6);
    });

    it('shows / as the container cgroup inside (cgroup namespace)', task('04.5'), async () => {
      const result = await run(step, ['--memory', '64m', 'cat', '/proc/self/cgroup']);
      expect(result).toExit(0);
      const lines = result.stdout.trim().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      const unhint = hint('unshare(CLONE_NEWCGROUP) after the process is in its cgroup: that cgroup becomes its /');
      for (const line of lines) expect(line, unhint).toMatch(/:\/$/);
    });

    it(
      'runs the command inside the limits from its first instruction, even a low --pids-limit',
      task('04.2'),
      async () => {
        // The runtime's own init joins with about a dozen threads, and pids.max counts threads.
        // Below the init's own thread count (about ten): it still starts, because the limit is written
        // just before the exec. An init that stays (06+) needs room for itself.
        const result = await run(step, ['--pids-limit', init ? '16' : '2', '/bin/sh', '-c', 'echo one; echo two']);
        const container = startContainer(step, [
          '--pids-limit',
          init ? '16' : '7',
          '/bin/sh',
          '-c',
          'echo ready; exec sleep 3402',
        ]);
        const pid1 = await readyPid1(container);
        const max = readFileSync(join(controllerDir(cgroupDirsOf(pid1), 'pids'), 'pids.max'), 'utf8').trim();
        process.kill(pid1, 'SIGKILL');
        await container.result;
        expect(result).toExit(0, { stdout: 'one\ntwo\n' });
        expect(max).toBe(init ? '16' : '7');
      },
    );

    it(
      'removes the cgroup when the runtime is interrupted (SIGINT, then SIGINT again to force it)',
      task('04.1'),
      async () => {
        const container = startContainer(step, ['--memory', '64m', '/bin/sh', '-c', 'echo ready; exec sleep 3403']);
        const dirs = containerCgroupDirs(cgroupDirsOf(await readyPid1(container)));
        container.runtime.kill('SIGINT'); // forwarded; sleep as PID 1 has no handler and ignores it
        await sleep(200);
        container.runtime.kill('SIGINT'); // asked twice: the runtime kills the container
        const result = await container.result;
        // 137: killed after the second SIGINT. From step 06 on an init passes SIGINT on, and sleep,
        // no longer PID 1, dies of the first: 130.
        expect([130, 137]).toContain(result.exitCode);
        for (const dir of dirs) expect(existsSync(dir), `${dir} is left behind`).toBe(false);
      },
    );

    it.each([
      ['--memory', 'abc'],
      ['--memory', '0'],
      ['--pids-limit', '-1'],
      ['--pids-limit', '0'],
      ['--cpus', '0'],
      ['--cpus', 'lots'],
    ])('rejects %s %s with 125 and one line naming it, before starting anything', async (flag, value) => {
      expect(await run(step, [flag, value, '/bin/true'])).toFailCleanly({ naming: [flag] });
    });
  });

  // The layout decides where the cgroups go; each check names the layout it needs.
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const kind = describeLayout(mountinfo);
  const onV2 = readLayout().memory?.version === 2;
  describe(`step ${step}: cgroup layout (this machine: ${kind})`, REFERENCE, () => {
    it.skipIf(!onV2)(
      `v2 layout only (${onV2 ? `runs here: ${kind}` : `skipped here: memory is on cgroup v1, this machine is ${kind}`}): enables memory, pids and cpu in cgroup.subtree_control of the parents`,
      async () => {
        const container = startContainer(step, ['--memory', '64m', '/bin/sh', '-c', 'echo ready; exec sleep 3404']);
        const dirs = cgroupDirsOf(await readyPid1(container));
        const parent = join(dirs.v2 as string, '..');
        const enabled = readFileSync(join(parent, 'cgroup.subtree_control'), 'utf8');
        process.kill(containerPid1(container.runtime.pid as number) as number, 'SIGKILL');
        await container.result;
        for (const controller of ['memory', 'pids', 'cpu']) expect(enabled).toContain(controller);
      },
    );

    it.skipIf(onV2)(
      `v1 layout only (${onV2 ? 'skipped here: this machine is v2' : `runs here: ${kind}`}): nests the container's cgroups under the runtime's own`,
      async () => {
        const container = startContainer(step, ['--memory', '64m', '/bin/sh', '-c', 'echo ready; exec sleep 3405']);
        const inside = cgroupDirsOf(await readyPid1(container));
        const own = cgroupDirsOf(process.pid);
        process.kill(containerPid1(container.runtime.pid as number) as number, 'SIGKILL');
        await container.result;
        for (const controller of ['memory', 'pids']) {
          expect(inside.v1.get(controller)?.startsWith(`${own.v1.get(controller)?.replace(/\/$/, '')}/`)).toBe(true);
        }
      },
    );
  });
}
