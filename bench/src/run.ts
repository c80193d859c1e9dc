/**
 * `pnpm bench` (as root): what a container costs with each step's runtime, beside runc, crun and
 * the floors under them (the kernel's own `unshare`, and `node -e 0` under any Node.js program).
 *
 *   latency   start-to-exit of `/bin/true`, the whole command timed around spawnSync: median, min, max of N runs
 *   memory    resident set (VmRSS) of the runtime's own processes while the container runs `sleep 5`
 *   scale     20 containers of step 06 at once: all exit 0, wall time, and nothing left behind
 *
 * Nothing here crashes on a failing command: the table says "failed: <its first stderr line>".
 * Results go to bench/results/latest.md and latest.json; the markdown table is also printed.
 *
 *   pnpm bench [--runs N] [--quick]     --quick = 3 runs (CI's smoke test)
 */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultRootfsPath } from '@ctr/rootfs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(REPO, 'bench', 'results');
/** Where the runtime, started through tsx, leaves the esbuild bundle of a step (shared/runtime/src/init-program.ts). */
const BUNDLE_DIR = join(REPO, 'node_modules', '.cache', 'ctr-init');
const NODE = process.execPath;
/** No single run may hang the benchmark. */
const RUN_TIMEOUT_MS = 60_000;
const SCALE_CONTAINERS = 20;
/** crun 1.8 refuses a hybrid cgroup host whose cgroup2 mount has any controller: run it where that mount is gone. */
const HIDE_CGROUP2 = [
  'unshare',
  '--mount',
  '--propagation',
  'private',
  'sh',
  '-c',
  'umount -l /sys/fs/cgroup/unified && exec "$@"',
  'sh',
];

// #region types
interface Timing {
  group: 'reference' | 'step';
  step: string | null;
  entry: string;
  net: string | null;
  command: string;
  runs: number;
  samplesMs: number[];
  medianMs: number | null;
  minMs: number | null;
  maxMs: number | null;
  failed: string | null;
}

interface ProcessMemory {
  role: string;
  pid: number;
  comm: string;
  rssKiB: number | null;
}

interface MemoryRow {
  subject: string;
  entry: string;
  command: string;
  processes: ProcessMemory[];
  totalKiB: number | null;
  failed: string | null;
  note: string | null;
}

interface ScaleResult {
  containers: number;
  command: string;
  wallMs: number;
  exitCodes: number[];
  failures: string[];
  ids: string[];
  leftovers: { ours: string[]; otherNew: string[] };
  failed: string | null;
}

interface Step {
  dir: string;
  number: string;
  path: string;
  hasNet: boolean;
  bundle: string;
}
// #endregion types

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function parseArgs(argv: readonly string[]): { runs: number; quick: boolean } {
  let runs = 20;
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    if (arg === '--quick') {
      quick = true;
      runs = 3;
    } else if (arg === '--runs' || arg.startsWith('--runs=')) {
      const value = arg.includes('=') ? arg.slice('--runs='.length) : argv[++i];
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) usage(`--runs needs a whole number of runs, got "${value}"`);
      runs = n;
    } else if (arg === '--help' || arg === '-h') {
      usage(null);
    } else {
      usage(`unknown option "${arg}"`);
    }
  }
  return { runs, quick };
}

function usage(problem: string | null): never {
  if (problem) process.stderr.write(`bench: ${problem}\n`);
  process.stderr.write('usage: pnpm bench [--runs N] [--quick]   (as root: sudo pnpm bench)\n');
  process.exit(problem ? 2 : 0);
}

// #region measuring
/** The line that says why a command failed: its first stderr line that is not pnpm's own epilogue. */
function failureLine(result: SpawnSyncReturns<string>): string {
  if (result.error)
    return (result.error as NodeJS.ErrnoException).code === 'ETIMEDOUT'
      ? `timed out after ${RUN_TIMEOUT_MS / 1000} s`
      : result.error.message;
  const lines = `${result.stderr ?? ''}\n${result.stdout ?? ''}`
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const at = Math.max(
    0,
    lines.findIndex((l) => !/ELIFECYCLE|ERR_PNPM|^>|^\$/.test(l)),
  );
  // "Build failed with 1 error:" says what only with the line after it.
  const line =
    lines[at]?.endsWith(':') && lines[at + 1] ? `${lines[at]} ${lines[at + 1]}` : (lines[at] ?? '(no output)');
  const status = result.signal ? `killed by ${result.signal}` : `exit ${result.status}`;
  return `${line.slice(0, 200)} (${status})`;
}

function run(command: readonly string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(command[0] as string, command.slice(1), {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
}

function ok(result: SpawnSyncReturns<string>): boolean {
  return !result.error && result.status === 0;
}

/** Variables that change what every Node.js process does as it starts. */
const NODE_START_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'];

interface MeasureSpec {
  group: Timing['group'];
  step?: string;
  entry: string;
  net?: string;
  command: readonly string[];
  /** Shown instead of the command itself (a wrapper, say). */
  shown?: string;
  cwd: string;
  /** Run i's command (i = -1 for the warm-up), when each run needs its own (a container id). */
  commandFor?: (i: number) => readonly string[];
  /** Untimed, after each run (delete the container). */
  after?: (i: number) => void;
  /** Measured instead when the warm-up of this one fails. */
  fallback?: MeasureSpec;
  /** Known to fail before anything runs (a runtime that could not be installed). */
  skipped?: string;
}

function newTiming(spec: MeasureSpec, runs: number): Timing {
  return {
    group: spec.group,
    step: spec.step ?? null,
    entry: spec.entry,
    net: spec.net ?? null,
    command: spec.shown ?? spec.command.join(' '),
    runs,
    samplesMs: [],
    medianMs: null,
    minMs: null,
    maxMs: null,
    failed: spec.skipped ?? null,
  };
}

/** One run, timed from spawn to exit; the reason when it failed. */
function once(spec: MeasureSpec, i: number): { ms: number; failed: string | null } {
  const command = spec.commandFor?.(i) ?? spec.command;
  const start = process.hrtime.bigint();
  const result = run(command, spec.cwd);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  spec.after?.(i);
  return { ms: Math.round(ms * 100) / 100, failed: ok(result) ? null : failureLine(result) };
}

function label(t: Timing): string {
  return [t.step, t.entry, t.net && `--net ${t.net}`].filter(Boolean).join(' ');
}

/**
 * Every command once, untimed (a warm-up, and the check that it works at all), then N rounds that
 * each run every command once. Round after round rather than command after command: when something
 * else on the machine gets busy for a while, every figure pays a little, not one figure a lot.
 * The first failure ends a command's measurement.
 */
function measureAll(specs: readonly MeasureSpec[], runs: number): Timing[] {
  const items: { spec: MeasureSpec; timing: Timing }[] = [];
  const queue = [...specs];
  for (let k = 0; k < queue.length; k++) {
    const spec = queue[k] as MeasureSpec;
    const timing = newTiming(spec, runs);
    items.push({ spec, timing });
    if (timing.failed) {
      log(`${label(timing)}: ${timing.failed}`);
      if (spec.fallback) queue.splice(k + 1, 0, spec.fallback);
      continue;
    }
    const warm = once(spec, -1);
    if (warm.failed) {
      timing.failed = warm.failed;
      log(`${label(timing)}: failed: ${timing.failed}`);
      if (spec.fallback) queue.splice(k + 1, 0, spec.fallback);
    }
  }
  const live = items.filter((item) => !item.timing.failed);
  log(`${live.length} commands warmed up; ${runs} rounds of them`);
  for (let i = 0; i < runs; i++) {
    const began = process.hrtime.bigint();
    for (const { spec, timing } of live) {
      if (timing.failed) continue;
      const result = once(spec, i);
      if (result.failed) timing.failed = `${result.failed}, in run ${i + 1} of ${runs}`;
      else timing.samplesMs.push(result.ms);
    }
    log(`round ${i + 1}/${runs} in ${(Number(process.hrtime.bigint() - began) / 1e9).toFixed(1)} s`);
  }
  for (const { timing } of items) {
    if (timing.failed) continue;
    const sorted = [...timing.samplesMs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    timing.medianMs =
      sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
    timing.minMs = sorted[0] as number;
    timing.maxMs = sorted[sorted.length - 1] as number;
    log(`${label(timing)}: median ${fmtMs(timing.medianMs)} (min ${fmtMs(timing.minMs)}, max ${fmtMs(timing.maxMs)})`);
  }
  return items.map((item) => item.timing);
}
// #endregion measuring

// #region processes
/**
 * Children of every thread of `pid`: /proc/<pid>/task/<tid>/children lists only what that thread
 * forked, and runc (Go) forks from any of its threads.
 */
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

function rssKiB(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** The processes from `root` down to the first one named `target`, both included; null if there is none yet. */
function chainTo(root: number, target: string): number[] | null {
  if (comm(root) === target) return [root];
  for (const child of childrenOf(root)) {
    const rest = chainTo(child, target);
    if (rest) return [root, ...rest];
  }
  return null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Spawned {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function spawnCollecting(command: readonly string[], cwd: string): Spawned {
  const child = spawn(command[0] as string, command.slice(1), { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, stderr: error.message }));
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { pid: child.pid ?? -1, exited };
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !/ELIFECYCLE|ERR_PNPM/.test(l)) ?? '(no output)'
  ).slice(0, 200);
}
// #endregion processes

// #region memory
/**
 * The runtime's processes while `sleep 5` runs in the container: every process from the one we
 * started down to the container's `sleep`, sleep itself left out (it is the workload).
 */
async function memoryProbe(
  subject: string,
  entry: string,
  command: readonly string[],
  cwd: string,
  note: string | null,
): Promise<MemoryRow> {
  const row: MemoryRow = {
    subject,
    entry,
    command: command.join(' '),
    processes: [],
    totalKiB: null,
    failed: null,
    note,
  };
  const started = spawnCollecting(command, cwd);
  let done = false;
  const exited = started.exited.then((status) => {
    done = true;
    return status;
  });
  const deadline = Date.now() + 30_000;
  let chain: number[] | null = null;
  while (!done && Date.now() < deadline) {
    chain = chainTo(started.pid, 'sleep');
    if (chain) break;
    await sleep(25);
  }
  if (chain) {
    await sleep(1000); // past start-up: the steady state while the container runs
    chain = chainTo(started.pid, 'sleep') ?? chain;
    const runtime = chain.slice(0, -1);
    row.processes = runtime.map((pid, i) => {
      const name = comm(pid);
      const role = i === 0 ? 'host runtime' : i === runtime.length - 1 && name === 'node' ? 'init (PID 1)' : 'helper';
      return { role, pid, comm: name, rssKiB: rssKiB(pid) };
    });
    row.totalKiB = row.processes.reduce((sum, p) => sum + (p.rssKiB ?? 0), 0);
  }
  const status = await exited;
  if (status.code !== 0) {
    row.failed = `${firstLine(status.stderr)} (${status.signal ? `killed by ${status.signal}` : `exit ${status.code}`})`;
  } else if (!chain) {
    row.failed = 'the container exited before its sleep was seen';
  }
  log(
    row.failed
      ? `memory ${subject}: failed: ${row.failed}`
      : `memory ${subject}: ${row.processes.map((p) => `${p.role} ${p.comm} ${fmtMiB(p.rssKiB)}`).join(', ')}`,
  );
  return row;
}
// #endregion memory

// #region leftovers
/** What a container could leave on the host: state entries, mounts, cgroup directories. */
function hostState(rootfs: string): string[] {
  const entries: string[] = [];
  const dirs = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => join(dir, entry.name));
    } catch {
      return [];
    }
  };
  entries.push(...dirs('/run/ctr/containers').map((p) => `state ${p}`));
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint && (mountPoint.startsWith('/run/ctr') || mountPoint.startsWith(rootfs)))
      entries.push(`mount ${mountPoint}`);
  }
  // <hierarchy>/ctr/<id>, and <hierarchy>/<a>/<b>/ctr/<id> where the runtime's own cgroup is nested (memory here).
  for (const hierarchy of dirs('/sys/fs/cgroup')) {
    entries.push(...dirs(join(hierarchy, 'ctr')).map((p) => `cgroup ${p}`));
    for (const a of dirs(hierarchy))
      for (const b of dirs(a)) entries.push(...dirs(join(b, 'ctr')).map((p) => `cgroup ${p}`));
  }
  return entries;
}

/** The container id in a process's cgroup path (`.../ctr/<id>`), once the runtime has put it there. */
function containerIdOf(pid: number): string | null {
  try {
    return /\/ctr\/([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}
// #endregion leftovers

// #region scale
async function scale(step: Step, rootfs: string): Promise<ScaleResult> {
  const command = [NODE, step.bundle, 'start', '--net', 'none', 'sleep', '1'];
  const result: ScaleResult = {
    containers: SCALE_CONTAINERS,
    command: `${SCALE_CONTAINERS} × node ${relativeToRepo(step.bundle)} start --net none sleep 1 (from steps/${step.dir})`,
    wallMs: 0,
    exitCodes: [],
    failures: [],
    ids: [],
    leftovers: { ours: [], otherNew: [] },
    failed: null,
  };
  if (!existsSync(step.bundle)) {
    result.failed = `no bundle at ${step.bundle}`;
    return result;
  }
  const before = hostState(rootfs);
  const start = process.hrtime.bigint();
  const runtimes = Array.from({ length: SCALE_CONTAINERS }, () => spawnCollecting(command, step.path));
  let finished = 0;
  const all = Promise.all(
    runtimes.map((r) =>
      r.exited.then((status) => {
        finished++;
        return status;
      }),
    ),
  );
  // Learn each container's id from its init's cgroup while it runs: what is left later is ours for sure.
  const ids = new Map<number, string>();
  while (finished < SCALE_CONTAINERS) {
    for (const r of runtimes) {
      if (ids.has(r.pid)) continue;
      for (const child of childrenOf(r.pid)) {
        const id = containerIdOf(child);
        if (id) ids.set(r.pid, id);
      }
    }
    await sleep(20);
  }
  const statuses = await all;
  result.wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  result.exitCodes = statuses.map((s) => s.code ?? -1);
  result.failures = statuses.filter((s) => s.code !== 0).map((s) => firstLine(s.stderr));
  result.ids = [...ids.values()];
  const after = hostState(rootfs);
  const added = after.filter((entry) => !before.includes(entry));
  result.leftovers.ours = added.filter((entry) => result.ids.some((id) => entry.includes(id)));
  result.leftovers.otherNew = added.filter((entry) => !result.leftovers.ours.includes(entry));
  // Entries of ours that existed before cannot be: ids are fresh. Also catch ours not in `added` (none expected).
  for (const entry of after) {
    if (result.ids.some((id) => entry.includes(id)) && !result.leftovers.ours.includes(entry))
      result.leftovers.ours.push(entry);
  }
  if (result.failures.length > 0)
    result.failed = `${result.failures.length} of ${SCALE_CONTAINERS} failed: ${result.failures[0]}`;
  log(
    `scale: ${SCALE_CONTAINERS} containers in ${fmtMs(result.wallMs)}, exit codes ${[...new Set(result.exitCodes)].join(',')}, ` +
      `${result.ids.length} ids seen, leftovers of ours: ${result.leftovers.ours.length}, other new entries: ${result.leftovers.otherNew.length}`,
  );
  return result;
}
// #endregion scale

// #region runc and crun
interface OciRuntime {
  name: 'runc' | 'crun';
  version: string | null;
  skipped: string | null;
  /** Prefix that makes it run on this host (crun on a hybrid cgroup host), or []. */
  wrapper: string[];
}

function versionOf(tool: string): string | null {
  const result = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return ok(result) ? (result.stdout.split('\n')[0] ?? '').trim() : null;
}

function ensureOciRuntimes(): OciRuntime[] {
  const tools: OciRuntime[] = (['runc', 'crun'] as const).map((name) => ({
    name,
    version: versionOf(name),
    skipped: null,
    wrapper: [],
  }));
  const missing = tools.filter((tool) => tool.version === null);
  if (missing.length > 0) {
    log(`installing ${missing.map((t) => t.name).join(' and ')} with apt-get`);
    const install = spawnSync('apt-get', ['install', '-y', ...missing.map((t) => t.name)], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    for (const tool of missing) {
      tool.version = versionOf(tool.name);
      if (tool.version === null)
        tool.skipped = `not installed and "apt-get install -y ${tool.name}" failed: ${failureLine(install)}`;
    }
  }
  return tools;
}

/** An OCI bundle of the rootfs: runc's default spec (pid, network, ipc, uts, mount namespaces), running /bin/true. */
function ociBundle(rootfs: string, tools: OciRuntime[]): { dir: string; namespaces: string[] } | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-bench-oci-'));
  const maker = tools.find((t) => !t.skipped);
  if (!maker) return { error: 'neither runc nor crun is available' };
  const made = spawnSync(maker.name, ['spec', ...(maker.name === 'runc' ? ['--rootless=false'] : [])], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (!ok(made)) return { error: `${maker.name} spec: ${failureLine(made)}` };
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.root = { path: rootfs, readonly: true };
  config.process.args = ['/bin/true'];
  config.process.terminal = false;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const namespaces = (config.linux?.namespaces ?? []).map((ns: { type: string }) => ns.type);
  return { dir, namespaces };
}

function ociSpec(tool: OciRuntime, bundle: string): MeasureSpec {
  const id = (i: number) => `ctr-bench-${process.pid}-${tool.name}-${i + 1}`;
  const base = (i: number) => [...tool.wrapper, tool.name, 'run', '--bundle', bundle, id(i)];
  return {
    group: 'reference',
    entry: `${tool.version ? `${tool.name} ${tool.version.replace(/^\S+ version /, '')}` : tool.name}${tool.wrapper.length ? ' (in the wrapper below)' : ''}`,
    command: base(0),
    shown: `${tool.name} run --bundle <bundle> <id>`,
    cwd: bundle,
    commandFor: base,
    after: (i) => {
      run([...tool.wrapper, tool.name, 'delete', '--force', id(i)], bundle);
    },
  };
}

function cgroup2Controllers(): string {
  try {
    return readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim();
  } catch {
    return '';
  }
}

/** crun 1.8 on a hybrid host with a controller in cgroup2: retried in a mount namespace without that mount. */
function prepareCrun(tool: OciRuntime, bundle: string): string | null {
  const id = `ctr-bench-${process.pid}-crun-probe`;
  const direct = run([tool.name, 'run', '--bundle', bundle, id], bundle);
  run([tool.name, 'delete', '--force', id], bundle);
  if (ok(direct)) return null;
  const reason = failureLine(direct);
  if (!/hybrid/.test(reason)) return null; // measure() reports the failure as it is
  tool.wrapper = HIDE_CGROUP2;
  const wrapped = run([...tool.wrapper, tool.name, 'run', '--bundle', bundle, id], bundle);
  run([...tool.wrapper, tool.name, 'delete', '--force', id], bundle);
  if (!ok(wrapped)) tool.wrapper = [];
  return `crun refuses this host as it is ("${reason.replace(/ \(exit \d+\)$/, '')}": cgroup v1 hierarchies plus a cgroup2 mount with controllers: ${cgroup2Controllers() || 'none listed'}); it runs in a private mount namespace where \`/sys/fs/cgroup/unified\` is unmounted, so it uses cgroup v1 like runc. The wrapper's own cost is the "crun's wrapper alone" row.`;
}
// #endregion runc and crun

// #region formatting
function fmtMs(ms: number | null): string {
  if (ms === null) return '–';
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

function fmtMiB(kib: number | null): string {
  return kib === null ? '–' : `${(kib / 1024).toFixed(1)} MiB`;
}

function ratio(ms: number | null, reference: number | null): string {
  if (ms === null || reference === null || reference <= 0) return '–';
  const r = ms / reference;
  return `×${r >= 9.95 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(1) : r.toFixed(2)}`;
}

/** Text for a markdown table cell, safe for VitePress too (it reads `<x>` outside code as a Vue tag). */
function cell(text: string): string {
  return prose(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Escapes `<` and `>` outside code spans. */
function prose(text: string): string {
  return text
    .split('`')
    .map((part, i) => (i % 2 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('`');
}

function relativeToRepo(path: string): string {
  return path.startsWith(REPO) ? path.slice(REPO.length) : path;
}

interface Machine {
  date: string;
  kernel: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  pnpm: string | null;
  cgroups: string;
  rootfs: string;
  rootfsDescription: string;
  commit: string | null;
  loadBefore: number[];
  loadAfter: number[];
}

function describeMachine(rootfs: string): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const osRelease = (() => {
    try {
      return /^PRETTY_NAME="?(.*?)"?$/m.exec(readFileSync(join(rootfs, 'etc/os-release'), 'utf8'))?.[1] ?? 'unknown';
    } catch {
      return 'unknown';
    }
  })();
  const git = spawnSync('git', ['-C', REPO, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  const pnpm = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  const cgroups = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? 'v2 (unified)'
    : existsSync('/sys/fs/cgroup/unified')
      ? 'hybrid (v1 controllers + cgroup2 at /sys/fs/cgroup/unified)'
      : 'v1';
  return {
    date: new Date().toISOString(),
    kernel: release(),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    pnpm: ok(pnpm) ? pnpm.stdout.trim() : null,
    cgroups,
    rootfs,
    rootfsDescription: osRelease,
    commit: ok(git) ? git.stdout.trim() : null,
    loadBefore: loadavg().map((l) => Math.round(l * 100) / 100),
    loadAfter: [],
  };
}
// #endregion formatting

// #region report
interface Report {
  machine: Machine;
  options: { runs: number; quick: boolean };
  durationS: number;
  references: { runc: number | null; node: number | null };
  ociNamespaces: string[];
  notes: string[];
  latency: Timing[];
  memory: MemoryRow[];
  scale: ScaleResult | null;
}

function markdown(report: Report): string {
  const { machine: m, references } = report;
  const out: string[] = [];
  out.push(
    `Measured ${m.date.slice(0, 16).replace('T', ' ')} UTC on Linux ${m.kernel}, ${m.cpu} (${m.cores} cores), ${m.memoryGiB} GiB, ` +
      `Node.js ${m.node}, cgroups ${m.cgroups}; rootfs: ${m.rootfsDescription}; commit ${m.commit ?? 'unknown'}. ` +
      `${report.options.runs} runs per figure${report.options.quick ? ' (--quick)' : ''}; the whole run took ${report.durationS.toFixed(0)} s; ` +
      `load average ${m.loadBefore[0]} before, ${m.loadAfter[0]} after.`,
    '',
  );
  out.push(
    '**Start to exit of `/bin/true`** (the whole command, timed from outside: median, min and max; after an untimed warm-up, every command runs once per round, round after round, so that a busy spell on the machine spreads over all figures)',
    '',
  );
  out.push('| Step | Entry point | Network | Median | Min | Max | vs runc | vs `node -e 0` |');
  out.push('| --- | --- | --- | --: | --: | --: | --: | --: |');
  for (const t of report.latency) {
    const what = t.group === 'reference' ? '–' : t.step;
    const entry = t.group === 'reference' ? `${t.entry}: \`${t.command}\`` : t.entry;
    const net = t.net ?? '–';
    if (t.failed) {
      out.push(`| ${what} | ${cell(entry)} | ${net} | failed: ${cell(t.failed)} | – | – | – | – |`);
    } else {
      out.push(
        `| ${what} | ${cell(entry)} | ${net} | ${fmtMs(t.medianMs)} | ${fmtMs(t.minMs)} | ${fmtMs(t.maxMs)} | ${ratio(t.medianMs, references.runc)} | ${ratio(t.medianMs, references.node)} |`,
      );
    }
  }
  out.push('');
  out.push(
    '**Resident memory while the container runs `sleep 5`** (VmRSS from `/proc/<pid>/status`, one second after `sleep` started; `sleep` itself not counted)',
    '',
  );
  out.push('| Runtime | Entry point | Host-side runtime | Helper | Init (PID 1) | Total |');
  out.push('| --- | --- | --: | --: | --: | --: |');
  for (const row of report.memory) {
    if (row.failed) {
      out.push(`| ${row.subject} | ${cell(row.entry)} | failed: ${cell(row.failed)} | – | – | – |`);
      continue;
    }
    const by = (role: string) =>
      row.processes
        .filter((p) => p.role === role)
        .map((p) => `${fmtMiB(p.rssKiB)} (${p.comm})`)
        .join(', ') || '–';
    out.push(
      `| ${row.subject} | ${cell(row.entry)} | ${by('host runtime')} | ${by('helper')} | ${by('init (PID 1)')} | ${fmtMiB(row.totalKiB)} |`,
    );
  }
  out.push('');
  const s = report.scale;
  if (s) {
    out.push(
      `**Scale: ${s.containers} containers of step 06 at once** (\`--net none sleep 1\`, bundle entry point)`,
      '',
    );
    out.push('| Containers | All exited 0 | Wall time | Left behind by them |');
    out.push('| --: | --- | --: | --- |');
    const exited0 = s.exitCodes.filter((c) => c === 0).length;
    const allOk = s.failed ? `no: ${cell(s.failed)}` : `yes (${exited0}/${s.containers})`;
    const left = s.leftovers.ours.length === 0 ? 'nothing' : cell(s.leftovers.ours.join(', '));
    out.push(`| ${s.containers} | ${allOk} | ${fmtMs(s.wallMs)} | ${left} |`);
    out.push('');
  }
  if (report.notes.length > 0) {
    out.push('Notes:', '');
    for (const note of report.notes) out.push(`- ${prose(note)}`);
    out.push('');
  }
  return out.join('\n');
}
// #endregion report

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const began = process.hrtime.bigint();
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: containers need root (namespaces, mounts, cgroups): run "sudo pnpm bench"\n');
    process.exit(1);
  }
  const rootfs = defaultRootfsPath();
  const machine = describeMachine(rootfs);
  const notes: string[] = [];
  const { runs } = options;
  log(`${runs} runs per figure; rootfs ${rootfs}`);

  // #region latency
  const startVariables = NODE_START_VARIABLES.filter((name) => process.env[name]);
  const plan: MeasureSpec[] = [
    { group: 'reference', entry: 'Node.js floor', command: [NODE, '-e', '0'], shown: 'node -e 0', cwd: REPO },
    ...(startVariables.length > 0
      ? [
          {
            group: 'reference' as const,
            entry: 'Node.js floor, empty environment',
            command: ['env', '-i', NODE, '-e', '0'],
            shown: 'env -i node -e 0',
            cwd: REPO,
          },
        ]
      : []),
    {
      group: 'reference',
      entry: 'tsx floor',
      command: [NODE, '--import', 'tsx', '-e', '0'],
      shown: 'node --import tsx -e 0',
      cwd: join(REPO, 'steps', '01-pid-namespace'),
    },
    {
      group: 'reference',
      entry: 'pnpm floor',
      command: ['pnpm', '--filter', '01', 'exec', 'node', '-e', '0'],
      shown: 'pnpm --filter 01 exec node -e 0',
      cwd: REPO,
    },
    {
      group: 'reference',
      entry: 'kernel floor',
      command: ['unshare', '--fork', '--pid', '--mount', '--uts', '--ipc', '--net', '--mount-proc', '/bin/true'],
      cwd: REPO,
    },
  ];

  const tools = ensureOciRuntimes();
  const bundle = ociBundle(rootfs, tools);
  let ociNamespaces: string[] = [];
  if ('error' in bundle) {
    for (const tool of tools) tool.skipped ??= `no OCI bundle: ${bundle.error}`;
  } else {
    ociNamespaces = bundle.namespaces;
  }
  for (const tool of tools) {
    if (tool.skipped || 'error' in bundle) {
      plan.push({
        group: 'reference',
        entry: tool.name,
        command: [],
        shown: `${tool.name} run`,
        cwd: REPO,
        skipped: `skipped: ${tool.skipped}`,
      });
      continue;
    }
    if (tool.name === 'crun') {
      const note = prepareCrun(tool, bundle.dir);
      if (note) notes.push(note);
    }
    plan.push(ociSpec(tool, bundle.dir));
    if (tool.wrapper.length > 0) {
      plan.push({
        group: 'reference',
        entry: `${tool.name}'s wrapper alone`,
        command: [...tool.wrapper, '/bin/true'],
        shown: `${tool.wrapper.slice(0, 6).join(' ')} 'umount -l /sys/fs/cgroup/unified && exec …'`,
        cwd: REPO,
      });
    }
  }
  if (ociNamespaces.length > 0) {
    notes.push(
      `runc and crun run runc's default spec (\`runc spec --rootless=false\`): namespaces ${ociNamespaces.join(', ')} (so a network namespace with only lo, comparable with --net none), readonly rootfs, /bin/true, no terminal; each run has its own container id and is deleted (untimed) afterwards.`,
    );
  }

  const steps: Step[] = readdirSync(join(REPO, 'steps'))
    .filter((dir) => /^\d\d-/.test(dir))
    .sort()
    .map((dir) => {
      const number = dir.slice(0, 2);
      return {
        dir,
        number,
        path: join(REPO, 'steps', dir),
        hasNet: Number(number) >= 5,
        bundle: join(BUNDLE_DIR, `${dir}.cjs`),
      };
    });
  const warmups: Record<string, { ms: number; failed: string | null }> = {};
  for (const step of steps) {
    const none = step.hasNet ? ['--net', 'none'] : [];
    // The tsx path once: it (re)builds the step's bundle when a source file changed.
    const start = process.hrtime.bigint();
    const warm = run([NODE, '--import', 'tsx', 'src/main.ts', 'start', ...none, '/bin/true'], step.path);
    warmups[step.number] = {
      ms: Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100,
      failed: ok(warm) ? null : failureLine(warm),
    };
    log(`${step.number}: tsx run to freshen the bundle: ${warmups[step.number]?.failed ?? 'ok'}`);
    for (const net of step.hasNet ? ['none', 'bridge'] : [null]) {
      const netArgs = net ? ['--net', net] : [];
      const common = { group: 'step', step: step.number, net: net ?? undefined, cwd: step.path } as const;
      plan.push({
        ...common,
        entry: 'bundle',
        command: [NODE, step.bundle, 'start', ...netArgs, '/bin/true'],
        ...(existsSync(step.bundle)
          ? {}
          : {
              skipped: `no bundle at ${relativeToRepo(step.bundle)} after the tsx run: ${warmups[step.number]?.failed ?? 'it made none'}`,
            }),
        // The bundle is no entry point for this step: time its tsx path instead, so the row has a number.
        fallback: {
          ...common,
          entry: 'tsx, no pnpm (the bundle failed)',
          command: [NODE, '--import', 'tsx', 'src/main.ts', 'start', ...netArgs, '/bin/true'],
        },
      });
    }
    plan.push({
      group: 'step',
      step: step.number,
      entry: 'student (pnpm)',
      net: step.hasNet ? 'none' : undefined,
      command: ['pnpm', '--filter', step.number, 'start', '--', ...none, '/bin/true'],
      cwd: REPO,
    });
  }
  const latency = measureAll(plan, runs);
  const runcMs = latency.find((t) => t.entry.startsWith('runc') && t.medianMs !== null)?.medianMs ?? null;
  const nodeMs = latency.find((t) => t.entry === 'Node.js floor')?.medianMs ?? null;
  const bundleFailed = new Set(latency.filter((t) => t.entry === 'bundle' && t.failed).map((t) => t.step as string));
  if (bundleFailed.size > 0) {
    notes.push(
      `The bundle failed as a host entry point for step ${[...bundleFailed].join(', ')}; the row below it times \`node --import tsx src/main.ts\` (no pnpm) instead.`,
    );
  }
  if (startVariables.length > 0) {
    notes.push(
      `This environment sets ${startVariables.map((name) => `\`${name}\``).join(' and ')}, which every Node.js start acts on (\`NODE_EXTRA_CA_CERTS\` makes it read and parse a certificate bundle): \`node -e 0\`, the host side of each runtime and the student path pay for it; the container's init does not, since the runtime starts it with an empty environment. The "empty environment" row is the floor without it.`,
    );
  }
  notes.push(
    "Entry points: **bundle** is `node node_modules/.cache/ctr-init/<step-dir>.cjs start [--net none|bridge] /bin/true` run in the step's directory: the esbuild bundle of the step that the runtime makes of itself when started through tsx (one tsx run first makes sure it is fresh); **student** is `pnpm --filter NN start -- [--net none] /bin/true` from the top of the repository (pnpm, then `node --import tsx src/main.ts`); **tsx, no pnpm** is `node --import tsx src/main.ts start ...` in the step's directory.",
  );
  notes.push(
    'From step 05 on, the student path passes `--net none` (the default is bridge) so that it compares with the bundle row; `--net bridge` adds a veth pair, an address lease and the NAT rules, and their removal.',
  );
  // #endregion latency

  // #region memory
  log('memory: every runtime with sleep 5, all at once');
  const probes: Promise<MemoryRow>[] = [];
  for (const step of steps) {
    const none = step.hasNet ? ['--net', 'none'] : [];
    const useBundle = existsSync(step.bundle) && !bundleFailed.has(step.number);
    const command = useBundle
      ? [NODE, step.bundle, 'start', ...none, 'sleep', '5']
      : [NODE, '--import', 'tsx', 'src/main.ts', 'start', ...none, 'sleep', '5'];
    const note = Number(step.number) < 6 ? 'the init execs the command: PID 1 is sleep' : null;
    probes.push(
      memoryProbe(
        `step ${step.number}`,
        useBundle ? 'bundle' : 'tsx, no pnpm (the bundle failed)',
        command,
        step.path,
        note,
      ),
    );
  }
  const memoryBundle = 'error' in bundle ? null : mkdtempSync(join(tmpdir(), 'ctr-bench-oci-sleep-'));
  if (memoryBundle && !('error' in bundle)) {
    const config = JSON.parse(readFileSync(join(bundle.dir, 'config.json'), 'utf8'));
    config.process.args = ['sleep', '5'];
    writeFileSync(join(memoryBundle, 'config.json'), JSON.stringify(config, null, 2));
    for (const tool of tools) {
      if (tool.skipped) continue;
      const id = `ctr-bench-${process.pid}-${tool.name}-sleep`;
      probes.push(
        memoryProbe(
          tool.name,
          tool.version?.replace(/^\S+ version /, '') ?? tool.name,
          [...tool.wrapper, tool.name, 'run', '--bundle', memoryBundle, id],
          memoryBundle,
          null,
        ).then((row) => {
          run([...tool.wrapper, tool.name, 'delete', '--force', id], memoryBundle);
          return row;
        }),
      );
    }
  }
  // A probe that throws (a bug here, not a failing runtime) costs its row, not the run.
  const settled = await Promise.allSettled(probes);
  const memory = settled.map(
    (result, i): MemoryRow =>
      result.status === 'fulfilled'
        ? result.value
        : {
            subject: `probe ${i + 1}`,
            entry: '–',
            command: '',
            processes: [],
            totalKiB: null,
            failed: `the probe itself failed: ${String(result.reason)}`,
            note: null,
          },
  );
  notes.push(
    'Memory: the probes run at the same time; steps 01-05 have no init of their own once the command runs (their init execs it, so PID 1 is `sleep`); from step 06 PID 1 is the TypeScript init (node), and in step 07 the nsexec helper sits between host and init. runc and crun stay as one process beside the container.',
  );
  // #endregion memory

  // #region scale
  const step06 = steps.find((s) => s.number === '06');
  let scaleResult: ScaleResult | null = null;
  if (step06) {
    log(`scale: ${SCALE_CONTAINERS} containers of step 06 at once`);
    try {
      scaleResult = await scale(step06, rootfs);
    } catch (error) {
      notes.push(`Scale: the test itself failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (scaleResult) {
    if (scaleResult.leftovers.otherNew.length > 0) {
      notes.push(
        `Scale: ${scaleResult.leftovers.otherNew.length} new host entries appeared meanwhile that are not these containers' (other users of this host): ${scaleResult.leftovers.otherNew.slice(0, 5).join(', ')}${scaleResult.leftovers.otherNew.length > 5 ? ', …' : ''}.`,
      );
    }
    notes.push(
      `Scale: left-behind checks compare \`/run/ctr/containers/*\`, mounts under \`/run/ctr\` or the rootfs, and cgroup dirs under \`/sys/fs/cgroup/*/ctr\` and \`/sys/fs/cgroup/*/*/*/ctr\` before and after; the ${scaleResult.ids.length} container ids read from the inits' \`/proc/<pid>/cgroup\` tell these containers' entries from others'.`,
    );
  }
  // #endregion scale

  for (const dir of ['error' in bundle ? null : bundle.dir, memoryBundle])
    if (dir) rmSync(dir, { recursive: true, force: true });
  machine.loadAfter = loadavg().map((l) => Math.round(l * 100) / 100);
  const report: Report = {
    machine,
    options,
    durationS: Math.round(Number(process.hrtime.bigint() - began) / 1e7) / 100,
    references: { runc: runcMs, node: nodeMs },
    ociNamespaces,
    notes,
    latency,
    memory,
    scale: scaleResult,
  };
  const table = markdown(report);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.md'), `${table}\n`);
  const json = join(RESULTS, 'latest.json');
  writeFileSync(json, `${JSON.stringify({ ...report, warmupsTsxMs: warmups }, null, 2)}\n`);
  // Formatted as `pnpm lint` wants it, so that a committed result passes the check.
  const formatted = run([join(REPO, 'node_modules', '.bin', 'biome'), 'format', '--write', json], REPO);
  if (!ok(formatted)) log(`latest.json left as JSON.stringify wrote it: biome format: ${failureLine(formatted)}`);
  process.stdout.write(`${table}\n`);
  log(`wrote bench/results/latest.md and latest.json in ${report.durationS.toFixed(0)} s`);
}

await main();
