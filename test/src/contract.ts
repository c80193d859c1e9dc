/**
 * The CLI contract every step keeps (docs/cli.md): output and exit codes as docker gives them.
 * Each step's suite calls `cliContract('NN')`, so a later step cannot break an earlier promise.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type RunningContainer, run, startContainer } from './cli.js';
import { waitForDescendant } from './kernel.js';

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

/** `rootless`: from step 07 on, running without root is allowed, not an error. */
export function cliContract(step: string, { rootless = false }: { rootless?: boolean } = {}): void {
  describe(`step ${step}: the CLI contract`, () => {
    it('runs the command and passes its stdout and stderr through', async () => {
      const result = await run(step, ['/bin/sh', '-c', 'echo hi; echo oops >&2']);
      expect(result).toMatchObject({ exitCode: 0, stdout: 'hi\n' });
      expect(result.stderr).toContain('oops');
    });

    it('runs /bin/sh when no command is given, reading the script from stdin', async () => {
      const result = await run(step, [], { input: 'echo from-stdin\nexit 3\n' });
      expect(result).toMatchObject({ exitCode: 3, stdout: 'from-stdin\n' });
    });

    it('streams stdin to the command in blocking mode: 2 MiB through cat arrive whole', async () => {
      // Written in chunks while cat reads: a non-blocking stdin makes cat fail with EAGAIN.
      const input = Buffer.alloc(2 * 1024 * 1024, 'stdin-bytes\n');
      const result = await run(step, ['cat'], { input });
      expect(result.exitCode).toBe(0);
      expect(result.stdoutBytes.equals(input)).toBe(true);
    });

    it("keeps the command's options for the command: `start ls -l`, as in docker run", async () => {
      const result = await run(step, ['/bin/sh', '-c', 'echo "$1 $2"', 'sh', '-e', '--rootfs']);
      expect(result).toMatchObject({ exitCode: 0, stdout: '-e --rootfs\n' });
    });

    it.each([0, 1, 42])('exits with the code of the command: %i', async (code) => {
      expect((await run(step, ['/bin/sh', '-c', `exit ${code}`])).exitCode).toBe(code);
    });

    it('exits 127 when the command does not exist, with a one-line reason', async () => {
      const byPath = await run(step, ['/no/such/program']);
      expect(byPath.exitCode).toBe(127);
      expect(byPath.stderr.trim().split('\n')).toHaveLength(1);
      expect((await run(step, ['no-such-program-in-path'])).exitCode).toBe(127);
    });

    it('exits 126 when the command exists but cannot be executed', async () => {
      const result = await run(step, ['/etc/passwd']);
      expect(result.exitCode).toBe(126);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    });

    it('exits 128+N when the command is killed by signal N', async () => {
      const container = startContainer(step, ['sleep', '3101']);
      const sleep = await sleepIn(container, 3101);
      process.kill(sleep, 'SIGKILL');
      expect((await container.result).exitCode).toBe(137);
    });

    it('exits 125 with a one-line error for an unknown flag', async () => {
      const result = await run(step, ['--no-such-flag', '/bin/true']);
      expect(result.exitCode).toBe(125);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    });

    if (!rootless)
      it('exits 125 with a one-line error when not run as root', async () => {
        const result = await run(step, ['/bin/true'], { uid: 65534, env: { ...process.env, HOME: '/tmp' } });
        expect(result.exitCode).toBe(125);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
        expect(result.stderr).toMatch(/root/);
      });

    it('hands the command no file descriptors but 0, 1 and 2', async () => {
      const container = startContainer(step, ['sleep', '3102']);
      const sleep = await sleepIn(container, 3102);
      const fds = readdirSync(`/proc/${sleep}/fd`).map(Number);
      process.kill(sleep, 'SIGKILL');
      await container.result;
      expect(fds.sort()).toEqual([0, 1, 2]);
    });
  });
}
