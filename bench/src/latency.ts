/** Start to exit of `/bin/true`: every step's runtime, the floors under it, and whatever else the caller adds (runc, crun). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fmtMs, log, medianMinMax, NODE, type Outcome, REPO, relativeToRepo, type Step, timedRun } from './common.js';
import { type Comparison, compareRows, type OtherTree } from './compare.js';

export interface Timing {
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

export interface MeasureSpec {
  group: Timing['group'];
  step?: string;
  entry: string;
  net?: string;
  command: readonly string[];
  /** Shown instead of the command itself (a wrapper, say). */
  shown?: string;
  cwd: string;
  /** Added to the environment of every run. */
  env?: Record<string, string>;
  /** Run i's command (i = -1 for the warm-up), when each run needs its own (a container id). */
  commandFor?: (i: number) => readonly string[];
  /** Untimed, after each run (delete the container). */
  after?: (i: number) => void;
  /** Measured instead when the warm-up of this one fails. */
  fallback?: MeasureSpec;
  /** Known to fail before anything runs (a runtime that could not be installed). */
  skipped?: string;
}

export interface Latency {
  timings: Timing[];
  /** The medians every figure is compared with. */
  references: { runc: number | null; node: number | null };
  /** Steps whose bundle failed as an entry point (their tsx path was timed instead). */
  bundleFailed: Set<string>;
  /** The tsx run of each step that freshened its bundle, by step number. */
  warmups: Record<string, Outcome>;
  /** With `--compare`: the other commit's rows, measured in the same rounds. */
  comparison: Comparison | null;
  notes: string[];
}

/** Variables that change what every Node.js process does as it starts. */
const NODE_START_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'];

/** The step whose bundle is also timed with the trace on. */
const TRACED_STEP = '06';
export const TRACE_ENTRY = 'bundle, `CTR_TRACE=/dev/null`';

/**
 * The step whose bundle is also timed without its filter and without any of its confinement:
 * what the seccomp filter (built by libseccomp in the init) and the capability drop cost.
 */
const CONFINED_STEP = '08';
const CONFINEMENT_VARIANTS: readonly (readonly [string, readonly string[]])[] = [
  ['bundle, `--security-opt seccomp=unconfined`', ['--security-opt', 'seccomp=unconfined']],
  ['bundle, `--privileged`', ['--privileged']],
];

/**
 * The floors first, then `runtimes` (runc and crun), then every step; with `other` (--compare),
 * each step's compared row of the other commit right after this checkout's, so that the two run
 * back to back in every round.
 */
export function measureLatency(
  steps: readonly Step[],
  runtimes: readonly MeasureSpec[],
  runs: number,
  other: OtherTree | null,
): Latency {
  const startVariables = NODE_START_VARIABLES.filter((name) => process.env[name]);
  const plan: MeasureSpec[] = [...floors(startVariables.length > 0), ...runtimes];
  const warmups: Record<string, Outcome> = {};
  const otherWarmups: Record<string, Outcome> = {};
  const otherSpecs = new Set<MeasureSpec>();
  /** The other commit's compared row of step `number`, when it has that step. */
  const otherRow = (number: string): MeasureSpec[] => {
    const step = other?.steps.find((s) => s.number === number);
    if (!other || !step) return [];
    const warmup = freshenBundle(step, other);
    otherWarmups[number] = warmup;
    const spec = { ...bundleSpec(step, comparedNet(step), warmup, other.env), entry: `bundle at ${other.ref}` };
    otherSpecs.add(spec);
    return [spec];
  };
  for (const step of steps) {
    const warmup = freshenBundle(step, null);
    warmups[step.number] = warmup;
    const specs = stepSpecs(step, warmup);
    plan.push(...specs.slice(0, 1), ...otherRow(step.number));
    if (step.number === TRACED_STEP) {
      // Every call rendered and written (to /dev/null: the cost of the trace, not of a disk).
      const traced = bundleSpec(step, comparedNet(step), warmup, { CTR_TRACE: '/dev/null' });
      plan.push({ ...traced, entry: TRACE_ENTRY, shown: `CTR_TRACE=/dev/null ${traced.command.join(' ')}` });
    }
    if (step.number === CONFINED_STEP) {
      for (const [entry, flags] of CONFINEMENT_VARIANTS) {
        const spec = bundleSpec(step, comparedNet(step), warmup);
        const command = [...spec.command.slice(0, -1), ...flags, '/bin/true'];
        plan.push({ ...spec, entry, command, shown: command.join(' ') });
      }
    }
    plan.push(...specs.slice(1));
  }
  // Steps only the other commit has: compared with nothing, still measured.
  for (const step of other?.steps ?? []) {
    if (!steps.some((s) => s.number === step.number)) plan.push(...otherRow(step.number));
  }
  const measured = measureAll(plan, runs);
  const timings = measured.filter(({ spec }) => !otherSpecs.has(spec)).map(({ timing }) => timing);
  const otherTimings = measured.filter(({ spec }) => otherSpecs.has(spec)).map(({ timing }) => timing);
  const runcMs = timings.find((t) => t.entry.startsWith('runc') && t.medianMs !== null)?.medianMs ?? null;
  const nodeMs = timings.find((t) => t.entry === 'Node.js floor')?.medianMs ?? null;
  const bundleFailed = new Set(timings.filter((t) => t.entry === 'bundle' && t.failed).map((t) => t.step as string));
  const notes: string[] = [];
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
  const comparison: Comparison | null = other && {
    ref: other.ref,
    commit: other.commit,
    rows: compareRows(timings, otherTimings, other.ref),
    timings: otherTimings,
    warmupsTsxMs: otherWarmups,
  };
  return { timings, references: { runc: runcMs, node: nodeMs }, bundleFailed, warmups, comparison, notes };
}

/** The floors under every runtime; with `emptyEnvironment`, `node -e 0` also without the start variables. */
function floors(emptyEnvironment: boolean): MeasureSpec[] {
  return [
    { group: 'reference', entry: 'Node.js floor', command: [NODE, '-e', '0'], shown: 'node -e 0', cwd: REPO },
    ...(emptyEnvironment
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
}

/** The network of the row --compare compares (and the trace row): `--net none` where the step has networking. */
function comparedNet(step: Step): string | null {
  return step.hasNet ? 'none' : null;
}

/** The tsx path once, in this checkout or `other`'s: it (re)builds the step's bundle when a source file changed. */
function freshenBundle(step: Step, other: OtherTree | null): Outcome {
  const net = comparedNet(step);
  const warmup = timedRun(
    [NODE, '--import', 'tsx', 'src/main.ts', 'start', ...(net ? ['--net', net] : []), '/bin/true'],
    step.path,
    other?.env,
  );
  log(`${other ? `${other.ref} ` : ''}${step.number}: tsx run to freshen the bundle: ${warmup.failed ?? 'ok'}`);
  return warmup;
}

/** The step's bundle as the entry point, run in the step's directory. */
function bundleSpec(step: Step, net: string | null, warmup: Outcome, env?: Record<string, string>): MeasureSpec {
  return {
    group: 'step',
    step: step.number,
    entry: 'bundle',
    net: net ?? undefined,
    command: [NODE, step.bundle, 'start', ...(net ? ['--net', net] : []), '/bin/true'],
    cwd: step.path,
    ...(env ? { env } : {}),
    ...(existsSync(step.bundle)
      ? {}
      : {
          skipped: `no bundle at ${relativeToRepo(step.bundle)} after the tsx run: ${warmup.failed ?? 'it made none'}`,
        }),
  };
}

/** A step's rows: its bundle (per network mode, the compared one first), then the student's pnpm path. */
function stepSpecs(step: Step, warmup: Outcome): MeasureSpec[] {
  const specs: MeasureSpec[] = [];
  for (const net of step.hasNet ? ['none', 'bridge'] : [null]) {
    const netArgs = net ? ['--net', net] : [];
    specs.push({
      ...bundleSpec(step, net, warmup),
      // The bundle is no entry point for this step: time its tsx path instead, so the row has a number.
      fallback: {
        group: 'step',
        step: step.number,
        net: net ?? undefined,
        cwd: step.path,
        entry: 'tsx, no pnpm (the bundle failed)',
        command: [NODE, '--import', 'tsx', 'src/main.ts', 'start', ...netArgs, '/bin/true'],
      },
    });
  }
  const none = comparedNet(step) ? ['--net', 'none'] : [];
  specs.push({
    group: 'step',
    step: step.number,
    entry: 'student (pnpm)',
    net: comparedNet(step) ?? undefined,
    command: ['pnpm', '--filter', step.number, 'start', '--', ...none, '/bin/true'],
    cwd: REPO,
  });
  return specs;
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

function once(spec: MeasureSpec, i: number): Outcome {
  const outcome = timedRun(spec.commandFor?.(i) ?? spec.command, spec.cwd, spec.env);
  spec.after?.(i);
  return outcome;
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
function measureAll(specs: readonly MeasureSpec[], runs: number): { spec: MeasureSpec; timing: Timing }[] {
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
    Object.assign(timing, medianMinMax(timing.samplesMs));
    log(`${label(timing)}: median ${fmtMs(timing.medianMs)} (min ${fmtMs(timing.minMs)}, max ${fmtMs(timing.maxMs)})`);
  }
  return items;
}
