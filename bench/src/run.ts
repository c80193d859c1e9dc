/**
 * `pnpm bench` (as root): what a container costs with each step's runtime, beside runc, crun and
 * the floors under them (the kernel's own `unshare`, and `node -e 0` under any Node.js program).
 *
 *   latency   start-to-exit of `/bin/true`, the whole command timed around spawnSync: median, min, max of N runs
 *   memory    resident set (VmRSS) of the runtime's own processes while the container runs `sleep 5`
 *   scale     20 containers of step 06 at once: all exit 0, wall time, and nothing left behind
 *   images    step 09: a multi-layer image pulled from a local registry (time, throughput), and
 *             start latency with --image against the rootfs, in the same rounds (images.ts)
 *   lifecycle step 10: run -d, exec and rm -f beside start; PSS of each container's monitor, nsexec
 *             and init; 50 containers held at once (5 with --quick), then removed (lifecycle.ts)
 *
 * Nothing here crashes on a failing command: the table says "failed: <its first stderr line>".
 * Results go to bench/results/latest.md and latest.json; the markdown table is also printed.
 *
 *   pnpm bench [--runs N] [--quick] [--compare REF] [--check]
 *     --quick = 3 runs, 5 containers held instead of 50 (CI's smoke test)
 *     --compare REF = also the step rows of commit REF, checked out beside, in the same rounds
 *     --check = also the student's loop: pnpm check NN to its first failure, and to a full pass
 */
import { defaultRootfsPath } from '@ctr/rootfs';
import { measureCheck } from './check.js';
import { listSteps, log } from './common.js';
import { checkOut, type OtherTree, removeTree, resolveCommit } from './compare.js';
import { measureImages } from './images.js';
import { measureLatency } from './latency.js';
import { measureLifecycle } from './lifecycle.js';
import { describeMachine, loadAverage } from './machine.js';
import { measureMemory } from './memory.js';
import { ociLatencySpecs, prepareOciRuntimes, removeBundle } from './oci.js';
import { writeReport } from './report.js';
import { measureScale } from './scale.js';

interface Options {
  runs: number;
  quick: boolean;
  compare: string | null;
  check: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  let runs = 20;
  let quick = false;
  let compare: string | null = null;
  let check = false;
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
    } else if (arg === '--compare' || arg.startsWith('--compare=')) {
      compare = (arg.includes('=') ? arg.slice('--compare='.length) : argv[++i]) ?? '';
      if (!compare) usage('--compare needs a git ref (a commit, a branch, HEAD~1)');
    } else if (arg === '--check') {
      check = true;
    } else if (arg === '--help' || arg === '-h') {
      usage(null);
    } else {
      usage(`unknown option "${arg}"`);
    }
  }
  return { runs, quick, compare, check };
}

function usage(problem: string | null): never {
  if (problem) process.stderr.write(`bench: ${problem}\n`);
  process.stderr.write(
    'usage: pnpm bench [--runs N] [--quick] [--compare REF] [--check]   (as root: sudo pnpm bench)\n',
  );
  process.exit(problem ? 2 : 0);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const began = process.hrtime.bigint();
  const commit = options.compare === null ? null : resolveCommit(options.compare);
  if (options.compare !== null && commit === null) {
    process.stderr.write(`bench: --compare: git knows no commit "${options.compare}" in this repository\n`);
    process.exit(2);
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: containers need root (namespaces, mounts, cgroups): run "sudo pnpm bench"\n');
    process.exit(1);
  }
  const rootfs = defaultRootfsPath();
  const machine = describeMachine(rootfs);
  log(`${options.runs} runs per figure; rootfs ${rootfs}`);

  let other: OtherTree | null = null;
  if (options.compare !== null && commit !== null) {
    try {
      other = checkOut(options.compare, commit, rootfs);
    } catch (error) {
      process.stderr.write(`bench: --compare ${options.compare}: ${error instanceof Error ? error.message : error}\n`);
      process.exit(1);
    }
  }
  try {
    const oci = prepareOciRuntimes(rootfs);
    const steps = listSteps();
    const latency = measureLatency(steps, ociLatencySpecs(oci), options.runs, other);
    // Only the latency rows are compared: the other commit is not needed past them.
    if (other) removeTree(other);
    other = null;
    const memory = await measureMemory(steps, latency.bundleFailed, oci);
    const scale = await measureScale(steps, rootfs);
    const images = await measureImages(steps, options.runs);
    const lifecycle = await measureLifecycle(steps, rootfs, options.runs, options.quick);
    removeBundle(oci.bundle);
    const check = options.check ? measureCheck(steps) : null;

    machine.loadAfter = loadAverage();
    writeReport(
      {
        machine,
        options,
        durationS: Math.round(Number(process.hrtime.bigint() - began) / 1e7) / 100,
        references: latency.references,
        ociNamespaces: oci.namespaces,
        notes: [
          ...oci.notes,
          ...latency.notes,
          ...memory.notes,
          ...scale.notes,
          ...images.notes,
          ...lifecycle.notes,
          ...(check?.notes ?? []),
        ],
        latency: latency.timings,
        comparison: latency.comparison,
        memory: memory.rows,
        scale: scale.result,
        images: images.figures,
        lifecycle: lifecycle.figures,
        check: check?.rows ?? null,
      },
      latency.warmups,
    );
  } finally {
    if (other) removeTree(other);
  }
}

await main();
