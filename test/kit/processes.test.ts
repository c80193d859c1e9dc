/**
 * The test kit against CLIs that misbehave on purpose (fixtures/misbehaving-cli): each gives a
 * failed run with a clear reason, and nothing it started is left running.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, startContainer } from '../src/cli.js';
import { waitForDescendant } from '../src/kernel.js';
import { killStrays } from '../src/processes.js';

const FIXTURE = new URL('./fixtures/misbehaving-cli', import.meta.url).pathname;

/** Processes on the host whose command line is exactly `argv`. */
function running(...argv: string[]): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        return state !== 'Z' && cmdline.join(' ') === argv.join(' ');
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Children of `pid` as its main thread alone records them: what the kit used to read. */
function mainThreadDescendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    try {
      const children = readFileSync(`/proc/${next}/task/${next}/children`, 'utf8').trim().split(/\s+/);
      for (const child of children.filter(Boolean).map(Number)) {
        found.push(child);
        queue.push(child);
      }
    } catch {}
  }
  return found;
}

const misbehaving = (how: string) => ({ env: { ...process.env, MISBEHAVE: how } });

describe('the test kit, grading CLIs that misbehave', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.CTR_CLI;
    process.env.CTR_CLI = FIXTURE;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.CTR_CLI;
    else process.env.CTR_CLI = saved;
  });

  it('finds a process that a multi-threaded CLI forked from a thread other than its main one', async () => {
    const container = startContainer('01', [], misbehaving('threads'));
    const runtime = container.runtime.pid as number;
    const sleepPid = await waitForDescendant(runtime, (argv) => argv.join(' ') === 'sleep 3904');
    // Control: the main thread's children file alone does not list it.
    const seenByMainThread = mainThreadDescendants(runtime);
    process.kill(runtime, 'SIGKILL');
    process.kill(sleepPid, 'SIGKILL');
    await container.result;
    expect(sleepPid).toBeGreaterThan(0);
    expect(seenByMainThread).not.toContain(sleepPid);
  });

  it('stops a CLI that hangs, with what it started, and says so', async () => {
    await expect(run('01', [], { ...misbehaving('hang'), timeoutMs: 1000 })).rejects.toThrow(
      /it ran longer than 1 s: the test kit stopped it and the 1 process\(es\) it ran/,
    );
    await sleep(100);
    expect(running('sleep', '3901')).toEqual([]);
  });

  it('stops a CLI that prints without end', async () => {
    await expect(run('01', [], misbehaving('flood'))).rejects.toThrow(/it printed more than 64 MiB on stdout/);
  });

  it('stops a CLI that forks without end, and every process it forked', async () => {
    await expect(run('01', [], { ...misbehaving('fork-loop'), timeoutMs: 1000 })).rejects.toThrow(
      /ran longer than 1 s/,
    );
    await sleep(200);
    expect(running('sleep', '3902')).toEqual([]);
  });

  it('finds and kills what a CLI left running after it exited', async () => {
    const result = await run('01', [], misbehaving('daemonize'));
    expect(result.exitCode).toBe(0);
    const killed = await killStrays();
    expect(killed.join('\n')).toContain('sleep 3903');
    await sleep(100);
    expect(running('sleep', '3903')).toEqual([]);
  });

  it('says so when the CLI does not exist, or is not executable', async () => {
    process.env.CTR_CLI = '/no/such/ctr';
    await expect(run('01', ['/bin/true'])).rejects.toThrow(
      /cannot start the CLI under test: \/no\/such\/ctr does not exist \(CTR_CLI="\/no\/such\/ctr"\): give the absolute path/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'ctr-kit-'));
    try {
      writeFileSync(join(dir, 'ctr'), '#!/bin/sh\n');
      chmodSync(join(dir, 'ctr'), 0o644);
      process.env.CTR_CLI = join(dir, 'ctr');
      await expect(run('01', ['/bin/true'])).rejects.toThrow(/is not executable .*: chmod \+x it/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
