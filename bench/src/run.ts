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
import { defaultRootfsPath } from '@ctr/rootfs';
import { listSteps, log } from './common.js';
import { measureLatency } from './latency.js';
import { describeMachine, loadAverage } from './machine.js';
import { measureMemory } from './memory.js';
import { ociLatencySpecs, prepareOciRuntimes, removeBundle } from './oci.js';
import { writeReport } from './report.js';
import { measureScale } from './scale.js';

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

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const began = process.hrtime.bigint();
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: containers need root (namespaces, mounts, cgroups): run "sudo pnpm bench"\n');
    process.exit(1);
  }
  const rootfs = defaultRootfsPath();
  const machine = describeMachine(rootfs);
  log(`${options.runs} runs per figure; rootfs ${rootfs}`);

  const oci = prepareOciRuntimes(rootfs);
  const steps = listSteps();
  const latency = measureLatency(steps, ociLatencySpecs(oci), options.runs);
  const memory = await measureMemory(steps, latency.bundleFailed, oci);
  const scale = await measureScale(steps, rootfs);
  removeBundle(oci.bundle);

  machine.loadAfter = loadAverage();
  writeReport(
    {
      machine,
      options,
      durationS: Math.round(Number(process.hrtime.bigint() - began) / 1e7) / 100,
      references: latency.references,
      ociNamespaces: oci.namespaces,
      notes: [...oci.notes, ...latency.notes, ...memory.notes, ...scale.notes],
      latency: latency.timings,
      memory: memory.rows,
      scale: scale.result,
    },
    latency.warmups,
  );
}

await main();
