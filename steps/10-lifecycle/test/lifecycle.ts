/**
 * What step 10 promises: a container that outlives the command that made it. `run -d` returns
 * with the id while the container runs; ps, inspect, logs, exec, stop, kill and rm act on it by
 * its id (a unique prefix) or its name. Judged by exit statuses, output, `inspect`'s JSON (the
 * fields docs/cli.md names) and the kernel's records: /proc/<pid>/ns and /proc/<pid>/cgroup.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CONTRACT,
  describeLeftovers,
  type HostState,
  hint,
  hostState,
  leftoversSince,
  REFERENCE,
  REPO,
  type RunOptions,
  type RunResult,
  run,
  scaled,
  settledLeftovers,
  startContainer,
  task,
} from '@ctr/testkit';
import { describe, expect, it } from 'vitest';

/** No network: the bridge costs time and is not what this step is about. */
const NET = ['--net', 'none'];
const NAMESPACES = ['user', 'mnt', 'pid', 'net', 'uts', 'ipc', 'cgroup'];

interface Inspected {
  Id: string;
  State: { Status: string; Running: boolean; Pid: number; ExitCode: number | null; MonitorPid?: number };
}

export function lifecycleProperties(step: string): void {
  const ctr = (subcommand: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> =>
    run(step, args, { ...options, subcommand });

  /** `run -d`: the 64-hex id on stdout, exit 0, the container running. */
  async function detached(args: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await ctr('run', ['-d', ...NET, ...args], options);
    expect(result, hint("run -d prints the new container's id and exits 0 while it runs")).toExit(0);
    const id = result.stdout.trim();
    expect(id, 'run -d prints the full id: 64 hex digits, alone on stdout').toMatch(/^[0-9a-f]{64}$/);
    return id;
  }
  async function inspect(ref: string): Promise<Inspected> {
    const result = await ctr('inspect', [ref]);
    expect(result).toExit(0);
    const [first] = JSON.parse(result.stdout) as Inspected[];
    return first as Inspected;
  }
  /** The ids `ps` lists (its first column): docker's 12-digit short ids. */
  async function listed(all = false): Promise<string[]> {
    const result = await ctr('ps', all ? ['-a'] : []);
    expect(result).toExit(0);
    return result.stdout
      .split('\n')
      .slice(1)
      .map((line) => line.split(/\s+/)[0] as string)
      .filter(Boolean);
  }
  async function removeAll(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const result = await ctr('rm', ['-f', ...ids]);
    expect(result, hint('rm -f stops and removes running containers')).toExit(0);
  }
  /** Until `check` holds, for a container that is doing something in the background. */
  async function eventually(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`still not true after ${ms / 1000} s: ${what}`);
      await sleep(100);
    }
  }
  const logsOf = async (ref: string): Promise<string> => (await ctr('logs', [ref])).stdout;

  describe(`step ${step}: containers that outlive the command line`, CONTRACT, () => {
    it(
      'run -d returns while the container runs; ps lists it, rm -f removes it, and nothing is left',
      task('10.1'),
      async () => {
        const before = hostState();
        const id = await detached(['sleep', '3001']);
        const state = await inspect(id);
        expect(state.State.Running, 'inspect: State.Running is true while the command runs').toBe(true);
        expect(
          readFileSync(`/proc/${state.State.Pid}/cmdline`, 'utf8'),
          'inspect: State.Pid is a live process on the host',
        ).not.toBe('');
        expect(
          readlinkSync(`/proc/${state.State.Pid}/ns/pid`),
          "State.Pid is in the container's PID namespace",
        ).not.toBe(readlinkSync('/proc/self/ns/pid'));
        expect(await listed(), 'ps lists a running container by its short id').toContain(id.slice(0, 12));
        await removeAll([id]);
        expect(await listed(true), 'rm removes it from ps -a').not.toContain(id.slice(0, 12));
        const leftovers = await settledLeftovers(before);
        expect(describeLeftovers(leftovers), 'nothing of the container is left after rm -f').toBe('');
      },
    );

    it("run without -d is start: the command's exit status is the CLI's, and no container is kept", async () => {
      const before = await listed(true);
      expect(await ctr('run', [...NET, '/bin/sh', '-c', 'echo in the foreground; exit 3'])).toExit(3, {
        stdout: 'in the foreground\n',
      });
      expect(await listed(true)).toEqual(before);
    });

    it(
      'runs 20 containers at once: ps lists all, a prefix two ids share is refused, rm -f removes all',
      task('10.4'),
      async () => {
        const before = hostState();
        const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => detached(['sleep', String(3100 + i)])));
        try {
          expect(new Set(ids).size, 'every container has its own id').toBe(20);
          const shown = await listed();
          for (const id of ids) expect(shown, `ps lists ${id.slice(0, 12)}`).toContain(id.slice(0, 12));
          // 20 ids, 16 hex digits: two of them start with the same one.
          const digit = [...'0123456789abcdef'].find((d) => ids.filter((id) => id.startsWith(d)).length > 1) as string;
          const ambiguous = await ctr('inspect', [digit]);
          expect(ambiguous, hint('a prefix of several ids is refused, naming it')).toFailCleanly({ naming: [digit] });
        } finally {
          await removeAll(ids);
        }
        expect((await listed(true)).filter((id) => ids.some((full) => full.startsWith(id)))).toEqual([]);
        const leftovers = await settledLeftovers(before);
        expect(describeLeftovers(leftovers), 'nothing of the 20 containers is left after rm -f').toBe('');
      },
    );

    it('exec joins every namespace, the cgroup and the security settings of the container', async () => {
      const probe = "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; cat /proc/self/cgroup";
      const id = await detached(['/bin/sh', '-c', `${probe}; echo ready; exec sleep 3201`]);
      try {
        await eventually(async () => (await logsOf(id)).includes('ready'), 'the container printed ready');
        const own = (await logsOf(id)).replace('ready\n', '');
        const { State } = await inspect(id);
        const script = `for n in ${NAMESPACES.join(' ')}; do readlink /proc/self/ns/$n; done; ${probe}`;
        const result = await ctr('exec', [id, '/bin/sh', '-c', script]);
        expect(result).toExit(0);
        const lines = result.stdout.split('\n');
        const host = NAMESPACES.map((ns) => readlinkSync(`/proc/${State.Pid}/ns/${ns}`));
        expect(lines.slice(0, NAMESPACES.length), 'the namespaces of exec are those of the container').toEqual(host);
        expect(
          lines.slice(NAMESPACES.length).join('\n'),
          "exec's process has the command's capabilities, seccomp, no_new_privs and cgroup",
        ).toBe(own);
      } finally {
        await removeAll([id]);
      }
    });

    it("exec runs no host code under the container's environment: an LD_PRELOAD of the image does nothing on the host", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ctr-preload-'));
      try {
        const marker = join(dir, 'loaded');
        writeFileSync(
          join(dir, 'probe.c'),
          `#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void probe(void) { close(open("${marker}", O_CREAT | O_WRONLY, 0600)); }\n`,
        );
        const compiler = process.env.CC ?? 'cc';
        const built = spawnSync(compiler, ['-shared', '-fPIC', '-o', join(dir, 'probe.so'), join(dir, 'probe.c')], {
          encoding: 'utf8',
        });
        if (built.error || built.status !== 0) {
          throw new Error(`this test builds a shared library with "${compiler}": ${built.stderr ?? built.error}`);
        }
        // The probe works: a dynamically linked host program that gets it loads it.
        spawnSync('/bin/true', { env: { LD_PRELOAD: join(dir, 'probe.so') } });
        expect(existsSync(marker), 'the probe library writes its marker when the host loader preloads it').toBe(true);
        rmSync(marker);
        const id = await detached(['-e', `LD_PRELOAD=${join(dir, 'probe.so')}`, 'sleep', '3302']);
        try {
          expect(await ctr('exec', [id, 'true'])).toExit(0);
          expect(existsSync(marker), "exec's host side ran with the container's LD_PRELOAD: host code as root").toBe(
            false,
          );
        } finally {
          await removeAll([id]);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("exec passes the command's exit status through: 3, 127 not found, 126 not executable", async () => {
      const id = await detached(['sleep', '3301']);
      try {
        expect(await ctr('exec', [id, '/bin/sh', '-c', 'exit 3'])).toExit(3);
        expect(await ctr('exec', [id, 'no-such-command'])).toExit(127);
        expect(await ctr('exec', [id, '/etc/hostname'])).toExit(126);
        expect(await ctr('exec', ['-e', 'GREETING=hi', id, '/bin/sh', '-c', 'echo $GREETING'])).toExit(0, {
          stdout: 'hi\n',
        });
      } finally {
        await removeAll([id]);
      }
    });

    it('logs -f follows the output while the container writes, and ends when it exits', task('10.2'), async () => {
      const script = 'for i in 1 2 3 4 5; do echo line $i; echo err $i >&2; sleep 0.3; done';
      const id = await detached(['/bin/sh', '-c', script]);
      try {
        const follower = await ctr('logs', ['-f', id]);
        expect(follower, hint('logs -f exits 0 once the container has exited')).toExit(0);
        expect(follower.stdout).toBe('line 1\nline 2\nline 3\nline 4\nline 5\n');
        expect(follower.stderr, "what the command wrote to stderr comes on logs' stderr").toBe(
          'err 1\nerr 2\nerr 3\nerr 4\nerr 5\n',
        );
        // The last 4 lines of the log, both streams counted, as docker's --tail.
        expect(await ctr('logs', ['--tail', '4', id])).toExit(0, { stdout: 'line 4\nline 5\n' });
        expect((await inspect(id)).State.ExitCode, 'inspect: the exit code once it exited').toBe(0);
      } finally {
        await removeAll([id]);
      }
    });

    it(
      'stop of a container that ignores SIGTERM waits -t seconds, then SIGKILLs it: 137 recorded',
      task('10.3'),
      async () => {
        const id = await detached(['/bin/sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 1; done']);
        try {
          await eventually(async () => (await logsOf(id)).includes('ready'), 'the container printed ready');
          expect(await ctr('stop', ['-t', '1', id]), hint('stop exits 0 once the container is gone')).toExit(0);
          const { State } = await inspect(id);
          expect(State.Running).toBe(false);
          expect(State.ExitCode, 'killed by SIGKILL: 128 + 9').toBe(137);
          const ps = await ctr('ps', ['-a']);
          expect(ps.stdout, 'ps -a shows it exited, with its status').toMatch(
            new RegExp(`${id.slice(0, 12)}.*Exited \\(137\\)`),
          );
          expect(await listed(), 'ps without -a lists running containers only').not.toContain(id.slice(0, 12));
        } finally {
          await removeAll([id]);
        }
      },
    );

    it("stop without -t waits the --stop-timeout the container was started with, as docker's StopTimeout", async () => {
      const id = await detached([
        '--stop-timeout',
        '1',
        '/bin/sh',
        '-c',
        'trap "" TERM; echo ready; while :; do sleep 1; done',
      ]);
      try {
        await eventually(async () => (await logsOf(id)).includes('ready'), 'the container printed ready');
        // A wait, not a measurement: stop's own default is 10 s, so a stop still waiting after 6 s
        // did not use the container's 1 s.
        const stopped = await ctr('stop', [id], { timeoutMs: scaled(6_000) });
        expect(
          stopped,
          hint('without -t, stop waits the seconds given by run -d --stop-timeout, then SIGKILLs'),
        ).toExit(0);
        expect((await inspect(id)).State.ExitCode, 'killed by SIGKILL: 128 + 9').toBe(137);
      } finally {
        await removeAll([id]);
      }
    });

    it('kill sends the signal given to the command', async () => {
      const id = await detached([
        '/bin/sh',
        '-c',
        'trap "echo got USR1; exit 7" USR1; echo ready; while :; do sleep 0.1; done',
      ]);
      try {
        await eventually(async () => (await logsOf(id)).includes('ready'), 'the container printed ready');
        expect(await ctr('kill', ['-s', 'USR1', id])).toExit(0);
        await eventually(async () => (await inspect(id)).State.Running === false, 'the container exited');
        expect((await inspect(id)).State.ExitCode).toBe(7);
        expect(await logsOf(id)).toContain('got USR1');
      } finally {
        await removeAll([id]);
      }
    });

    it('names: run -d --name, then the name works as the id; a name in use is refused', task('10.4'), async () => {
      const name = `box-${process.pid}`;
      const id = await detached(['--name', name, 'sleep', '3401']);
      try {
        expect((await inspect(name)).Id, 'inspect by name').toBe(id);
        const running = await listed(true);
        const again = await ctr('run', ['-d', ...NET, '--name', name, 'sleep', '3402']);
        expect(again, hint('a name in use is refused, naming it')).toFailCleanly({ naming: [name] });
        expect(await listed(true), 'the refused run made no container').toEqual(running);
        expect((await inspect(id.slice(0, 12))).Id, 'inspect by the short id ps shows').toBe(id);
      } finally {
        await removeAll([id]);
      }
    });

    it('refuses, changing nothing: rm of a running container, an unknown id, exec into one that exited, logs of a removed one', async () => {
      const running = await detached(['sleep', '3501']);
      const exited = await detached(['true']);
      try {
        const refused = await ctr('rm', [running]);
        expect(refused, hint('rm of a running container without -f is refused')).toFailCleanly();
        expect((await inspect(running)).State.Running, 'it still runs').toBe(true);
        expect(await ctr('inspect', ['0000000000ffffff']), hint('an unknown id is refused, naming it')).toFailCleanly({
          naming: ['0000000000ffffff'],
        });
        await eventually(async () => (await inspect(exited)).State.Running === false, 'true exited');
        expect(await ctr('exec', [exited, 'true']), hint('exec into a container that exited')).toFailCleanly();
        await removeAll([exited]);
        expect(await ctr('logs', [exited]), hint('logs of a removed container')).toFailCleanly();
      } finally {
        await removeAll([running]);
      }
    });

    it('a CLI SIGKILLed during run -d leaves either a working container or nothing', async () => {
      const before = hostState();
      const earlier = await listed(true);
      for (const delay of [0, 100, 200, 350, 600]) {
        const cli = startContainer(step, ['-d', ...NET, 'sleep', String(3600 + delay)], { subcommand: 'run' });
        await sleep(delay);
        cli.runtime.kill('SIGKILL');
        await cli.result;
        for (const short of (await listed(true)).filter((short) => !earlier.includes(short))) {
          // What outlived the CLI may still be starting its container: it must get to run.
          await eventually(async () => (await inspect(short)).State.Running, `${short} runs`);
          const exec = await ctr('exec', [short, 'true']);
          expect(exec, `a container left by a CLI killed after ${delay} ms works`).toExit(0);
          await removeAll([short]);
        }
      }
      const leftovers = await settledLeftovers(before);
      expect(describeLeftovers(leftovers), 'nothing is left but what ps shows').toBe('');
    });
  });

  describe(`step ${step}: the monitor (this runtime's design)`, REFERENCE, () => {
    /** SIGKILLs the container's monitor: it shows as dead, and what it made on the host is left. */
    async function killMonitor(id: string, before: HostState): Promise<void> {
      const { State } = await inspect(id);
      process.kill(State.MonitorPid as number, 'SIGKILL');
      await eventually(async () => (await ctr('ps', [])).stdout.includes('Dead'), 'ps shows the container as dead');
      expect(describeLeftovers(leftoversSince(before)), 'a killed monitor leaves the host resources behind').not.toBe(
        '',
      );
    }

    it('a container whose monitor was killed shows as dead, and rm removes everything it left', async () => {
      const before = hostState();
      const id = await detached(['sleep', '3701']);
      await killMonitor(id, before);
      expect(await ctr('rm', [id])).toExit(0);
      const leftovers = await settledLeftovers(before);
      expect(describeLeftovers(leftovers), 'rm of a dead container removes its cgroups, mounts and network').toBe('');
    });

    it('pnpm clean removes a dead container: its record and everything its monitor left', async () => {
      const before = hostState();
      const id = await detached(['sleep', '3702']);
      await killMonitor(id, before);
      execFileSync('pnpm', ['--silent', 'clean'], { cwd: REPO, stdio: 'ignore' });
      expect(await listed(true), 'the record is gone').not.toContain(id.slice(0, 12));
      const leftovers = await settledLeftovers(before);
      expect(describeLeftovers(leftovers), 'pnpm clean removes its cgroups, mounts and network').toBe('');
    });
  });
}
