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
import { log, medianMinMax, NODE, type Outcome, type Step, timedRun } from './common.js';
import type { Timing } from './latency.js';

/** Layers of random bytes above the base: gzip cannot shrink them, so the wire carries all of it. */
const RANDOM_LAYERS = 3;
const RANDOM_LAYER_BYTES = 16 * 1024 * 1024;
const REPOSITORY = 'bench/layers';
/** A cold pull fetches, hashes and unpacks every layer: it gets longer than run()'s default. */
const IMAGE_RUN_TIMEOUT_MS = 300_000;

export type Samples = Pick<Timing, 'samplesMs' | 'medianMs' | 'minMs' | 'maxMs' | 'failed'>;

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

function samples(samplesMs: number[], failed: string | null): Samples {
  return { samplesMs, ...medianMinMax(samplesMs), failed };
}

/**
 * `first` then `second`, `runs` times, with `before` (untimed) ahead of each pair. The first
 * failure of either is kept and ends the runs of both.
 */
function alternate(first: () => Outcome, second: () => Outcome, runs: number, before?: () => void): [Samples, Samples] {
  const firstMs: number[] = [];
  const secondMs: number[] = [];
  let firstFailed: string | null = null;
  let secondFailed: string | null = null;
  for (let i = 0; i < runs && !firstFailed && !secondFailed; i++) {
    before?.();
    const a = first();
    if (a.failed) firstFailed = a.failed;
    else firstMs.push(a.ms);
    const b = second();
    if (b.failed) secondFailed = b.failed;
    else secondMs.push(b.ms);
  }
  return [samples(firstMs, firstFailed), samples(secondMs, secondFailed)];
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
    const timed = (command: readonly string[]) => () => timedRun(command, step.path, env, IMAGE_RUN_TIMEOUT_MS);
    const pull = timed([...bundle, 'pull', name]);

    const [coldPull, warmPull] = alternate(pull, pull, runs, () => rmSync(store, { recursive: true, force: true }));
    log(
      `step 09: ${coldPull.samplesMs.length} pulls from an empty store, ${warmPull.samplesMs.length} with every layer stored`,
    );

    // The image is stored now (the last pull): start it, and the rootfs, round after round.
    const withImage = timed([...bundle, 'start', '--net', 'none', '--image', name, '/bin/true']);
    const withRootfs = timed([...bundle, 'start', '--net', 'none', '/bin/true']);
    // One untimed start of each first, as every latency row has.
    const imageFailed = coldPull.failed ?? warmPull.failed ?? withImage().failed;
    const rootfsFailed = withRootfs().failed;
    const [startImage, startRootfs] =
      imageFailed || rootfsFailed
        ? [samples([], imageFailed), samples([], rootfsFailed)]
        : alternate(withImage, withRootfs, runs);
    log(`step 09: ${startImage.samplesMs.length} starts with --image, ${startRootfs.samplesMs.length} with the rootfs`);

    const compressedBytes = layers.reduce((sum, layer) => sum + layer.size, 0);
    return {
      figures: {
        layers: layers.length,
        compressedBytes,
        coldPull,
        warmPull,
        throughputMiBs: coldPull.medianMs ? compressedBytes / 1024 / 1024 / (coldPull.medianMs / 1000) : null,
        startImage,
        startRootfs,
      },
      notes: [],
    };
  } finally {
    rmSync(store, { recursive: true, force: true });
    await registry.stop();
  }
}
