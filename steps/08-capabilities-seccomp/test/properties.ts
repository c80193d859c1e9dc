/**
 * What step 08 promises: the command runs with docker's capability set, no_new_privs and a
 * seccomp filter, as the user asked for; --privileged turns all of it off. Judged by what the
 * kernel reports in /proc/self/status and by what it lets the command do.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTRACT, REFERENCE, run, task } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';

/** Docker's default set as the kernel shows it: CapEff 00000000a80425fb in `docker run alpine`. */
const DOCKER_DEFAULT = 0xa80425fbn;
const NONE = 0n;
const LAST_CAP = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
const ALL = (1n << BigInt(LAST_CAP + 1)) - 1n;
const bit = (cap: number): bigint => 1n << BigInt(cap);
const CAP_CHOWN = 0;
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

/** Runs without a network: the bridge costs time and is not what this step is about. */
const NET = ['--net', 'none'];

interface Status {
  CapInh: bigint;
  CapPrm: bigint;
  CapEff: bigint;
  CapBnd: bigint;
  CapAmb: bigint;
  NoNewPrivs: number;
  Seccomp: number;
  Uid: string;
  Gid: string;
}

/** The command's own /proc/self/status, parsed: what the kernel holds for it. */
async function statusOf(step: string, flags: string[]): Promise<Status> {
  const result = await run(step, [...NET, ...flags, '/bin/cat', '/proc/self/status']);
  expect(result).toExit(0);
  const field = (name: string): string => {
    const value = new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(result.stdout)?.[1];
    expect(value, `${name} in /proc/self/status`).toBeDefined();
    return value as string;
  };
  const mask = (name: string): bigint => BigInt(`0x${field(name)}`);
  return {
    CapInh: mask('CapInh'),
    CapPrm: mask('CapPrm'),
    CapEff: mask('CapEff'),
    CapBnd: mask('CapBnd'),
    CapAmb: mask('CapAmb'),
    NoNewPrivs: Number(field('NoNewPrivs')),
    Seccomp: Number(field('Seccomp')),
    Uid: field('Uid').split(/\s+/).join(' '),
    Gid: field('Gid').split(/\s+/).join(' '),
  };
}

const hex = (mask: bigint): string => `0x${mask.toString(16)}`;

export function securityProperties(step: string): void {
  // Made by the first test that writes a profile, not when the groups are registered: a run that
  // skips them all (pnpm check of another step's task) runs no afterAll, and left it in /tmp.
  let scratch = '';
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
  const profile = (name: string, content: unknown): string => {
    scratch ||= mkdtempSync(join(tmpdir(), 'ctr-08-'));
    const path = join(scratch, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  describe(`step ${step}: capabilities`, CONTRACT, () => {
    it(
      "gives root inside docker's default set: bounding, permitted and effective; inheritable and ambient empty",
      task('08.1'),
      async () => {
        const status = await statusOf(step, []);
        expect(hex(status.CapBnd)).toBe(hex(DOCKER_DEFAULT));
        expect(hex(status.CapPrm)).toBe(hex(DOCKER_DEFAULT));
        expect(hex(status.CapEff)).toBe(hex(DOCKER_DEFAULT));
        expect(hex(status.CapInh)).toBe(hex(NONE));
        expect(hex(status.CapAmb)).toBe(hex(NONE));
      },
    );

    it.each([
      [['--cap-drop', 'ALL'], NONE],
      [['--cap-drop', 'chown'], DOCKER_DEFAULT & ~bit(CAP_CHOWN)],
      [['--cap-add', 'NET_ADMIN'], DOCKER_DEFAULT | bit(CAP_NET_ADMIN)],
      [['--cap-add', 'CAP_SYS_ADMIN'], DOCKER_DEFAULT | bit(CAP_SYS_ADMIN)],
      [['--cap-drop', 'ALL', '--cap-add', 'CHOWN'], bit(CAP_CHOWN)],
      [['--cap-add', 'ALL', '--cap-drop', 'SYS_ADMIN'], ALL & ~bit(CAP_SYS_ADMIN)],
    ])('%j keeps the set docker would', task('08.1'), async (flags, expected) => {
      const status = await statusOf(step, flags);
      expect(hex(status.CapBnd)).toBe(hex(expected));
      expect(hex(status.CapEff)).toBe(hex(expected));
    });

    it('lets the kernel refuse what a dropped capability allowed (chown without CAP_CHOWN)', task('08.1'), async () => {
      // The file is removed in the same run: /tmp is the shared rootfs's until step 09's overlay.
      const script = 'touch /tmp/f && chown 1:1 /tmp/f && echo chowned; status=$?; rm -f /tmp/f; exit $status';
      expect(await run(step, [...NET, '/bin/sh', '-c', script])).toExit(0, { stdout: 'chowned\n' });
      const dropped = await run(step, [...NET, '--cap-drop', 'CHOWN', '/bin/sh', '-c', script]);
      expect(dropped.exitCode).not.toBe(0);
      expect(dropped.stderr).toMatch(/Operation not permitted/);
    });

    it.each([
      ['--cap-add', 'FOO'],
      ['--cap-drop', 'CAP_'],
      ['--cap-add', ''],
    ])('rejects %s %j with 125 and one line naming it, before starting anything', async (flag, value) => {
      expect(await run(step, [...NET, flag, value, '/bin/true'])).toFailCleanly({ naming: [flag] });
    });
  });

  describe(`step ${step}: no_new_privs`, CONTRACT, () => {
    it('sets no_new_privs by default, and not with --security-opt no-new-privileges=false', task('08.2'), async () => {
      expect((await statusOf(step, [])).NoNewPrivs).toBe(1);
      expect((await statusOf(step, ['--security-opt', 'no-new-privileges=false'])).NoNewPrivs).toBe(0);
    });
  });

  describe(`step ${step}: seccomp`, CONTRACT, () => {
    it('runs the command under a seccomp filter, and without one with seccomp=unconfined', task('08.3'), async () => {
      expect((await statusOf(step, [])).Seccomp).toBe(2); // SECCOMP_MODE_FILTER
      expect((await statusOf(step, ['--security-opt', 'seccomp=unconfined'])).Seccomp).toBe(0);
    });

    it(
      'loads the filter without no_new_privs too (before the capabilities that allow it are dropped)',
      task('08.2'),
      async () => {
        const status = await statusOf(step, ['--security-opt', 'no-new-privileges=false']);
        expect(status.Seccomp).toBe(2);
        expect(hex(status.CapEff)).toBe(hex(DOCKER_DEFAULT));
      },
    );

    it(
      "refuses what docker's profile refuses even with the capability for it (unshare of a user namespace: EPERM)",
      task('08.3'),
      async () => {
        // busybox's unshare: a new user namespace needs no capability at all, so only the filter stops it.
        const result = await run(step, [...NET, 'unshare', '-U', '/bin/true']);
        expect(result.exitCode).not.toBe(0);
        expect(result.stderr).toMatch(/Operation not permitted/);
        expect(await run(step, [...NET, '--security-opt', 'seccomp=unconfined', 'unshare', '-U', '/bin/true'])).toExit(
          0,
        );
      },
    );

    it("reads a profile in docker's format: an action per call, with its errno", task('08.3'), async () => {
      const path = profile('deny-mkdir.json', {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
      });
      const script = 'mkdir /tmp/made; echo after';
      const result = await run(step, [...NET, '--security-opt', `seccomp=${path}`, '/bin/sh', '-c', script]);
      expect(result.stdout).toBe('after\n');
      expect(result.stderr).toMatch(/Permission denied/); // EACCES, errno 13
    });

    it('reports a command killed by the filter as 128 + SIGSYS', task('08.3'), async () => {
      const path = profile('kill-uname.json', {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['uname'], action: 'SCMP_ACT_KILL_PROCESS' }],
      });
      expect(await run(step, [...NET, '--security-opt', `seccomp=${path}`, '/bin/uname'])).toExit(128 + 31);
    });

    it.each([
      ['seccomp=/nonexistent/profile.json', 'missing'],
      ['seccomp={PROFILE}', 'malformed'],
      ['apparmor=docker-default', 'unsupported'],
      ['no-new-privileges=maybe', 'unknown value'],
    ])('rejects --security-opt %s (%s) with 125 and one line, before starting anything', async (option, _why) => {
      const malformed = profile(
        'malformed.json',
        '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": "uname"}]',
      );
      const value = option.replace('{PROFILE}', malformed);
      expect(await run(step, [...NET, '--security-opt', value, '/bin/true'])).toFailCleanly({
        naming: ['--security-opt'],
      });
    });
  });

  describe(`step ${step}: --user`, CONTRACT, () => {
    it('runs the command as the uid and gid given, with no capabilities left', task('08.4'), async () => {
      const status = await statusOf(step, ['--user', '1000:1001']);
      expect(status.Uid).toBe('1000 1000 1000 1000');
      expect(status.Gid).toBe('1001 1001 1001 1001');
      expect(hex(status.CapEff)).toBe(hex(NONE));
      expect(hex(status.CapPrm)).toBe(hex(NONE));
      expect(hex(status.CapBnd)).toBe(hex(DOCKER_DEFAULT));
    });

    it('is refused by the kernel what the user may not do (write to / as uid 1000)', task('08.4'), async () => {
      const result = await run(step, [...NET, '--user', '1000', '/bin/sh', '-c', 'id -u; touch /not-mine']);
      expect(result.stdout).toBe('1000\n');
      expect(result.exitCode).not.toBe(0);
      expect(result.stderr).toMatch(/Permission denied/);
    });

    it.each(['abc', '1000:', '1:2:3', '-1', 'root'])('rejects --user %j with 125 and one line', async (value) => {
      expect(await run(step, [...NET, '--user', value, '/bin/true'])).toFailCleanly({ naming: ['--user'] });
    });
  });

  describe(`step ${step}: --privileged`, CONTRACT, () => {
    it('gives every capability, no filter and no no_new_privs', task('08.1'), async () => {
      const status = await statusOf(step, ['--privileged']);
      expect(hex(status.CapEff)).toBe(hex(ALL));
      expect(hex(status.CapBnd)).toBe(hex(ALL));
      expect(status.Seccomp).toBe(0);
      expect(status.NoNewPrivs).toBe(0);
    });
  });

  describe(`step ${step}: the init itself`, REFERENCE, () => {
    it(
      'puts every thread of the Node init under the filter (TSYNC), not only the one that loaded it',
      task('08.3'),
      async () => {
        const result = await run(step, [
          ...NET,
          '/bin/sh',
          '-c',
          'grep -h ^Seccomp: /proc/1/task/*/status | sort | uniq -c',
        ]);
        expect(result).toExit(0);
        expect(result.stdout.trim()).toMatch(/^\d+ Seccomp:\s+2$/);
      },
    );

    it(
      "keeps the init, whose other threads hold every capability, out of the command's reach without CAP_SYS_PTRACE",
      task('08.2'),
      async () => {
        // capset changes the calling thread only: V8's and libuv's threads of the Node init keep
        // their sets, in the memory they share with the main thread. Reading a thread's environ
        // is the kernel's ptrace access check (PTRACE_MODE_READ); opening /proc/1/mem to write is
        // the way in. The main thread (task 1) counts too: it has the command's own uid and set.
        const script =
          'for t in $(ls /proc/1/task); do cat /proc/1/task/$t/environ >/dev/null 2>&1 && echo readable || echo refused; done | sort -u; ' +
          '(exec 3<>/proc/1/mem) 2>/dev/null && echo mem-writable || echo mem-refused';
        const confined = await run(step, [...NET, '/bin/sh', '-c', script]);
        expect(confined).toExit(0, { stdout: 'refused\nmem-refused\n' });
        // The probe works where the protection is off: with CAP_SYS_PTRACE, every thread is reachable.
        const traced = await run(step, [...NET, '--cap-add', 'SYS_PTRACE', '/bin/sh', '-c', script]);
        expect(traced).toExit(0, { stdout: 'readable\nmem-writable\n' });
      },
    );
  });
}
