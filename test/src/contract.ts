/**
 * The CLI contract every step keeps (docs/cli.md): output and exit codes as docker gives them.
 * Each step's suite calls `cliContract('NN')`, so a later step cannot break an earlier promise.
 * Every test here is a contract test: any implementation of docs/cli.md must pass it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type RunningContainer, run, startContainer } from './cli.js';
import { hint } from './hints.js';
import { describeLeftovers, hostState, settledLeftovers } from './host-state.js';
import { waitForDescendant } from './kernel.js';
import { CONTRACT } from './kinds.js';
import { stateOf } from './processes.js';

/** Resolves once `pid` has left execve: it waits in the kernel (state S) as `sleep` does. */
async function execDone(pid: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    if (stateOf(pid) === 'S') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The host pid of the container's `sleep <seconds>` (unique seconds tell tests apart). Fails at
 * once, with the runtime's stderr, if the container ends before the sleep shows up.
 */
export async function sleepIn(container: RunningContainer, seconds: number): Promise<number> {
  const found = waitForDescendant(
    container.runtime.pid as number,
    (cmdline) => /(^|\/)sleep$/.test(cmdline[0] ?? '') && cmdline[1] === String(seconds),
  );
  const ended = container.result.then((result) => {
    throw new Error(
      `the container ended (exit ${result.exitCode}) before "sleep ${seconds}" ran: ${result.stderr.trim()}`,
    );
  });
  return Promise.race([found, ended]);
}

export interface ContractOptions {
  /** From step 07 on, running without root is allowed, not an error. */
  rootless?: boolean;
}

export function cliContract(step: string, { rootless = false }: ContractOptions = {}): void {
  describe(`step ${step}: the CLI contract`, CONTRACT, () => {
    it('runs the command and passes its stdout and stderr through', async () => {
      const result = await run(step, ['/bin/sh', '-c', 'echo hi; echo oops >&2']);
      expect(result).toExit(0, { stdout: 'hi\n' });
      expect(result.stderr, hint("the command's stderr (fd 2) reaches the runtime's stderr")).toContain('oops');
    });

    it("passes none of its caller's open files into the container, only stdin, stdout and stderr", async () => {
      // A shell that ran `exec 200</` before starting the runtime: fd 200 leads to the host's /.
      // In the container (the command, or an init that stays PID 1) it would be a way out
      // through /proc/<pid>/fd/200, the kind of leak runc's CVE-2024-21626 was.
      const leak = ['bash', '-c', 'exec 200</; exec "$@"', 'leak'];
      const probe = 'for p in self 1; do [ -e /proc/$p/fd/200 ] && echo "leaked into $p"; done; echo checked';
      // The probe works where nothing stops it: run through the same wrapper, on the host.
      const host = spawnSync(leak[0] as string, [...leak.slice(1), '/bin/sh', '-c', probe], { encoding: 'utf8' });
      expect(host.stdout, 'the probe sees the fd on the host').toContain('leaked into self');
      const result = await run(step, ['/bin/sh', '-c', probe], { via: leak });
      expect(result).toExit(0, { stdout: 'checked\n' });
    });

    it('runs /bin/sh when no command is given, reading the script from stdin', async () => {
      const result = await run(step, [], { input: 'echo from-stdin\nexit 3\n' });
      expect(result).toExit(3, { stdout: 'from-stdin\n' });
    });

    it('streams stdin to the command in blocking mode: 2 MiB through cat arrive whole', async () => {
      // Written in chunks while cat reads: a non-blocking stdin makes cat fail with EAGAIN.
      const input = Buffer.alloc(2 * 1024 * 1024, 'stdin-bytes\n');
      const result = await run(step, ['cat'], { input });
      expect(result).toExit(0);
      expect(
        result.stdoutBytes.length,
        hint('stdin reaches the command as it is, and in blocking mode (O_NONBLOCK off): cat stops at EAGAIN'),
      ).toBe(input.length);
      expect(result.stdoutBytes.equals(input)).toBe(true);
    });

    it("keeps the command's options for the command: `start ls -l`, as in docker run", async () => {
      const result = await run(step, ['/bin/sh', '-c', 'echo "$1 $2"', 'sh', '-e', '--rootfs']);
      expect(result).toExit(0, { stdout: '-e --rootfs\n' });
    });

    it.each([0, 1, 42])('exits with the code of the command: %i', async (code) => {
      expect(await run(step, ['/bin/sh', '-c', `exit ${code}`])).toExit(code);
    });

    it('exits 127 when the command does not exist, with a one-line reason', async () => {
      const byPath = await run(step, ['/no/such/program']);
      expect(byPath).toExit(127);
      expect(byPath.stderr.trim().split('\n'), hint('the reason is one line on stderr')).toHaveLength(1);
      expect(await run(step, ['no-such-program-in-path'])).toExit(127);
    });

    it('exits 126 when the command exists but cannot be executed', async () => {
      const result = await run(step, ['/etc/passwd']);
      expect(result).toExit(126);
      expect(result.stderr.trim().split('\n'), hint('the reason is one line on stderr')).toHaveLength(1);
    });

    it('exits 128+N when the command is killed by signal N', async () => {
      const container = startContainer(step, ['sleep', '3101']);
      const sleep = await sleepIn(container, 3101);
      process.kill(sleep, 'SIGKILL');
      expect(await container.result).toExit(137);
    });

    it('exits 125 with a one-line error for an unknown flag', async () => {
      expect(await run(step, ['--no-such-flag', '/bin/true'])).toFailCleanly({ naming: ['--no-such-flag'] });
    });

    if (!rootless)
      it('exits 125 with a one-line error when not run as root', async () => {
        const result = await run(step, ['/bin/true'], { uid: 65534, env: { ...process.env, HOME: '/tmp' } });
        expect(result).toFailCleanly({ naming: ['root'] });
      });

    it('hands the command no file descriptors but 0, 1 and 2', async () => {
      const container = startContainer(step, ['sleep', '3102']);
      const sleep = await sleepIn(container, 3102);
      // The new cmdline shows before execve has closed the close-on-exec fds (fs/exec.c:
      // exec_mmap comes before do_close_on_exec): once sleep sleeps (state S), exec is over.
      await execDone(sleep);
      const fds = readdirSync(`/proc/${sleep}/fd`)
        .map(Number)
        .sort((a, b) => a - b);
      process.kill(sleep, 'SIGKILL');
      await container.result;
      const extra = fds.filter((fd) => fd > 2);
      expect(
        fds,
        hint(
          `fd ${extra.join(', ')} reached the command: mark everything above 2 close-on-exec (or close it) before execve (see step 01)`,
        ),
      ).toEqual([0, 1, 2]);
    });

    it('leaves the host as it found it after a run, a killed command, a failed exec and a bad flag', async () => {
      // A first run may set up what a runtime shares between containers (a bridge, a NAT table).
      await run(step, ['/bin/true']);
      const before = hostState();
      await run(step, ['/bin/true']);
      const container = startContainer(step, ['sleep', '3103']);
      process.kill(await sleepIn(container, 3103), 'SIGKILL');
      await container.result;
      await run(step, ['/no/such/program']);
      await run(step, ['--no-such-flag', '/bin/true']);
      const leftovers = await settledLeftovers(before);
      expect(
        describeLeftovers(leftovers),
        hint('every mount, interface, namespace, cgroup, rule and process made for a container goes with it'),
      ).toBe('');
    });
  });
}
