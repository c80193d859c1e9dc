/**
 * Step 09's figures, from a registry of the bench's own (Debian's docker-registry on 127.0.0.1,
 * started by the test kit, pulled from directly, without the kit's test proxy):
 *
 *   pull    a multi-layer image into an empty store (the default rootfs as the base layer, and
 *           layers of random, incompressible bytes on top), each run from scratch: time and
 *           throughput (compressed bytes over wall time: requests, sha256, unpacking); then the
 *           same pull with every layer stored (manifest and config only)
 *   start   `start --net none --image <that image> /bin/true` against `start --net none /bin/true`
 *           (the rootfs as the overlay's one lower), in the same rounds
 *
 * Every run goes through step 09's bundle, as the latency table's bundle rows do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseLayer, buildImage, randomLayer, startRegistry } from '@ctr/testkit/registry';
import { failureLine, log, NODE, ok, run, type Step } from './common.js';

/** Layers of random bytes above the base: gzip cannot shrink them, so the wire carries all of it. */
const RANDOM_LAYERS = 3;
const RANDOM_LAYER_BYTES = 16 * 1024 * 1024;
const REPOSITORY = 'bench/layers';

export interface Samples {
  samplesMs: number[];
  medianMs: number | null;
  minMs: number | null;
  maxMs: number | null;
  failed: string | null;
}

export interface ImageFigures {
  /** The image pulled: its layers and the bytes of their compressed blobs. */
  layers: number;
  compressedBytes: number;
  /** Into an empty store, and again with every layer stored. */
  coldPull: Samples;
  warmPull: Samples;
  /** MiB/s of the compressed blobs over the cold pull's median. */
  throughputMiBs: number | null;
  startImage: Samples;
  startRootfs: Samples;
}

function summarize(samplesMs: number[], failed: string | null): Samples {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const median =
    sorted.length === 0
      ? null
      : sorted.length % 2
        ? (sorted[(sorted.length - 1) / 2] as number)
        : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
  return {
    samplesMs,
    medianMs: median,
    minMs: sorted[0] ?? null,
    maxMs: sorted.at(-1) ?? null,
    failed,
  };
}

/** One timed run; the first failure of a figure is kept and ends its runs. */
function timed(
  command: readonly string[],
  cwd: string,
  env: Record<string, string>,
): { ms: number; failed: string | null } {
  const began = process.hrtime.bigint();
  const result = run(command, cwd, env, 300_000);
  const ms = Number(process.hrtime.bigint() - began) / 1e6;
  return { ms, failed: ok(result) ? null : failureLine(result) };
}

export async function measureImages(
  steps: readonly Step[],
  runs: number,
): Promise<{ figures: ImageFigures | null; notes: string[] }> {
  const step = steps.find((s) => s.number === '09');
  if (!step) return { figures: null, notes: [] };
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  try {
    registry = await startRegistry();
  } catch (error) {
    return {
      figures: null,
      notes: [`step 09's image figures not measured: ${(error as Error).message.split('\n')[0]}`],
    };
  }
  const store = mkdtempSync(join(tmpdir(), 'ctr-bench-store-'));
  try {
    log(`step 09: an image of ${RANDOM_LAYERS + 1} layers pushed to docker-registry on ${registry.upstream}`);
    const layers = [
      baseLayer(),
      ...Array.from({ length: RANDOM_LAYERS }, (_, i) => randomLayer(`random-${i}.bin`, RANDOM_LAYER_BYTES)),
    ];
    const image = buildImage({ layers, config: { Cmd: ['/bin/true'] } });
    await registry.push(REPOSITORY, 'v1', image);
    // Straight to the registry, not through the kit's proxy: its hop is not a registry's cost.
    const name = `${registry.upstream}/${REPOSITORY}:v1`;
    const env = { CTR_STORE_DIR: store };
    const bundle = [NODE, step.bundle];
    const pull = [...bundle, 'pull', name];

    const cold: number[] = [];
    const warm: number[] = [];
    let coldFailed: string | null = null;
    let warmFailed: string | null = null;
    for (let i = 0; i < runs && !coldFailed && !warmFailed; i++) {
      rmSync(store, { recursive: true, force: true });
      const first = timed(pull, step.path, env);
      if (first.failed) coldFailed = first.failed;
      else cold.push(first.ms);
      const again = timed(pull, step.path, env);
      if (again.failed) warmFailed = again.failed;
      else warm.push(again.ms);
    }
    log(`step 09: ${cold.length} pulls from an empty store, ${warm.length} with every layer stored`);

    // The image is stored now (the last pull): start it, and the rootfs, round after round.
    const image09: number[] = [];
    const rootfs09: number[] = [];
    let imageFailed: string | null = coldFailed ?? warmFailed;
    let rootfsFailed: string | null = null;
    const startImage = [...bundle, 'start', '--net', 'none', '--image', name, '/bin/true'];
    const startRootfs = [...bundle, 'start', '--net', 'none', '/bin/true'];
    // One untimed start of each first, as every latency row has.
    if (!imageFailed) imageFailed = timed(startImage, step.path, env).failed;
    rootfsFailed = timed(startRootfs, step.path, env).failed;
    for (let i = 0; i < runs && !imageFailed && !rootfsFailed; i++) {
      const withImage = timed(startImage, step.path, env);
      if (withImage.failed) imageFailed = withImage.failed;
      else image09.push(withImage.ms);
      const withRootfs = timed(startRootfs, step.path, env);
      if (withRootfs.failed) rootfsFailed = withRootfs.failed;
      else rootfs09.push(withRootfs.ms);
    }
    log(`step 09: ${image09.length} starts with --image, ${rootfs09.length} with the rootfs`);

    const compressedBytes = layers.reduce((sum, layer) => sum + layer.size, 0);
    const coldPull = summarize(cold, coldFailed);
    return {
      figures: {
        layers: layers.length,
        compressedBytes,
        coldPull,
        warmPull: summarize(warm, warmFailed),
        throughputMiBs: coldPull.medianMs ? compressedBytes / 1024 / 1024 / (coldPull.medianMs / 1000) : null,
        startImage: summarize(image09, imageFailed),
        startRootfs: summarize(rootfs09, rootfsFailed),
      },
      notes: [],
    };
  } finally {
    rmSync(store, { recursive: true, force: true });
    await registry.stop();
  }
}
