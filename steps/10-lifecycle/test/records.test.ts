/**
 * The records of step 10 on real files, with real processes racing: names, the flock, lookups by
 * prefix, liveness by pid and start time, the log reader. No container is started here: the
 * lifecycle suite does that; these are the pieces it rests on.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REFERENCE } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Made in beforeAll, not when the file loads: a run that skips every test here (grading with
// CTR_CLI, pnpm check) runs no afterAll either, and left one directory per run in /tmp.
let stateRoot = '';
let records: typeof import('../src/records.js');
let startOfLastLines: typeof import('../src/logs.js')['startOfLastLines'];
let describeStatus: typeof import('../src/ps.js')['describeStatus'];
let humanDuration: typeof import('../src/ps.js')['humanDuration'];
let quoteCommand: typeof import('../src/ps.js')['quoteCommand'];
beforeAll(async () => {
  stateRoot = mkdtempSync(join(tmpdir(), 'ctr-records-'));
  process.env.CTR_STATE_DIR = stateRoot;
  // Imported after CTR_STATE_DIR is set: @ctr/runtime reads it once.
  records = await import('../src/records.js');
  ({ startOfLastLines } = await import('../src/logs.js'));
  ({ describeStatus, humanDuration, quoteCommand } = await import('../src/ps.js'));
});

const STEP_DIR = fileURLToPath(new URL('..', import.meta.url));
const RECORDS_URL = new URL('../src/records.ts', import.meta.url).href;
const LOGS_URL = new URL('../src/logs.ts', import.meta.url).href;

afterAll(() => {
  if (stateRoot) rmSync(stateRoot, { recursive: true, force: true });
});

/** The pid of a process that has exited and been reaped. */
const deadPid = (): number => spawnSync('true').pid as number;

/** An id whose first digits are `prefix`, the rest random. */
const idStartingWith = (prefix: string): string => prefix + records.newContainerId().slice(prefix.length);

function stateOf(id: string, change: Partial<import('../src/records.js').ContainerState> = {}) {
  const self = records.processStartTime(process.pid) as number;
  return {
    id,
    name: null,
    status: 'running' as const,
    pid: process.pid,
    pidStartTime: self,
    monitorPid: process.pid,
    monitorStartTime: self,
    exitCode: null,
    createdAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    finishedAt: null,
    image: null,
    rootfs: '/rootfs',
    command: ['sleep', '100'],
    ...change,
  };
}

/** A record with a state, as the monitor leaves it once the container runs. */
function makeRecord(id: string, name: string | null = null, change = {}): void {
  records.createRecord(id, name);
  records.writeState(stateOf(id, { name, ...change }));
}

/** Runs a TypeScript snippet in a node process of its own, with records.ts as `records`. */
function runScript(name: string, body: string): ChildProcess {
  const script = join(stateRoot, `${name}.mts`);
  writeFileSync(
    script,
    `const records = await import(${JSON.stringify(RECORDS_URL)});\nconst logs = await import(${JSON.stringify(LOGS_URL)});\n${body}\n`,
  );
  return spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: STEP_DIR,
    env: { ...process.env, CTR_STATE_DIR: stateRoot },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (data) => {
    stdout += data;
  });
  child.stderr?.on('data', (data) => {
    stderr += data;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('step 10: container records', REFERENCE, () => {
  it('gives a name to exactly one of several processes that ask for it at once', async () => {
    const racers = Array.from({ length: 6 }, (_, i) =>
      finished(
        runScript(
          `name-racer-${i}`,
          `const id = records.newContainerId();
try { records.createRecord(id, 'web'); process.stdout.write('won ' + id); }
catch (error) { process.stdout.write('lost ' + error.message); }`,
        ),
      ),
    );
    const results = await Promise.all(racers);
    expect(results.map((r) => [r.code, r.stderr])).toEqual(Array(6).fill([0, '']));
    const won = results.filter((r) => r.stdout.startsWith('won ')).map((r) => r.stdout.slice(4));
    expect(won).toHaveLength(1);
    const winner = won[0] as string;
    for (const lost of results.filter((r) => r.stdout.startsWith('lost '))) {
      expect(lost.stdout).toBe(
        `lost the name "web" is already in use by container ${winner.slice(0, 12)}: choose another or remove it with ctr rm web`,
      );
    }
    // The losers left nothing: one record, the winner's, and the name leads to it.
    expect(readdirSync(records.LIFECYCLE_DIR)).toEqual([winner]);
    expect(readlinkSync(join(records.NAMES_DIR, 'web'))).toBe(winner);
    records.removeRecord(winner);
  }, 60_000);

  it('refuses a name docker refuses, before anything is made', () => {
    const id = records.newContainerId();
    for (const bad of ['a', '-web', 'web/1', '.lock', 'wéb', '']) {
      expect(() => records.createRecord(id, bad)).toThrow(/--name .*: a name is \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\+/);
    }
    expect(existsSync(records.recordDir(id))).toBe(false);
  });

  it('loses no update when processes change one state at once (flock)', async () => {
    const id = records.newContainerId();
    makeRecord(id, null, { exitCode: 0 });
    const updaters = Array.from({ length: 6 }, (_, i) =>
      finished(
        runScript(
          `updater-${i}`,
          `for (let i = 0; i < 40; i++) records.updateState(${JSON.stringify(id)}, (state) => { state.exitCode += 1; });`,
        ),
      ),
    );
    expect((await Promise.all(updaters)).map((r) => [r.code, r.stderr])).toEqual(Array(6).fill([0, '']));
    expect(records.readState(id)?.exitCode).toBe(240);
    // Never a temporary file left beside state.json.
    expect(readdirSync(records.recordDir(id)).sort()).toEqual(['creator', 'lock', 'state.json']);
    records.removeRecord(id);
  }, 60_000);

  it('holds the lock until fn returns, and refuses a record removed while it waited', async () => {
    const id = records.newContainerId();
    makeRecord(id);
    const holder = runScript(
      'holder',
      `const { existsSync, writeSync } = await import('node:fs');
records.withLock(${JSON.stringify(id)}, () => {
  writeSync(1, 'locked\\n');
  // Synchronous, as every holder is: the lock is released when fn returns.
  while (!existsSync(${JSON.stringify(join(stateRoot, 'release'))})) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
});`,
    );
    const done = finished(holder);
    await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
    // The holder has it: a non-blocking attempt from here fails, on another open file of `lock`.
    const { flock, LOCK_EX, LOCK_NB } = await import('@ctr/syscalls');
    const fd = openSync(join(records.recordDir(id), 'lock'), 'r');
    expect(flock(fd, LOCK_EX | LOCK_NB)).toBe(false);
    writeFileSync(join(stateRoot, 'release'), '');
    expect((await done).code).toBe(0);
    expect(flock(fd, LOCK_EX | LOCK_NB)).toBe(true);
    closeSync(fd);
    records.removeRecord(id);
    expect(() => records.withLock(id, () => 0)).toThrow(`no such container: ${id.slice(0, 12)}`);
    expect(() => records.updateState(id, () => undefined)).toThrow(/no such container/);
  }, 60_000);

  it('finds a container by name, whole id or a unique prefix, and says when a prefix is ambiguous', () => {
    const first = idStartingWith('abc1');
    const second = idStartingWith('abc2');
    makeRecord(first, 'db');
    makeRecord(second);
    // A name that looks like an id prefix names the container it was given to.
    const named = idStartingWith('f00');
    makeRecord(named, 'abc2');
    expect(records.resolveContainer('db')).toBe(first);
    expect(records.resolveContainer(first)).toBe(first);
    expect(records.resolveContainer('abc1')).toBe(first);
    expect(records.resolveContainer(second.slice(0, 5))).toBe(second);
    expect(records.resolveContainer('abc2')).toBe(named);
    expect(() => records.resolveContainer('abc')).toThrow('"abc" matches 2 containers: give more of the id');
    expect(() => records.resolveContainer('nope')).toThrow('no such container: nope: see ctr ps -a');
    expect(() => records.resolveContainer('ABC1')).toThrow('no such container: ABC1');
    // Being made (no state yet) or being removed (a dot name): not a container to look up.
    const unborn = idStartingWith('abc3');
    records.createRecord(unborn, null);
    expect(() => records.resolveContainer('abc3')).toThrow('no such container');
    mkdirSync(join(records.LIFECYCLE_DIR, `.removing-${idStartingWith('abc4')}-1`));
    expect(() => records.resolveContainer('abc4')).toThrow('no such container');
    expect(() => records.resolveContainer('abc')).toThrow('"abc" matches 2 containers');
    for (const id of [first, second, named, unborn]) records.removeRecord(id);
    rmSync(records.LIFECYCLE_DIR, { recursive: true });
  });

  it('removes a record whole, with its name, once; the name can then be given again', () => {
    const id = records.newContainerId();
    makeRecord(id, 'cache');
    expect(records.removeRecord(id)).toBe(true);
    expect(records.removeRecord(id)).toBe(false);
    expect(existsSync(join(records.NAMES_DIR, 'cache'))).toBe(false);
    expect(readdirSync(records.LIFECYCLE_DIR)).toEqual([]);
    expect(() => records.resolveContainer('cache')).toThrow('no such container: cache');
    const again = records.newContainerId();
    makeRecord(again, 'cache');
    expect(records.resolveContainer('cache')).toBe(again);
    // Another container's name is not touched by a removal.
    const other = records.newContainerId();
    makeRecord(other);
    records.removeRecord(other);
    expect(records.resolveContainer('cache')).toBe(again);
    records.removeRecord(again);
  });

  it('takes over a name whose record is gone, and keeps one whose record exists', () => {
    mkdirSync(records.NAMES_DIR, { recursive: true });
    symlinkSync(records.newContainerId(), join(records.NAMES_DIR, 'orphan'));
    const id = records.newContainerId();
    records.createRecord(id, 'orphan');
    expect(readlinkSync(join(records.NAMES_DIR, 'orphan'))).toBe(id);
    expect(() => records.createRecord(records.newContainerId(), 'orphan')).toThrow(
      `the name "orphan" is already in use by container ${id.slice(0, 12)}`,
    );
    expect(readdirSync(records.LIFECYCLE_DIR)).toEqual([id]);
    records.removeRecord(id);
  });

  it('tells a dead monitor from a live one by pid and start time', () => {
    const self = records.processStartTime(process.pid) as number;
    const running = stateOf(records.newContainerId());
    expect(records.statusOf(running)).toBe('running');
    expect(records.statusOf({ ...running, monitorPid: deadPid() })).toBe('dead');
    // The pid alive, but another process's now: its start time differs.
    expect(records.statusOf({ ...running, monitorStartTime: self - 1 })).toBe('dead');
    expect(records.statusOf({ ...running, status: 'created', monitorPid: deadPid() })).toBe('dead');
    expect(records.statusOf({ ...running, status: 'exited', exitCode: 0, monitorPid: deadPid() })).toBe('exited');
    expect(records.statusOf(null)).toBe('removed');
  });

  it('reads the start time after the last parenthesis, whatever the command is called', async () => {
    const bin = join(stateRoot, 'bin');
    mkdirSync(bin);
    const odd = join(bin, 'a) b c');
    symlinkSync('/bin/sleep', odd);
    const child = spawn(odd, ['100'], { stdio: 'ignore' });
    const pid = child.pid as number;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      expect(stat).toContain('(a) b c) ');
      const expected = Number(stat.slice(stat.indexOf('(a) b c) ') + '(a) b c) '.length).split(' ')[19]);
      expect(records.processStartTime(pid)).toBe(expected);
      expect(records.isSame(pid, expected)).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
    }
    expect(records.processStartTime(pid)).toBeNull();
    expect(records.isSame(pid, 0)).toBe(false);
    rmSync(bin, { recursive: true });
  });

  it('removes a record whose creator died before its state was written, and keeps one being made', () => {
    const abandoned = records.newContainerId();
    const making = records.newContainerId();
    records.createRecord(abandoned, 'ghost');
    records.createRecord(making, null);
    writeFileSync(join(records.recordDir(abandoned), 'creator'), `${deadPid()} 1\n`);
    mkdirSync(join(records.LIFECYCLE_DIR, `.creating-${records.newContainerId()}-${deadPid()}`));
    const live = join(records.LIFECYCLE_DIR, `.removing-${records.newContainerId()}-${process.pid}`);
    mkdirSync(live);
    expect(records.removeAbandonedRecords()).toEqual([abandoned]);
    expect(readdirSync(records.LIFECYCLE_DIR).sort()).toEqual([making, live.split('/').pop()].sort());
    expect(existsSync(join(records.NAMES_DIR, 'ghost'))).toBe(false);
    records.removeRecord(making);
    rmSync(live, { recursive: true });
  });
});

describe('step 10: logs', REFERENCE, () => {
  /** A json-file line as the monitor writes it. */
  const line = (text: string, stream = 'stdout') =>
    `${JSON.stringify({ log: text, stream, time: '2026-11-27T20:17:38.173Z' })}\n`;

  it('finds the last lines of a 1 TiB log by reading from its end', async () => {
    const id = records.newContainerId();
    makeRecord(id, null, { status: 'exited', exitCode: 0 });
    const log = records.logPath(id);
    // A hole of a tebibyte (no disk used): read whole, it would take hours and hold no newline.
    writeFileSync(log, line('first\n'));
    truncateSync(log, 2 ** 40);
    const tail = Array.from({ length: 5 }, (_, i) => line(`line ${i}\n`, i === 3 ? 'stderr' : 'stdout')).join('');
    appendFileSync(log, `\n${tail}{"log":"partial`);
    const fd = openSync(log, 'r');
    const size = 2 ** 40 + 1 + Buffer.byteLength(tail) + '{"log":"partial'.length;
    expect(startOfLastLines(fd, 2)).toBe(size - '{"log":"partial'.length - Buffer.byteLength(line('line 3\n')) * 2);
    expect(startOfLastLines(fd, 0)).toBe(size - '{"log":"partial'.length);
    closeSync(fd);
    const result = await finished(
      runScript('tail', `await logs.logsCommand(${JSON.stringify(id.slice(0, 8))}, { tail: '3' });`),
    );
    expect(result).toEqual({ code: 0, stdout: 'line 2\nline 4\n', stderr: 'line 3\n' });
    records.removeRecord(id);
  }, 60_000);

  it('prints every line of a log, and refuses a --tail that is not a number', async () => {
    const id = records.newContainerId();
    makeRecord(id, null, { status: 'exited', exitCode: 0 });
    writeFileSync(records.logPath(id), `${line('a\n')}${line('b\n', 'stderr')}${line('no newline')}`);
    const all = await finished(runScript('all', `await logs.logsCommand(${JSON.stringify(id)}, { tail: 'all' });`));
    expect(all).toEqual({ code: 0, stdout: 'a\nno newline', stderr: 'b\n' });
    const { parseTail } = await import('../src/logs.js');
    expect(() => parseTail('-1')).toThrow('--tail "-1": give a number of lines, or all');
    expect(parseTail(undefined)).toBeNull();
    expect(parseTail('0')).toBe(0);
    records.removeRecord(id);
  }, 60_000);

  /**
   * A stand-in monitor: appends lines (one of them in two writes, as a reader may find it),
   * then records `exited`, then exits. The follower must print every line and end after it.
   */
  it('follows a log until the container has exited and everything written was printed', async () => {
    const id = records.newContainerId();
    records.createRecord(id, null);
    const log = records.logPath(id);
    const writer = runScript(
      'writer',
      `const { appendFileSync } = await import('node:fs');
const { setTimeout: sleep } = await import('node:timers/promises');
const state = ${JSON.stringify(stateOf(id))};
state.monitorPid = process.pid;
state.monitorStartTime = records.processStartTime(process.pid);
records.writeState(state);
process.stdout.write('ready\\n');
await sleep(300);
for (let i = 0; i < 5; i++) {
  const text = JSON.stringify({ log: 'tick ' + i + '\\n', stream: 'stdout', time: new Date().toISOString() }) + '\\n';
  if (i === 2) { appendFileSync(${JSON.stringify(log)}, text.slice(0, 10)); await sleep(200); appendFileSync(${JSON.stringify(log)}, text.slice(10)); }
  else appendFileSync(${JSON.stringify(log)}, text);
  await sleep(100);
}
records.updateState(${JSON.stringify(id)}, (s) => { s.status = 'exited'; s.exitCode = 0; s.finishedAt = new Date().toISOString(); });`,
    );
    const wrote = finished(writer);
    await new Promise<void>((resolve) => writer.stdout?.once('data', () => resolve()));
    const follower = await finished(
      runScript('follower', `process.exitCode = await logs.logsCommand(${JSON.stringify(id)}, { follow: true });`),
    );
    expect((await wrote).code).toBe(0);
    expect(follower).toEqual({ code: 0, stdout: 'tick 0\ntick 1\ntick 2\ntick 3\ntick 4\n', stderr: '' });
    records.removeRecord(id);
  }, 60_000);

  it('ends a follow with one line when the record is removed under it', async () => {
    const id = records.newContainerId();
    makeRecord(id);
    writeFileSync(records.logPath(id), line('before\n'));
    const follower = runScript(
      'removed',
      `try { await logs.logsCommand(${JSON.stringify(id)}, { follow: true }); }
catch (error) { process.stderr.write('ctr: ' + error.message + '\\n'); process.exitCode = error.exitCode; }`,
    );
    const result = finished(follower);
    await new Promise<void>((resolve) => follower.stdout?.once('data', () => resolve()));
    records.removeRecord(id);
    expect(await result).toEqual({
      code: 125,
      stdout: 'before\n',
      stderr: `ctr: no such container: ${id}: it was removed while its logs were followed\n`,
    });
  }, 60_000);
});

describe('step 10: ps', REFERENCE, () => {
  it("writes docker's durations, statuses and cut commands", () => {
    expect(humanDuration(400)).toBe('Less than a second');
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(59_999)).toBe('59 seconds');
    expect(humanDuration(90_000)).toBe('About a minute');
    expect(humanDuration(45 * 60_000)).toBe('45 minutes');
    expect(humanDuration(3 * 3_600_000)).toBe('3 hours');
    expect(humanDuration(3 * 86_400_000)).toBe('3 days');
    expect(quoteCommand(['sh', '-c', 'while true; do date; sleep 1; done'])).toBe('"sh -c while true; d…"');
    expect(quoteCommand(['echo', '"hi"'])).toBe('"echo \\"hi\\""');
    const state = stateOf(records.newContainerId(), { status: 'exited', exitCode: 137 });
    const now = Date.parse(state.createdAt) + 2500;
    expect(describeStatus({ ...state, finishedAt: state.createdAt }, 'exited', now)).toBe('Exited (137) 2 seconds ago');
    expect(describeStatus(state, 'running', now)).toBe('Up 2 seconds');
    expect(describeStatus(state, 'dead', now)).toBe('Dead (its monitor is gone: ctr rm removes what it left)');
  });
});
