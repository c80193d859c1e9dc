/**
 * Step 10's figures, through step 10's bundle as every other row: a container that outlives the
 * command line costs a monitor, a Node.js process per container that stays.
 *
 *   latency  in the same rounds: `start --net none /bin/true` (to its exit), `run -d --net none
 *            sleep 600` (to the id printed: the monitor has reported the command running), `exec
 *            <id> /bin/true` into that running container, and `rm -f <id>` of it
 *   memory   PSS (/proc/<pid>/smaps_rollup) of each container's own processes, monitor, nsexec and
 *            init, with one container held, and with many
 *   many     that many `run -d` at once, held, then one `rm -f` of all of them: the time of each,
 *            and nothing of them may be left (records, state, mounts, cgroups, processes)
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  childrenOf,
  comm,
  failureLine,
  firstLine,
  fmtMiB,
  fmtMs,
  kibField,
  log,
  medianMinMax,
  NODE,
  ok,
  run,
  type Step,
  sleep,
} from './common.js';
import type { Samples } from './images.js';
import { hostState } from './scale.js';

/** Held at once in the full run; --quick holds a few (CI's smoke test proves the path, not the scale). */
export const HELD_FULL = 50;
export const HELD_QUICK = 5;
/** Held by each latency round's container: longer than any round, removed at the end of it. */
const HOLD_COMMAND = ['sleep', '600'];
/** Many CLIs at once on two cores, and one `rm -f` that removes them one by one. */
const MANY_TIMEOUT_MS = 300_000;
/** How long the processes of removed containers may take to be gone before they count as left behind. */
const PROCESS_GRACE_MS = 10_000;
/** Where step 10 keeps one record per container (records.ts: STATE_DIR/lifecycle/<id64>). */
const STATE_DIR = process.env.CTR_STATE_DIR || '/run/ctr';
const RECORDS = join(STATE_DIR, 'lifecycle');

export interface ContainerMemory {
  /** monitor, helper (nsexec), init: from the monitor down to the container's PID 1. */
  processes: {
    role: 'monitor' | 'helper' | 'init';
    comm: string;
    pid: number;
    pssKiB: number | null;
    rssKiB: number | null;
  }[];
  pssKiB: number;
}

export interface HeldMemory {
  held: number;
  /** Means over the containers held, KiB. */
  monitorPssKiB: number | null;
  helperPssKiB: number | null;
  initPssKiB: number | null;
  perContainerPssKiB: number | null;
  totalPssKiB: number | null;
  monitorRssKiB: number | null;
  containers: ContainerMemory[];
  failed: string | null;
}

export interface ManyResult {
  containers: number;
  command: string;
  /** All `run -d` spawned at once, until the last printed its id (or failed). */
  startAllMs: number | null;
  started: number;
  running: number;
  startFailures: string[];
  memory: HeldMemory | null;
  /** One `rm -f` with every id. */
  removeAllMs: number | null;
  removeFailed: string | null;
  /** From rm's return until the monitor, nsexec and init of every container had exited (zombies count as exited). */
  processesGoneMs: number | null;
  leftBehind: string[];
  failed: string | null;
}

export interface LifecycleFigures {
  start: Samples;
  runDetached: Samples;
  exec: Samples;
  remove: Samples;
  one: HeldMemory;
  many: ManyResult;
}

interface Captured {
  ms: number;
  stdout: string;
  failed: string | null;
}

function samples(samplesMs: number[], failed: string | null): Samples {
  return { samplesMs, ...medianMinMax(samplesMs), failed };
}

export async function measureLifecycle(
  steps: readonly Step[],
  rootfs: string,
  runs: number,
  quick: boolean,
): Promise<{ figures: LifecycleFigures | null; notes: string[] }> {
  const step = steps.find((s) => s.number === '10');
  if (!step) return { figures: null, notes: [] };
  if (!existsSync(step.bundle)) {
    return { figures: null, notes: [`step 10's figures not measured: no bundle at ${step.bundle}`] };
  }
  const ctr = (args: readonly string[], timeoutMs?: number): Captured => {
    const began = process.hrtime.bigint();
    const result = run([NODE, step.bundle, ...args], step.path, undefined, timeoutMs);
    const ms = Math.round(Number(process.hrtime.bigint() - began) / 1e4) / 100;
    return { ms, stdout: result.stdout ?? '', failed: ok(result) ? null : failureLine(result, timeoutMs) };
  };
  /** Every container this run made and has not removed yet: removed however the run ends. */
  const live = new Set<string>();
  const removeLive = () => {
    if (live.size === 0) return;
    const removed = ctr(['rm', '-f', ...live], MANY_TIMEOUT_MS);
    if (removed.failed) log(`step 10: rm -f of ${live.size} left by the benchmark failed: ${removed.failed}`);
    live.clear();
  };
  try {
    const latency = measureRounds(ctr, live, runs);
    log(
      `step 10: start ${fmtMs(latency.start.medianMs)}, run -d ${fmtMs(latency.runDetached.medianMs)}, ` +
        `exec ${fmtMs(latency.exec.medianMs)}, rm -f ${fmtMs(latency.remove.medianMs)} (medians of ${runs})`,
    );
    const one = await holdOne(ctr, live);
    log(`step 10: one container held: ${describeHeld(one)}`);
    const many = await holdMany(step, rootfs, ctr, live, quick ? HELD_QUICK : HELD_FULL);
    log(
      `step 10: ${many.containers} at once: started in ${fmtMs(many.startAllMs)} (${many.running} running), ` +
        `${many.memory ? describeHeld(many.memory) : 'memory not read'}; rm -f of all in ${fmtMs(many.removeAllMs)}, ` +
        `their processes exited ${fmtMs(many.processesGoneMs)} later; ` +
        `left behind: ${many.leftBehind.length === 0 ? 'nothing' : many.leftBehind.join(', ')}`,
    );
    const notes = [
      `Step 10: the latency rows run in the same rounds, each round on a container of its own: \`start --net none /bin/true\` to its exit; \`run -d --net none ${HOLD_COMMAND.join(' ')}\` until the id is printed (the monitor has reported the command running); \`exec <id> /bin/true\` into that container; \`rm -f <id>\` of it (SIGKILL, the monitor's clean-up, the record removed).`,
      'Step 10: PSS (`Pss:` of `/proc/<pid>/smaps_rollup`, one second after the last container started) divides every shared page among the processes that map it, so the PSS of many containers adds up to what they cost together; the benchmark itself and any other Node.js process on the machine share the `node` binary with them too.',
    ];
    if (quick) {
      notes.push(
        `Step 10: --quick holds ${HELD_QUICK} containers at once instead of ${HELD_FULL} (to keep the smoke test short: on two cores the ${HELD_FULL} take close to 20 s to start, measure and remove).`,
      );
    }
    return { figures: { ...latency, one, many }, notes };
  } catch (error) {
    // A bug here, not a failing runtime (that is a row's "failed"): it costs these figures, not the run.
    return { figures: null, notes: [`Step 10: the measurement itself failed: ${String(error)}`] };
  } finally {
    removeLive();
  }
}

/**
 * One untimed round first, as every latency row has, then `runs` rounds. The first failure of a
 * command ends the rounds: the commands after `run -d` need its container.
 */
function measureRounds(
  ctr: (args: readonly string[], timeoutMs?: number) => Captured,
  live: Set<string>,
  runs: number,
): Pick<LifecycleFigures, 'start' | 'runDetached' | 'exec' | 'remove'> {
  const times = { start: [] as number[], runDetached: [] as number[], exec: [] as number[], remove: [] as number[] };
  const failed: Record<keyof typeof times, string | null> = {
    start: null,
    runDetached: null,
    exec: null,
    remove: null,
  };
  const fail = (what: keyof typeof times, why: string, round: number) => {
    failed[what] = round < 0 ? why : `${why}, in run ${round + 1} of ${runs}`;
  };
  for (let i = -1; i < runs && !Object.values(failed).some(Boolean); i++) {
    const timed = (what: keyof typeof times, outcome: Captured) => {
      if (outcome.failed) fail(what, outcome.failed, i);
      else if (i >= 0) times[what].push(outcome.ms);
      return outcome;
    };
    timed('start', ctr(['start', '--net', 'none', '/bin/true']));
    const started = timed('runDetached', ctr(['run', '-d', '--net', 'none', ...HOLD_COMMAND]));
    if (started.failed) break;
    const id = started.stdout.trim();
    if (!/^[0-9a-f]{64}$/.test(id)) {
      fail('runDetached', `printed "${firstLine(started.stdout)}", not a container id`, i);
      break;
    }
    live.add(id);
    timed('exec', ctr(['exec', id, '/bin/true']));
    if (!timed('remove', ctr(['rm', '-f', id])).failed) live.delete(id);
  }
  return {
    start: samples(times.start, failed.start),
    runDetached: samples(times.runDetached, failed.runDetached),
    exec: samples(times.exec, failed.exec),
    remove: samples(times.remove, failed.remove),
  };
}

async function holdOne(ctr: (args: readonly string[], timeoutMs?: number) => Captured, live: Set<string>) {
  const started = ctr(['run', '-d', '--net', 'none', ...HOLD_COMMAND]);
  const id = started.stdout.trim();
  if (started.failed || !/^[0-9a-f]{64}$/.test(id)) {
    return emptyHeld(1, started.failed ?? `printed "${firstLine(started.stdout)}", not a container id`);
  }
  live.add(id);
  await sleep(1000); // past start-up: the steady state while the container runs
  const memory = readHeld(ctr, [id]);
  if (!ctr(['rm', '-f', id]).failed) live.delete(id);
  return memory;
}

/** `count` × `run -d` spawned at once, held, measured, then one `rm -f` of them all. */
async function holdMany(
  step: Step,
  rootfs: string,
  ctr: (args: readonly string[], timeoutMs?: number) => Captured,
  live: Set<string>,
  count: number,
): Promise<ManyResult> {
  const command = [NODE, step.bundle, 'run', '-d', '--net', 'none', ...HOLD_COMMAND];
  const result: ManyResult = {
    containers: count,
    command: `${count} × node <bundle> run -d --net none ${HOLD_COMMAND.join(' ')}, all at once`,
    startAllMs: null,
    started: 0,
    running: 0,
    startFailures: [],
    memory: null,
    removeAllMs: null,
    removeFailed: null,
    processesGoneMs: null,
    leftBehind: [],
    failed: null,
  };
  const before = new Set([...hostState(rootfs), ...records()]);
  const began = process.hrtime.bigint();
  const outcomes = await Promise.all(Array.from({ length: count }, () => spawnCapturing(command, step.path)));
  result.startAllMs = Number(process.hrtime.bigint() - began) / 1e6;
  const ids: string[] = [];
  for (const outcome of outcomes) {
    const id = outcome.stdout.trim();
    if (outcome.code === 0 && /^[0-9a-f]{64}$/.test(id)) {
      ids.push(id);
      live.add(id);
    } else {
      result.startFailures.push(`${firstLine(outcome.stderr)} (exit ${outcome.code})`);
    }
  }
  result.started = ids.length;
  let pids: number[] = [];
  if (ids.length > 0) {
    await sleep(1000);
    result.memory = readHeld(ctr, ids);
    result.running = result.memory.containers.length;
    pids = result.memory.containers.flatMap((c) => c.processes.map((p) => p.pid));
    const startTimes = new Map(pids.map((pid) => [pid, liveStartTime(pid)]));
    const removed = ctr(['rm', '-f', ...ids], MANY_TIMEOUT_MS);
    result.removeAllMs = removed.ms;
    result.removeFailed = removed.failed;
    if (!removed.failed) for (const id of ids) live.delete(id);
    // rm returns once each monitor has recorded the exit, which it does just before it exits itself.
    // Still there: the same pid with the same start time (a pid may have been given to another since).
    // A zombie has exited and holds no memory: only its parent has yet to reap it, and the parent of a
    // monitor whose CLI has gone is the machine's PID 1 (on the benchmark's VM an agent that reaps late).
    const remaining = () => [...startTimes].filter(([pid, began]) => began !== null && liveStartTime(pid) === began);
    const removedAt = process.hrtime.bigint();
    while (remaining().length > 0 && Number(process.hrtime.bigint() - removedAt) < PROCESS_GRACE_MS * 1e6) {
      await sleep(10);
    }
    result.processesGoneMs = Number(process.hrtime.bigint() - removedAt) / 1e6;
    for (const [pid] of remaining()) result.leftBehind.push(`process ${pid} (${comm(pid)})`);
  }
  const after = [...hostState(rootfs), ...records()];
  const ours = (entry: string) => ids.some((id) => entry.includes(id.slice(0, 12)));
  result.leftBehind.push(...after.filter((entry) => !before.has(entry) && ours(entry)));
  result.failed =
    result.startFailures.length > 0
      ? `${result.startFailures.length} of ${count} failed to start: ${result.startFailures[0]}`
      : result.running < ids.length
        ? `${ids.length - result.running} of ${ids.length} not running once started`
        : result.removeFailed
          ? `rm -f: ${result.removeFailed}`
          : null;
  return result;
}

/** Memory of the containers `ids`, as `inspect` names their processes (its MonitorPid and Pid). */
function readHeld(ctr: (args: readonly string[], timeoutMs?: number) => Captured, ids: readonly string[]): HeldMemory {
  const inspected = ctr(['inspect', ...ids], MANY_TIMEOUT_MS);
  if (inspected.failed) return emptyHeld(ids.length, `inspect: ${inspected.failed}`);
  const states = (JSON.parse(inspected.stdout) as { State: { Running: boolean; Pid: number; MonitorPid: number } }[])
    .map((c) => c.State)
    .filter((s) => s.Running);
  const containers = states.flatMap((s): ContainerMemory[] => {
    const chain = chainTo(s.MonitorPid, s.Pid);
    if (!chain) return [];
    const processes = chain.map((pid, i) => ({
      role: i === 0 ? ('monitor' as const) : i === chain.length - 1 ? ('init' as const) : ('helper' as const),
      comm: comm(pid),
      pid,
      pssKiB: kibField(pid, 'smaps_rollup', 'Pss'),
      rssKiB: kibField(pid, 'status', 'VmRSS'),
    }));
    return [{ processes, pssKiB: processes.reduce((sum, p) => sum + (p.pssKiB ?? 0), 0) }];
  });
  const mean = (values: (number | null)[]) => {
    const known = values.filter((v): v is number => v !== null);
    return known.length === 0 ? null : known.reduce((a, b) => a + b, 0) / known.length;
  };
  const ofRole = (role: string, field: 'pssKiB' | 'rssKiB') =>
    mean(containers.flatMap((c) => c.processes.filter((p) => p.role === role).map((p) => p[field])));
  const total = containers.reduce((sum, c) => sum + c.pssKiB, 0);
  return {
    held: ids.length,
    monitorPssKiB: ofRole('monitor', 'pssKiB'),
    helperPssKiB: ofRole('helper', 'pssKiB'),
    initPssKiB: ofRole('init', 'pssKiB'),
    perContainerPssKiB: containers.length === 0 ? null : total / containers.length,
    totalPssKiB: containers.length === 0 ? null : total,
    monitorRssKiB: ofRole('monitor', 'rssKiB'),
    containers,
    failed:
      containers.length < ids.length
        ? `${ids.length - containers.length} of ${ids.length} containers had no monitor-to-init chain to read`
        : null,
  };
}

function emptyHeld(held: number, failed: string): HeldMemory {
  return {
    held,
    monitorPssKiB: null,
    helperPssKiB: null,
    initPssKiB: null,
    perContainerPssKiB: null,
    totalPssKiB: null,
    monitorRssKiB: null,
    containers: [],
    failed,
  };
}

function describeHeld(m: HeldMemory): string {
  if (m.failed && m.containers.length === 0) return `failed: ${m.failed}`;
  return (
    `PSS monitor ${fmtMiB(m.monitorPssKiB)}, nsexec ${fmtMiB(m.helperPssKiB)}, init ${fmtMiB(m.initPssKiB)}, ` +
    `per container ${fmtMiB(m.perContainerPssKiB)}, all ${fmtMiB(m.totalPssKiB)} (${m.containers.length} read)`
  );
}

/** The processes from `top` down to `bottom`, both included; null when `bottom` is not below `top`. */
function chainTo(top: number, bottom: number): number[] | null {
  if (top === bottom) return [top];
  for (const child of childrenOf(top)) {
    const rest = chainTo(child, bottom);
    if (rest) return [top, ...rest];
  }
  return null;
}

/**
 * Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces) while `pid` has not
 * exited; null for a zombie or a pid that is gone.
 */
function liveStartTime(pid: number): string | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.split(' ') ?? [];
    return fields[0] === 'Z' ? null : (fields[19] ?? null);
  } catch {
    return null;
  }
}

/** Step 10's records and names: what `rm` removes. */
function records(): string[] {
  const list = (dir: string) => {
    try {
      return readdirSync(dir).map((name) => `record ${join(dir, name)}`);
    } catch {
      return [];
    }
  };
  return [...list(RECORDS), ...list(join(STATE_DIR, 'names'))];
}

function spawnCapturing(
  command: readonly string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command[0] as string, command.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), MANY_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: error.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
