/**
 * The classic escapes, each tried from inside a container by a probe with a harmless payload
 * (probes/escape-probe.c: it prints `ESCAPED <what it did>` or `BLOCKED <call>: <errno>`).
 *
 * A probe that cannot work would pass every "is blocked" test, so each one is first shown to
 * escape where nothing stops it: against this repository's own earlier step (the release_agent
 * before step 04's cgroup namespace, the others before step 07's user namespace), or against this
 * repository's step 08 with `--privileged` where its user namespace does not stop it either. Those
 * proofs run our runtime even when CTR_CLI grades another: they test the probe on this machine,
 * not the runtime. Then the step under test, with its defaults, must print BLOCKED, and each test
 * says which layer does it: the seccomp filter, the capability set, no_new_privs, the user
 * namespace or the cgroup namespace. Which layer stops what with one layer off is this
 * runtime's design (a runtime may add layers): those tests are reference tests.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultRootfsPath } from '@ctr/rootfs';
import {
  CONTRACT,
  REFERENCE,
  type RunOptions,
  type RunResult,
  removeNewMountTargetsAfter,
  run,
  staticProgram,
  task,
} from '@ctr/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const PROBE_SOURCE = fileURLToPath(new URL('./probes/escape-probe.c', import.meta.url));

/** A test's own directory: `probe/` is bound at /probe, `secret` lies outside it on the same filesystem. */
interface Bench {
  bound: string;
  secret: string;
  /** The host-side probe (make-handle, host-session-key), the same binary. */
  probe: string;
}

interface Outcome {
  line: string;
  result: RunResult;
}

interface ProbeRun extends RunOptions {
  /** Runtime flags before the command. */
  flags?: string[];
  /** The file in the bound directory to run: escape-probe unless a test made another. */
  program?: string;
}

/** This repository's own runtime of an earlier step, where nothing stops the escape. */
const OURS = { reference: true };
const options = (...parts: object[]) => Object.assign({}, ...parts);

export function escapeProperties(step: string): void {
  describe(`step ${step}: the classic escapes, blocked`, CONTRACT, () => {
    let bench: Bench;
    let dir = '';
    let removeMountTarget: () => void = () => {};
    beforeEach(() => {
      const binary = staticProgram(PROBE_SOURCE);
      dir = mkdtempSync(join(tmpdir(), 'ctr-escape-'));
      chmodSync(dir, 0o755); // mkdtemp's 0700 stops a runtime that looks at the bound path as the container's uid
      const bound = join(dir, 'probe');
      mkdirSync(bound);
      // Root in step 07's containers is an unprivileged host uid: it writes markers and copies here.
      chmodSync(bound, 0o777);
      copyFileSync(binary, join(bound, 'escape-probe'));
      chmodSync(join(bound, 'escape-probe'), 0o755);
      const secret = join(dir, 'secret');
      writeFileSync(secret, `host secret ${process.pid}, outside the bound directory\n`);
      bench = { bound, secret, probe: binary };
      removeMountTarget = removeNewMountTargetsAfter(defaultRootfsPath(), ['probe']);
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
      removeMountTarget();
    });

    const netNone = (onStep: string): string[] => (Number(onStep) >= 5 ? ['--net', 'none'] : []);
    /** Runs `/probe/<program> ...args` in a container of `onStep` with the test's directory bound. */
    const probe = async (
      onStep: string,
      args: string[],
      { flags = [], program = 'escape-probe', ...runOptions }: ProbeRun = {},
    ): Promise<Outcome> => {
      const result = await run(
        onStep,
        [...netNone(onStep), ...flags, '-v', `${bench.bound}:/probe`, `/probe/${program}`, ...args],
        runOptions,
      );
      return { line: result.stdout.trim(), result };
    };
    const expectEscaped = ({ line, result }: Outcome, where: string): void => {
      expect(line, `the probe must escape ${where}, or its BLOCKED elsewhere proves nothing`).toMatch(/^ESCAPED /);
      expect(result.exitCode).toBe(0);
    };
    const expectBlocked = ({ line, result }: Outcome, expected: string, because: string): void => {
      expect(line, because).toBe(expected);
      expect(result.exitCode).toBe(1);
    };

    /**
     * A probe (its arguments, read once the test's directory exists) that needs mount(2): refused for want of CAP_SYS_ADMIN, and, unless told otherwise,
     * still refused without the filter, which shows the capability set alone stops it.
     */
    const refusedForWantOfSysAdmin = (args: () => string[], line: string, { unconfinedToo = true } = {}): void => {
      it(
        'is refused: mount fails with EPERM, for want of CAP_SYS_ADMIN (the profile allows mount only with it)',
        task('08.1'),
        async () => {
          expectBlocked(
            await probe(step, args()),
            line,
            "mount(2) needs CAP_SYS_ADMIN, which the default set lacks; docker's profile lets mount through only with it",
          );
        },
      );
      if (!unconfinedToo) return;
      it('is refused with seccomp=unconfined too: the capability set alone stops it', task('08.1'), async () => {
        expectBlocked(
          await probe(step, args(), { flags: ['--security-opt', 'seccomp=unconfined'] }),
          line,
          'mount(2) needs CAP_SYS_ADMIN, which the default set lacks',
        );
      });
    };

    describe('release_agent of a cgroup v1 hierarchy mounted inside', () => {
      // A v1 hierarchy outlives the container when its last mount goes while it still has a
      // child cgroup: every host process then lists it in /proc/self/cgroup. Mounted and
      // unmounted again from the host with no child, the kernel destroys it.
      afterEach(removeProbeHierarchies);
      it("the probe works: it escapes from step 03 (no cgroup namespace): the host runs the container's script as root", async () => {
        const outcome = await probe('03', ['release-agent', bench.bound], OURS);
        expectEscaped(outcome, 'from step 03');
        const marker = readFileSync(join(bench.bound, 'release-agent-ran'), 'utf8');
        expect(marker, "the agent ran as the host's root, in the host's UTS namespace").toMatch(
          new RegExp(`^uid=0\\(root\\).*\\n${hostname()}\\n$`, 's'),
        );
      });

      refusedForWantOfSysAdmin(() => ['release-agent', bench.bound], 'BLOCKED mount cgroup: EPERM', {
        unconfinedToo: false,
      });

      it(
        'stays refused with --privileged: the user and cgroup namespaces refuse a new v1 hierarchy',
        options(REFERENCE, task('08.1')),
        async () => {
          expectBlocked(
            await probe(step, ['release-agent', bench.bound], { flags: ['--privileged'] }),
            'BLOCKED mount cgroup: EPERM',
            'cgroup v1 cannot be mounted from a user namespace, and a new hierarchy not from a cgroup namespace',
          );
        },
      );
    });

    describe('remounting /proc/sys read-write, then writing kernel.core_pattern', () => {
      it('the probe works: it escapes from step 06: core_pattern is rewritten (with its own value)', async () => {
        expectEscaped(await probe('06', ['remount-proc-sys'], OURS), 'from step 06');
      });

      refusedForWantOfSysAdmin(() => ['remount-proc-sys'], 'BLOCKED mount remount,bind,rw: EPERM');

      it(
        'with --privileged the remount works, but the user namespace denies the write (EACCES)',
        options(REFERENCE, task('08.1')),
        async () => {
          expectBlocked(
            await probe(step, ['remount-proc-sys'], { flags: ['--privileged'] }),
            'BLOCKED write: EACCES',
            "host-global sysctls belong to the initial user namespace's root, which is unmapped in the container",
          );
        },
      );
    });

    describe('remounting /sys read-write, then writing a host-global sysfs file', () => {
      it('the probe works: it escapes from step 06: /sys/kernel/mm/ksm/run is rewritten (with its own value)', async () => {
        expectEscaped(await probe('06', ['remount-sys'], OURS), 'from step 06');
      });

      refusedForWantOfSysAdmin(() => ['remount-sys'], 'BLOCKED mount remount,bind,rw: EPERM');
    });

    describe("mounting a fresh procfs to read what the container's /proc masks", () => {
      it('the probe works: it escapes from step 06: a new procfs shows /proc/timer_list', async () => {
        const outcome = await probe('06', ['fresh-proc'], OURS);
        expectEscaped(outcome, 'from step 06');
        expect(outcome.line, "and the container's own /proc/timer_list is masked").toContain('gives 0 bytes');
      });

      refusedForWantOfSysAdmin(() => ['fresh-proc'], 'BLOCKED mount proc: EPERM');
    });

    describe('mounting a fresh sysfs read-write', () => {
      // Step 03 shares the host's network namespace, hence the host's (read-write) sysfs superblock;
      // from step 05 on a fresh sysfs is the container's own, read-only superblock (EROFS).
      it('the probe works: it escapes from step 03: a new sysfs is writable', async () => {
        expectEscaped(await probe('03', ['fresh-sys'], OURS), 'from step 03');
      });

      refusedForWantOfSysAdmin(() => ['fresh-sys'], 'BLOCKED mount sysfs: EPERM', { unconfinedToo: false });
    });

    describe('reading a host file through open_by_handle_at ("shocker")', () => {
      const handle = (): string => {
        const made = spawnProbe(bench.probe, ['make-handle', bench.secret]);
        expect(made, 'name_to_handle_at on the host').toMatch(/^[0-9a-f]+:[0-9a-f]+$/);
        return made;
      };

      it('the probe works: it escapes from step 06: it reads the host file by its handle', async () => {
        const outcome = await probe('06', ['shocker', handle()], OURS);
        expectEscaped(outcome, 'from step 06');
        expect(outcome.line).toContain(`host secret ${process.pid}`);
      });

      it(
        'is refused: open_by_handle_at fails with EPERM (the filter, the capability set and the user namespace each refuse it)',
        task('08.3'),
        async () => {
          expectBlocked(
            await probe(step, ['shocker', handle()]),
            'BLOCKED open_by_handle_at: EPERM',
            "docker's profile refuses open_by_handle_at without CAP_DAC_READ_SEARCH",
          );
        },
      );

      it(
        'stays refused with --privileged: CAP_DAC_READ_SEARCH counts only in the host user namespace',
        options(REFERENCE, task('08.1')),
        async () => {
          expectBlocked(
            await probe(step, ['shocker', handle()], { flags: ['--privileged'] }),
            'BLOCKED open_by_handle_at: EPERM',
            'open_by_handle_at checks capable(CAP_DAC_READ_SEARCH), a capability of the initial user namespace',
          );
        },
      );
    });

    describe('unshare(CLONE_NEWUSER) to regain every capability', () => {
      it('the probe works: it escapes from step 08 --privileged: a new user namespace gives a full CapEff', async () => {
        expectEscaped(await probe('08', ['unshare-user'], { flags: ['--privileged'], ...OURS }), 'with --privileged');
      });

      it('is refused by the seccomp filter: unshare fails with EPERM', task('08.3'), async () => {
        expectBlocked(
          await probe(step, ['unshare-user']),
          'BLOCKED unshare CLONE_NEWUSER: EPERM',
          "docker's profile refuses unshare(2) without CAP_SYS_ADMIN",
        );
      });

      it('escapes with seccomp=unconfined alone: the filter is the only layer that stops it', REFERENCE, async () => {
        expectEscaped(
          await probe(step, ['unshare-user'], { flags: ['--security-opt', 'seccomp=unconfined'] }),
          'with the default capabilities and no filter (a user namespace needs no capability)',
        );
      });
    });

    describe("keyctl on the session keyring the runtime's caller holds", () => {
      const description = `ctr-escape-${process.pid}`;
      const secret = `key-secret-${process.pid}`;
      // The runtime runs under a new anonymous session keyring holding one key of the test's own.
      const withKey = (flags: string[]): ProbeRun => ({
        flags,
        via: [bench.probe, 'host-session-key', description, secret, '--'],
      });

      it('the probe works: it escapes from step 06: it reads the key', async () => {
        const outcome = await probe('06', ['keyctl', description], { ...withKey([]), ...OURS });
        expectEscaped(outcome, 'from step 06');
        expect(outcome.line).toContain(secret);
      });

      it('is refused by the seccomp filter: keyctl fails with EPERM', task('08.3'), async () => {
        expectBlocked(
          await probe(step, ['keyctl', description], withKey([])),
          'BLOCKED keyctl search: EPERM',
          "docker's profile refuses keyctl(2), add_key(2) and request_key(2)",
        );
      });

      it.each([[['--security-opt', 'seccomp=unconfined']], [['--privileged']]])(
        'stays refused with %j: the container has a session keyring of its own (ENOKEY)',
        REFERENCE,
        async (flags) => {
          expectBlocked(
            await probe(step, ['keyctl', description], withKey(flags)),
            'BLOCKED keyctl search: ENOKEY',
            "the init joined a new session keyring before the command ran, as runc does: the caller's is not the container's",
          );
        },
      );
    });

    describe('a setuid-root program run by --user 1000', () => {
      // A first container, root inside, makes a setuid-root copy in the bound directory.
      const makeSetuidCopy = async (onStep = step, runOptions: RunOptions = {}): Promise<void> => {
        const result = await run(
          onStep,
          [
            ...netNone(onStep),
            '-v',
            `${bench.bound}:/probe`,
            '/bin/sh',
            '-c',
            'cp /probe/escape-probe /probe/setuid-probe && chown 0:0 /probe/setuid-probe && chmod 4755 /probe/setuid-probe',
          ],
          runOptions,
        );
        expect(result, 'root inside makes a setuid-root copy').toExit(0);
      };
      const runSetuid = (flags: string[], onStep = step, runOptions: RunOptions = {}): Promise<Outcome> =>
        probe(onStep, ['setuid'], { flags, program: 'setuid-probe', ...runOptions });

      it('the probe works: it escapes from step 08 --privileged: the setuid bit gives euid 0', async () => {
        await makeSetuidCopy('08', OURS);
        expectEscaped(await runSetuid(['--privileged', '--user', '1000'], '08', OURS), 'with --privileged');
      });

      it('is refused by no_new_privs: euid stays 1000', task('08.2'), async () => {
        await makeSetuidCopy();
        expectBlocked(
          await runSetuid(['--user', '1000']),
          'BLOCKED execve setuid-root: euid stayed 1000',
          'with no_new_privs set, execve ignores setuid bits and file capabilities',
        );
      });

      it(
        'escapes with no-new-privileges=false alone: no_new_privs is the layer that stops it',
        options(REFERENCE, task('08.2')),
        async () => {
          await makeSetuidCopy();
          expectEscaped(
            await runSetuid(['--security-opt', 'no-new-privileges=false', '--user', '1000']),
            'with no_new_privs off (the filter allows execve)',
          );
        },
      );
    });
  });
}

/** The `name=escape-probe-*` v1 hierarchies the release_agent probe made, destroyed. */
function removeProbeHierarchies(): void {
  const listed = (): string[] =>
    [...readFileSync('/proc/self/cgroup', 'utf8').matchAll(/name=(escape-probe-\d+)/g)].map((m) => m[1] as string);
  for (const name of listed()) {
    const mountpoint = mkdtempSync(join(tmpdir(), 'ctr-escape-cgroup-'));
    try {
      execFileSync('mount', ['-t', 'cgroup', '-o', `none,name=${name}`, 'cgroup', mountpoint], { stdio: 'pipe' });
    } catch (error) {
      rmdirSync(mountpoint);
      if (listed().includes(name)) throw error; // else the kernel was destroying it already
      continue;
    }
    try {
      execFileSync('find', [mountpoint, '-mindepth', '1', '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
    } finally {
      execFileSync('umount', [mountpoint]);
      rmdirSync(mountpoint);
    }
  }
}

/** Runs the probe on the host (make-handle): its one line of output. */
function spawnProbe(binary: string, args: string[]): string {
  return execFileSync(binary, args, { encoding: 'utf8' }).trim();
}
