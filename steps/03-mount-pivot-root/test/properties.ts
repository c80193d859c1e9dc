/** What step 03 promises, checked on the real kernel; later steps' suites run these too. */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultRootfsPath } from '@ctr/rootfs';
import {
  added,
  CONTRACT,
  hint,
  hostMountPoints,
  namespaceOf,
  REFERENCE,
  removeNewMountTargetsAfter,
  run,
  sleepIn,
  startContainer,
  task,
} from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

export function mountNamespaceProperties(
  step: string,
  {
    init = false,
    mountFlags = [],
  }: {
    init?: boolean;
    /** What lets the command itself mount, once a step takes CAP_SYS_ADMIN away (08: --cap-add SYS_ADMIN). */
    mountFlags?: readonly string[];
  } = {},
): void {
  const rootfs = defaultRootfsPath();
  const start = (args: string[]) => ['--rootfs', rootfs, ...args];

  describe(`step ${step}: mount namespace and pivot_root`, CONTRACT, () => {
    // These tests mount inside the container. Run against a CLI that does not isolate mounts (an
    // unfinished student runtime), they would mount over the grader's own /tmp: check first.
    beforeAll(async () => {
      const container = startContainer(step, start(['sleep', '3300']));
      const sleep = await sleepIn(container, 3300);
      const isolated = namespaceOf(sleep, 'mnt') !== namespaceOf('self', 'mnt');
      process.kill(sleep, 'SIGKILL');
      await container.result;
      if (!isolated) {
        throw new Error(
          'the command shares the host mount namespace: the mount tests would change the host, so they are not run',
        );
      }
    });

    it('shows the rootfs as /', task('03.2'), async () => {
      const result = await run(step, start(['ls', '-a', '/']));
      expect(result).toExit(0);
      const inside = result.stdout.split('\n').filter((name) => name && name !== '.' && name !== '..');
      expect(inside.sort()).toEqual(readdirSync(rootfs).sort());
    });

    it("puts the command in a mount namespace other than the host's", task('03.2'), async () => {
      const container = startContainer(step, start(['sleep', '3301']));
      const sleep = await sleepIn(container, 3301);
      const inside = namespaceOf(sleep, 'mnt');
      process.kill(sleep, 'SIGKILL');
      await container.result;
      expect(inside).not.toBe(namespaceOf('self', 'mnt'));
    });

    it('does not show a file of the host', task('03.2'), async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ctr-host-only-'));
      writeFileSync(join(dir, 'secret'), 'host data');
      try {
        const result = await run(step, start(['cat', join(dir, 'secret')]));
        expect(result.exitCode).not.toBe(0);
        expect(result.stdout).not.toContain('host data');
      } finally {
        rmSync(dir, { recursive: true });
      }
    });

    it(
      'has detached the old root: the mount table holds /, /proc, /dev, /sys and files bound into /etc',
      task('03.2'),
      async () => {
        const result = await run(step, start(['cat', '/proc/self/mountinfo']));
        const mountPoints = result.stdout
          .trim()
          .split('\n')
          .map((line) => line.split(' ')[4] as string);
        expect(mountPoints.filter((point) => point === '/')).toHaveLength(1);
        // From step 05 on, resolv.conf and hosts are bound in per container, as docker does.
        const expected = /^\/(proc|dev|sys)(\/|$)|^\/etc\/(resolv\.conf|hosts|hostname)$/;
        expect(mountPoints.filter((point) => !expected.test(point) && point !== '/')).toEqual([]);
      },
    );

    it(
      'keeps mounts made inside out of the host, while it runs and after, even on a shared mount',
      task('03.1'),
      async () => {
        // systemd makes / a shared mount, and a mount namespace copied from it stays a peer: mounts
        // would propagate back. This machine's / may be private already, so the test brings its own
        // shared mount and puts the rootfs on it; without MS_PRIVATE the host sees the mounts.
        const shared = mkdtempSync(join(tmpdir(), 'ctr-shared-'));
        execFileSync('mount', ['-t', 'tmpfs', 'ctr-shared', shared]);
        try {
          execFileSync('mount', ['--make-shared', shared]);
          cpSync(rootfs, join(shared, 'rootfs'), { recursive: true, verbatimSymlinks: true });
          const before = hostMountPoints();
          const script = 'mount -t tmpfs none /tmp && echo mounted && sleep 3302';
          const container = startContainer(step, [
            ...mountFlags,
            '--rootfs',
            join(shared, 'rootfs'),
            '/bin/sh',
            '-c',
            script,
          ]);
          const sleep = await sleepIn(container, 3302);
          while (!container.stdout().includes('mounted')) await new Promise((resolve) => setTimeout(resolve, 20));
          const during = hostMountPoints().filter((point) => point.startsWith(`${shared}/`));
          process.kill(sleep, 'SIGKILL');
          await container.result;
          expect(during).toEqual([]);
          expect(added(before, hostMountPoints())).toEqual([]);
        } finally {
          execFileSync('umount', ['--lazy', shared]);
          rmSync(shared, { recursive: true, force: true });
        }
      },
    );

    it('mounts a /proc of its own: ps lists only the container', task('03.3'), async () => {
      // `; true` keeps the shell from exec'ing ps in its place: sh and ps, and the init from 06 on.
      const result = await run(step, start(['/bin/sh', '-c', 'ps -o pid; true']));
      expect(result).toExit(0);
      const pids = result.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.trim());
      expect(
        pids,
        hint('ps reads /proc: mount a new procfs on /proc inside the new PID namespace, or it shows the host'),
      ).toHaveLength(init ? 3 : 2);
      expect(pids[0]).toBe('1');
    });

    it(`shows the command in /proc/${init ? '$$' : '1'}/cmdline`, task('03.3'), async () => {
      // Before step 06 the command is PID 1; from 06 on, the init is.
      const command = ['/bin/sh', '-c', `cat /proc/${init ? '$$' : '1'}/cmdline; true`, 'arg with spaces'];
      const result = await run(step, start(command));
      expect(result.stdout.split('\0').slice(0, -1)).toEqual(command);
    });

    it('has a minimal /dev whose devices work, and a read-only /sys', task('03.3'), async () => {
      const script = [
        'ls /dev',
        'echo discarded > /dev/null',
        'head -c 5 /dev/zero | wc -c',
        'head -c 5 /dev/urandom | wc -c',
        // The mount's own options, as the kernel reports them: ro, or rw.
        'awk \'$5 == "/sys" { split($6, o, ","); print "sys-" o[1] }\' /proc/self/mountinfo',
        'grep -q " /dev/pts devpts" /proc/self/mounts && echo devpts',
      ].join('; ');
      const result = await run(step, start(['/bin/sh', '-c', script]));
      expect(result).toExit(0);
      for (const device of ['full', 'null', 'pts', 'ptmx', 'random', 'shm', 'tty', 'urandom', 'zero']) {
        expect(result.stdout.split('\n')).toContain(device);
      }
      expect(result.stdout).toMatch(/\n5\n5\nsys-ro\ndevpts\n$/);
    });

    it('keeps the kernel-wide parts of /proc read-only', task('03.3'), async () => {
      // The probe writes back the value already there, so it changes nothing where it succeeds.
      const probe =
        'read -r v < /proc/sys/kernel/printk; echo "$v" > /proc/sys/kernel/printk 2>/dev/null && echo written || echo refused';
      const onTheHost = execFileSync('/bin/sh', ['-c', probe], { encoding: 'utf8' });
      expect(onTheHost, 'control: the probe writes /proc/sys on the host').toBe('written\n');
      const result = await run(step, start(['/bin/sh', '-c', probe]));
      expect(
        result.stdout,
        hint('bind /proc/sys onto itself and remount it read-only (MS_BIND|MS_REMOUNT|MS_RDONLY), as runc does'),
      ).toBe('refused\n');
    });

    it('binds a host directory with -v, read-only with :ro', task('03.5'), async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ctr-volume-'));
      // From step 07 on, root inside is an unprivileged uid on the host: it needs the permission.
      chmodSync(dir, 0o777);
      writeFileSync(join(dir, 'from-host'), 'shared\n');
      const removeMountTargets = removeNewMountTargetsAfter(rootfs, ['rw', 'ro']);
      try {
        const script = 'cat /rw/from-host; echo made > /rw/from-inside; echo x > /ro/nope 2>/dev/null || echo refused';
        const result = await run(step, start(['-v', `${dir}:/rw`, '-v', `${dir}:/ro:ro`, '/bin/sh', '-c', script]));
        expect(result).toExit(0, { stdout: 'shared\nrefused\n' });
        expect(readFileSync(join(dir, 'from-inside'), 'utf8')).toBe('made\n');
        expect(existsSync(join(dir, 'nope')), hint(':ro binds read-only: a bind, then a read-only remount')).toBe(
          false,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
        removeMountTargets();
      }
    });

    it(
      'mounts /proc inside the rootfs where the rootfs has /proc -> /tmp, read-only, or refuses that rootfs',
      task('03.4'),
      async () => {
        // A rootfs is untrusted: its /proc may be a symlink. Resolved on the host's terms it would
        // lead to the host's /tmp; resolved inside the rootfs, to the rootfs's own /tmp.
        const copy = mkdtempSync(join(tmpdir(), 'ctr-symlinked-'));
        try {
          cpSync(rootfs, join(copy, 'rootfs'), { recursive: true, verbatimSymlinks: true });
          rmSync(join(copy, 'rootfs/proc'), { recursive: true, force: true });
          mkdirSync(join(copy, 'rootfs/tmp'), { recursive: true });
          symlinkSync('/tmp', join(copy, 'rootfs/proc'));
          const probe =
            'read -r v < /proc/sys/kernel/printk; echo "$v" > /proc/sys/kernel/printk 2>/dev/null && echo written || echo refused';
          const result = await run(step, [
            '--rootfs',
            join(copy, 'rootfs'),
            '/bin/sh',
            '-c',
            `cat /proc/self/comm; ${probe}`,
          ]);
          // Refusing such a rootfs is as safe (runc does: exit 125, one line); mounting outside is not.
          if (result.exitCode === 125) expect(result).toFailCleanly();
          else {
            expect(
              result,
              hint(
                "resolve each mount point inside the rootfs (openat2 RESOLVE_IN_ROOT), not with the host's realpath",
              ),
            ).toExit(0, { stdout: 'cat\nrefused\n' });
          }
        } finally {
          rmSync(copy, { recursive: true, force: true });
        }
      },
    );

    it('gives the command PATH, HOME and the terminal type, and nothing else of the host', async () => {
      const env = { ...process.env, TERM: 'xterm-test', CTR_HOST_SECRET: 'do-not-leak' };
      const result = await run(step, start(['env']), { env });
      const vars = Object.fromEntries(
        result.stdout
          .trim()
          .split('\n')
          .map((line) => line.split(/=(.*)/s).slice(0, 2)),
      );
      expect(vars).toMatchObject({ HOME: '/root', TERM: 'xterm-test', PATH: expect.stringContaining('/bin') });
      expect(vars.CTR_HOST_SECRET).toBeUndefined();
    });

    it("shows no process inside, PID 1 included, with the host's environment", async () => {
      // /proc/<pid>/environ is readable inside: a runtime's own process there (step 06's init)
      // must not carry the user's variables in with it.
      const env = { ...process.env, CTR_HOST_SECRET: 'do-not-leak' };
      const script = 'for f in /proc/[0-9]*/environ; do echo "== $f"; tr "\\0" "\\n" < $f; done';
      const result = await run(step, start(['/bin/sh', '-c', script]), { env });
      expect(result.stdout).toContain('== /proc/1/environ');
      expect(result.stdout).not.toContain('CTR_HOST_SECRET');
    });
  });

  describe(`step ${step}: a chroot breakout from inside does not reach the host`, CONTRACT, () => {
    let copy: string;
    let marker: string;
    beforeAll(() => {
      // A copy of the rootfs with a static breakout program in it; a host file to look for.
      copy = mkdtempSync(join(tmpdir(), 'ctr-breakout-'));
      cpSync(rootfs, join(copy, 'rootfs'), { recursive: true, verbatimSymlinks: true });
      try {
        execFileSync('gcc', ['-static', '-O2', '-o', join(copy, 'rootfs/breakout'), join(FIXTURES, 'breakout.c')]);
      } catch (error) {
        throw new Error(
          `this test builds a static C program and needs gcc and libc6-dev (apt-get install gcc libc6-dev): ${error}`,
        );
      }
      marker = join(copy, 'host-marker');
      writeFileSync(marker, 'on the host');
      mkdirSync(join(copy, 'rootfs/tmp'), { recursive: true });
    });
    afterAll(() => rmSync(copy, { recursive: true, force: true }));

    it('control: the same program does escape a plain chroot', () => {
      const output = execFileSync('chroot', [join(copy, 'rootfs'), '/breakout', marker], { encoding: 'utf8' });
      expect(output).toContain('host file readable');
    });

    it("inside the container it ends at the container's own /", task('03.2'), async () => {
      const result = await run(step, ['--rootfs', join(copy, 'rootfs'), '/breakout', marker]);
      expect(result).toExit(0);
      expect(result.stdout).toContain('host file not reachable');
      const entries = result.stdout
        .split('\n')
        .filter((line) => line.startsWith('entry '))
        .map((line) => line.slice(6));
      expect(entries).toContain('breakout');
      expect(entries).not.toContain('host-marker');
    });
  });

  describe(`step ${step}: errors about the rootfs`, CONTRACT, () => {
    it.each([
      ['does not exist', '/no/such/rootfs'],
      ['is relative', 'relative/rootfs'],
      ['is a file', '/etc/passwd'],
    ])('exits 125 with one line naming it when --rootfs %s', async (_what, path) => {
      expect(await run(step, ['--rootfs', path, '/bin/true'])).toFailCleanly({ naming: [path, '--rootfs'] });
    });

    it.each([
      ['does not exist', '/no/such/rootfs', /does not exist/],
      ['is relative', 'relative/rootfs', /relative: give an absolute path/],
      ['is a file', '/etc/passwd', /not a directory/],
    ])('says what to do when --rootfs %s', REFERENCE, async (_what, path, message) => {
      expect((await run(step, ['--rootfs', path, '/bin/true'])).stderr).toMatch(message);
    });

    it('exits 127 when the rootfs has no such command', async () => {
      const result = await run(step, start(['/usr/bin/no-such-tool']));
      expect(result).toExit(127);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    });

    it('leaves no mount behind on the host after a failed start', async () => {
      const before = hostMountPoints();
      await run(step, start(['/usr/bin/no-such-tool']));
      expect(added(before, hostMountPoints())).toEqual([]);
    });
  });
}
