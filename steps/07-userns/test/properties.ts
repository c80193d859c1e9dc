/** What step 07 promises: root inside is an unprivileged uid outside; rootless mode works. */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultRootfsPath } from '@ctr/rootfs';
import {
  CONTRACT,
  containerPid1,
  hostMountPoints,
  REFERENCE,
  REPO,
  removeNewMountTargetsAfter,
  run,
  startContainer,
  startTestHost,
  task,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const onPath = (command: string): boolean => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const uidOf = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

export function userNamespaceProperties(step: string): void {
  describe(`step ${step}: user namespace, with root`, CONTRACT, () => {
    it(
      'is uid 0 inside, with 0 mapped to an unprivileged host range in uid_map and gid_map',
      task('07.1'),
      async () => {
        const result = await run(step, [
          '--net',
          'none',
          '/bin/sh',
          '-c',
          'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map',
        ]);
        expect(result).toExit(0);
        const [uid, gid, uidMap, gidMap] = result.stdout
          .trim()
          .split('\n')
          .map((line) => line.trim().split(/\s+/));
        expect([uid, gid]).toEqual([['0'], ['0']]);
        for (const map of [uidMap, gidMap]) {
          expect(map?.[0]).toBe('0');
          expect(Number(map?.[1])).toBeGreaterThan(0); // host root is not in the map
          expect(Number(map?.[2])).toBeGreaterThanOrEqual(65536);
        }
      },
    );

    it("runs as the mapped host uid, seen from the host's /proc", task('07.1'), async () => {
      const container = startContainer(step, [
        '--net',
        'none',
        '/bin/sh',
        '-c',
        'cat /proc/self/uid_map; echo ready; exec sleep 3701',
      ]);
      await container.waitForOutput('ready');
      const hostUid = Number(container.stdout().trim().split(/\s+/)[1]);
      const pid1 = containerPid1(container.runtime.pid as number) as number;
      const seen = uidOf(pid1);
      process.kill(pid1, 'SIGKILL');
      await container.result;
      expect(seen).toBe(hostUid);
      expect(seen).not.toBe(0);
    });

    it('shows the rootfs, owned by host root, as owned by root inside', task('07.2'), async () => {
      const result = await run(step, ['--net', 'none', 'stat', '-c', '%u:%g', '/bin/busybox', '/etc']);
      expect(result.stdout).toBe('0:0\n0:0\n');
    });

    it('creates files in a host directory made visible to it (-v) as the mapped host uid', task('07.1'), async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ctr-volume-'));
      chmodSync(dir, 0o777); // the container's root is an ordinary host uid: it needs write permission
      const removeMountTargets = removeNewMountTargetsAfter(defaultRootfsPath(), ['data']);
      try {
        const result = await run(step, [
          '--net',
          'none',
          '-v',
          `${dir}:/data`,
          '/bin/sh',
          '-c',
          'touch /data/made-inside && cat /proc/self/uid_map',
        ]);
        expect(result).toExit(0);
        const hostUid = Number(result.stdout.trim().split(/\s+/)[1]);
        expect(statSync(join(dir, 'made-inside')).uid).toBe(hostUid);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        removeMountTargets();
      }
    });

    it("gives root inside no power over the host's kernel: no device nodes, no clock", task('07.1'), async () => {
      // busybox date exits 0 even when settimeofday fails: its message is the evidence. The clock
      // is set to the second it already reads: against a runtime that does let it through (no
      // user namespace), the probe moves the host's clock by less than a second, not by years.
      const script =
        'mknod /tmp/null c 1 3 2>/dev/null && echo mknod-allowed || echo mknod-refused; date -s "@$(date +%s)" 2>&1 >/dev/null';
      const before = Date.now();
      const result = await run(step, ['--net', 'none', '/bin/sh', '-c', script]);
      expect(result.stdout).toMatch(/^mknod-refused\n.*not permitted/s);
      expect(Math.abs(Date.now() - before)).toBeLessThan(60_000); // and the host's clock did not move
    });
  });

  describe(`step ${step}: what a killed runtime leaves`, CONTRACT, () => {
    it(
      'is found by `pnpm clean` in CTR_STATE_DIR: the idmapped rootfs is unmounted and removed',
      REFERENCE,
      async () => {
        const state = mkdtempSync(join(tmpdir(), 'ctr-state-'));
        chmodSync(state, 0o755); // as /run/ctr: root in the container is an unprivileged host uid
        const env = { ...process.env, CTR_STATE_DIR: state };
        const ours = () => hostMountPoints().filter((point) => point.startsWith(`${state}/`));
        try {
          const container = startContainer(step, ['--net', 'none', '/bin/sh', '-c', 'echo ready; exec sleep 3702'], {
            env,
          });
          await container.waitForOutput('ready');
          const whileRunning = ours();
          container.runtime.kill('SIGKILL'); // no clean-up runs; the container dies with it (PDEATHSIG)
          await container.result;
          expect(whileRunning, 'the idmapped rootfs is mounted under CTR_STATE_DIR').toEqual([
            expect.stringMatching(new RegExp(`^${state}/containers/[0-9a-f]{12}/rootfs$`)),
          ]);
          expect(ours(), 'a killed runtime leaves it').toHaveLength(1);
          execFileSync('pnpm', ['--silent', 'clean'], { cwd: REPO, env, stdio: 'ignore' });
          expect(ours()).toEqual([]);
          expect(readdirSync(join(state, 'containers'))).toEqual([]);
        } finally {
          for (const point of ours().reverse()) spawnSync('umount', ['--lazy', point]);
          rmSync(state, { recursive: true, force: true });
        }
      },
    );
  });

  describe(`step ${step}: rootless, as an ordinary user`, CONTRACT, () => {
    // A user of our own, removed afterwards: the CLI runs as that uid, without sudo.
    const user = `ctr-rl-${process.pid % 100000}`;
    let uid = 0;
    let home = '';
    beforeAll(() => {
      home = mkdtempSync(join(tmpdir(), 'ctr-rootless-home-'));
      execFileSync('useradd', ['--home-dir', home, '--no-create-home', '--shell', '/bin/sh', user]);
      uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      execFileSync('chown', [`${uid}:${uid}`, home]);
    });
    afterAll(() => {
      execFileSync('userdel', [user]);
      rmSync(home, { recursive: true, force: true });
    });
    const asUser = () => ({ uid, env: { PATH: process.env.PATH, HOME: home, USER: user } });

    it('runs a container: root inside is the user outside, in a single-id map', task('07.4'), async () => {
      const result = await run(
        step,
        ['--net', 'none', '/bin/sh', '-c', 'id -u; cat /proc/self/uid_map; ls /sys/class/net; stat -c %u /bin/busybox'],
        asUser(),
      );
      expect(result).toExit(0);
      const [inside, map, devices, owner] = result.stdout
        .trim()
        .split('\n')
        .map((line) => line.trim());
      expect(inside).toBe('0');
      expect(map?.split(/\s+/)).toEqual(['0', String(uid), '1']);
      expect(devices).toBe('lo');
      expect(owner).toBe('0');
    });

    it('degrades what needs host privileges with one notice each, not an error', REFERENCE, async () => {
      const result = await run(step, ['--memory', '64m', '--net', 'bridge', '/bin/true'], asUser());
      expect(result).toExit(0);
      expect(result.stderr).toMatch(/notice: rootless: --memory ignored/);
      expect(result.stderr).toMatch(
        /notice: rootless: (user-mode networking through slirp4netns|--net none) instead of (a )?bridge/,
      );
    });

    it(
      "reaches a host beyond this machine's stack through slirp4netns, as the host (user-mode NAT)",
      REFERENCE,
      async () => {
        if (!onPath('slirp4netns'))
          throw new Error('this test needs slirp4netns: apt-get install slirp4netns (setup.sh does)');
        const internet = await startTestHost(7702);
        try {
          const result = await run(
            step,
            ['/bin/sh', '-c', `ip -o -4 addr show tap0; nc ${internet.address} ${internet.port}`],
            asUser(),
          );
          expect(result).toExit(0);
          expect(result.stdout).toContain('inet 10.0.2.100/24');
          expect(result.stdout).toContain(`seen-from ${internet.hostAddress}\n`);
        } finally {
          internet.stop();
        }
      },
    );

    it('mounts a cgroup at /sys/fs/cgroup inside, read-only, from its user namespace', REFERENCE, async () => {
      // No cgroup of its own without root: the root of its cgroup namespace is the user's cgroup,
      // which holds the container's PID 1. Whichever layout: v2's cgroup.procs, or v1's memory one.
      const probe = [
        'd=/sys/fs/cgroup; [ -e $d/cgroup.procs ] || d=/sys/fs/cgroup/memory',
        'grep -qx 1 $d/cgroup.procs && echo pid1-listed',
        'mkdir $d/probe 2>/dev/null && echo made',
        'exit 0',
      ].join('; ');
      const result = await run(step, ['--net', 'none', '/bin/sh', '-c', probe], asUser());
      expect(result).toExit(0);
      expect(result.stdout.trim().split('\n')).toEqual(['pid1-listed']);
    });

    it(
      'still isolates: its own PID, mount and UTS namespaces, and only the container in ps',
      task('07.3'),
      async () => {
        const result = await run(
          step,
          ['--hostname', 'rootless-box', '/bin/sh', '-c', 'hostname; ps -o pid | wc -l; ls /'],
          asUser(),
        );
        expect(result).toExit(0);
        const [name, lines] = result.stdout.split('\n');
        expect(name).toBe('rootless-box');
        expect(Number(lines)).toBeLessThanOrEqual(5); // header, init, sh, ps (and wc)
      },
    );
  });
}
