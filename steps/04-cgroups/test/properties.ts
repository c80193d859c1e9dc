/** What step 04 promises, checked on the real kernel with the cgroups' own counters. */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CONTRACT,
  cgroupCounter,
  cgroupCpuMicros,
  cgroupDirsOf,
  commandLineOf,
  containerCgroupDirs,
  containerPid1,
  controllerDir,
  hint,
  namespaceOf,
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
  const onV2 = readLayout().memory?.version === 2;
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

    it("holds only the container's processes in its cgroup, none of the host's", task('04.2'), async () => {
      // Seen from the host, so that every pid is real (a v1 cgroup.procs read inside leaves out
      // the processes of other PID namespaces; v2 shows them as 0). A process of the runtime left
      // in the container's cgroup would count against its limits and keep it from being removed.
      const container = startContainer(step, ['--memory', '96m', '/bin/sh', '-c', 'echo ready; exec sleep 3402']);
      const pid1 = await readyPid1(container);
      const inside = namespaceOf(pid1, 'pid');
      const outsiders: string[] = [];
      for (const dir of containerCgroupDirs(cgroupDirsOf(pid1))) {
        for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try {
            if (namespaceOf(Number(pid), 'pid') !== inside) {
              outsiders.push(`${dir}: pid ${pid} (${commandLineOf(Number(pid)).slice(0, 80)})`);
            }
          } catch {
            // It exited between the two reads: not in the cgroup any more.
          }
        }
      }
      process.kill(pid1, 'SIGKILL');
      await container.result;
      expect(
        outsiders,
        hint('move the init into the cgroup, not a process that stays outside its PID namespace'),
      ).toEqual([]);
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
      'shows its own cgroup at /sys/fs/cgroup, read-only: the --memory limit, no cgroup above or beside it',
      task('04.6'),
      async () => {
        const limit = String(96 * 1024 ** 2);
        const file = onV2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
        const dir = dirname(file);
        // The host's hierarchy (or any cgroup above the container's) has subdirectories, the
        // container's own cgroup among them, and holds processes of other PID namespaces, which
        // cgroup.procs shows as 0: the container's own cgroup has neither.
        const probe = [
          `cat ${file}`,
          `echo 1 > ${file} && echo wrote`,
          `mkdir ${dir}/probe && echo made`,
          `cat ${file}`,
          `echo subdirs $(find ${dir} -mindepth 1 -type d | wc -l)`,
          `echo outsiders $(grep -cx 0 ${dir}/cgroup.procs)`,
        ].join('; ');
        const result = await run(step, ['--memory', '96m', '/bin/sh', '-c', probe]);
        expect(result).toExit(0);
        const lines = result.stdout.trim().split('\n');
        const mounted = hint(
          "mount the cgroup filesystem at /sys/fs/cgroup inside, after the cgroup namespace exists: it then shows the container's cgroup as its root",
        );
        expect(lines[0], mounted).toBe(limit);
        expect(lines, hint('mount it read-only: the container may read its limits, not raise them')).not.toContain(
          'wrote',
        );
        expect(lines).not.toContain('made');
        expect(lines[1]).toBe(limit);
        expect(lines.slice(2), hint("the host's hierarchy is mounted, not the container's own cgroup")).toEqual([
          'subdirs 0',
          'outsiders 0',
        ]);
      },
    );

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
  describe(`step ${step}: cgroup layout (this machine: ${kind})`, REFERENCE, () => {
    it.skipIf(!onV2)(
      `v2 layout only (${onV2 ? `runs here: ${kind}` : `skipped here: memory is on cgroup v1, this machine is ${kind}`}): enables memory, pids and cpu in cgroup.subtree_control of the parents`,
      async () => {
        const container = startContainer(step, ['--memory', '64m', '/bin/sh', '-c', 'echo ready; exec sleep 3404']);
        const dirs = cgroupDirsOf(await readyPid1(container));
        const parent = join(dirs.v2 as string, '..');
        const enabled = readFileSync(join(parent, 'cgroup.subtree_control'), 'utf8');
        // Without swap accounting (a kernel built without it, or swapaccount=0) the file is absent.
        const swapMax = join(dirs.v2 as string, 'memory.swap.max');
        const swap = existsSync(swapMax) ? readFileSync(swapMax, 'utf8').trim() : 'no memory.swap.max';
        const memoryMax = readFileSync(join(dirs.v2 as string, 'memory.max'), 'utf8').trim();
        process.kill(containerPid1(container.runtime.pid as number) as number, 'SIGKILL');
        await container.result;
        for (const controller of ['memory', 'pids', 'cpu']) expect(enabled).toContain(controller);
        expect(memoryMax).toBe(String(64 * 1024 ** 2));
        // --memory is the whole budget, swap included: no swap on top (docker would allow as much again).
        expect(['0', 'no memory.swap.max']).toContain(swap);
      },
    );

    // On a systemd host the runtime runs in a leaf such as user.slice/.../session-2.scope or
    // system.slice/x.service: systemd owns that cgroup, and v2 forbids it to both hold the runtime
    // and pass controllers to children. test/vm/guest.sh reproduces that (the suite runs in
    // system.slice/ctr-vm.service); where the runtime sits in the root cgroup, there is nothing to see.
    const ownV2 = cgroupDirsOf(process.pid).v2;
    const inLeaf = onV2 && ownV2 !== null && readFileSync('/proc/self/cgroup', 'utf8').trim() !== '0::/';
    it.skipIf(!inLeaf)(
      `v2 with the runtime in a non-root cgroup only (${inLeaf ? `runs here: ${ownV2}` : `skipped here: ${onV2 ? 'the runtime is in the root cgroup' : `memory is on cgroup v1, this machine is ${kind}`}`}): leaves the runtime's own cgroup alone and puts the container's beside it`,
      async () => {
        const own = ownV2 as string;
        const children = () => readdirSync(own, { withFileTypes: true }).filter((entry) => entry.isDirectory());
        const [enabledBefore, childrenBefore] = [readFileSync(join(own, 'cgroup.subtree_control'), 'utf8'), children()];
        const container = startContainer(step, ['--memory', '64m', '/bin/sh', '-c', 'echo ready; exec sleep 3407']);
        const pid1 = await readyPid1(container);
        const inside = cgroupDirsOf(pid1).v2 as string;
        const memoryMax = readFileSync(join(inside, 'memory.max'), 'utf8').trim();
        const [enabledDuring, childrenDuring] = [readFileSync(join(own, 'cgroup.subtree_control'), 'utf8'), children()];
        process.kill(pid1, 'SIGKILL');
        await container.result;
        expect(inside.startsWith(`${own}/`), `${inside} is inside the runtime's own cgroup ${own}`).toBe(false);
        expect(enabledDuring, `${own}/cgroup.subtree_control was written`).toBe(enabledBefore);
        expect(childrenDuring.length, `the runtime made a cgroup inside its own, ${own}`).toBe(childrenBefore.length);
        expect(memoryMax).toBe(String(64 * 1024 ** 2));
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
