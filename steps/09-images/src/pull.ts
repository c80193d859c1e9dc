/**
 * A pull, as the sequence of requests the distribution API asks for: the manifest (or an index,
 * then this platform's manifest), the config blob (unless stored), the layer blobs (those not
 * unpacked yet, 3 at a time), each checked, unpacked into tmp/ bottom first onto the layers below
 * it and renamed into the store; the name last.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError } from '@ctr/runtime';
import { createProgress } from './progress.js';
import { hex, type ImageReference } from './reference.js';
import {
  checkDescriptor,
  choosePlatform,
  type FetchedManifest,
  type ImageIndex,
  isIndex,
  LAYER_MEDIA,
  type Manifest,
  RegistryClient,
} from './registry.js';
import {
  blobPath,
  collectGarbage,
  ensureStore,
  layerPath,
  readIndex,
  releaseLease,
  removeLeftovers,
  STORE_DIR,
  type StoredImage,
  takeLease,
  tmpDir,
  toStoredImage,
  updateIndex,
} from './store.js';
import { unpackLayer } from './unpack.js';

const PARALLEL_LAYERS = 3;
let tmpCounter = 0;
/** Named with the pid: the next pull knows a dead pull's leftovers by it. */
const tmpName = (what: string): string => join(tmpDir(), `${process.pid}-${tmpCounter++}-${hex(what).slice(0, 16)}`);

export async function pullImage(
  ref: ImageReference,
  options: { log: (line: string) => void; progress: boolean },
): Promise<StoredImage> {
  ensureStore();
  removeLeftovers();
  const created: string[] = [];
  try {
    return await pull(ref, options, created);
  } catch (error) {
    // Nothing of a failed pull stays: its temp files, and the layers it unpacked that no stored
    // image uses (an interrupted pull, killed, keeps whole layers: the next one reuses them).
    for (const name of Object.keys(tmpEntriesOfThisPid)) rmSync(name, { recursive: true, force: true });
    tmpEntriesOfThisPid = {};
    releaseLease(); // this pull's own layers and blobs are no longer kept for it
    if (created.length > 0) updateIndex((index) => collectGarbage(index));
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new RuntimeError(
        `disk full writing the image store ${STORE_DIR} (ENOSPC): free some space and pull again; nothing of this pull was kept`,
      );
    }
    throw error;
  }
}

let tmpEntriesOfThisPid: Record<string, true> = {};
function newTmp(what: string): string {
  const path = tmpName(what);
  tmpEntriesOfThisPid[path] = true;
  return path;
}

// #region pull
async function pull(
  ref: ImageReference,
  { log, progress: tty }: { log: (line: string) => void; progress: boolean },
  created: string[],
): Promise<StoredImage> {
  const client = new RegistryClient(ref);
  let fetched: FetchedManifest = await client.manifest(ref.digest ?? (ref.tag as string));
  if (isIndex(fetched.mediaType)) {
    const index = JSON.parse(fetched.bytes.toString('utf8')) as ImageIndex;
    if (!Array.isArray(index.manifests)) {
      throw new RuntimeError(`${ref.name}: the index ${fetched.digest} lists no manifests: the image is broken`);
    }
    const chosen = checkDescriptor(choosePlatform(index, ref.name), ref.name);
    fetched = await client.manifest(chosen.digest);
  }
  const manifest = JSON.parse(fetched.bytes.toString('utf8')) as Manifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new RuntimeError(`${ref.name}: the manifest ${fetched.digest} has no config or layers: the image is broken`);
  }
  // Every digest becomes a path in the store: checked before any is used.
  checkDescriptor(manifest.config, ref.name);
  for (const layer of manifest.layers) checkDescriptor(layer, ref.name);
  const digests = manifest.layers.map((layer) => layer.digest);
  const chains = chainIds(digests);
  // What this pull uses (layers, under either key, config, manifest), from the first it stores
  // until the index names it, kept by any garbage collection meanwhile (an rmi, a failed pull).
  takeLease([...new Set([...digests, ...chains]), manifest.config.digest, fetched.digest]);
  for (const layer of manifest.layers) {
    if (!(layer.mediaType in LAYER_MEDIA)) {
      throw new RuntimeError(
        `${ref.name}: layer ${layer.digest} has unsupported media type ${layer.mediaType}: pull an image with tar, tar+gzip or tar+zstd layers`,
      );
    }
  }

  // The config: small, kept as a blob (the runtime reads Env, Cmd... from it). A stored one was
  // checked against its digest when it was stored: not fetched again.
  let configFile: string | null = null;
  if (!existsSync(blobPath(manifest.config.digest))) {
    configFile = newTmp(manifest.config.digest);
    await client.blob(manifest.config, configFile, () => {});
  }

  const progress = createProgress(tty, log);
  const known = readIndex().layerSizes;
  const sizes: Record<string, number> = {};
  const keys: string[] = [];
  try {
    const storedKey = (at: number): string | undefined =>
      [chains[at] as string, digests[at] as string].find((key) => existsSync(layerPath(key)));
    // Fetched 3 at a time, a blob listed twice once; unpacked bottom first, as each layer needs the
    // ones below it in the store.
    const bars = new Map<string, ReturnType<ReturnType<typeof createProgress>['layer']>>();
    const blobs = new Map<string, Later<string>>();
    const queue: typeof manifest.layers = [];
    manifest.layers.forEach((layer, at) => {
      if (bars.has(layer.digest)) return;
      const bar = progress.layer(layer.digest, layer.size);
      bars.set(layer.digest, bar);
      if (storedKey(at)) bar.done('already stored');
      else {
        blobs.set(layer.digest, later());
        queue.push(layer);
      }
    });
    const worker = async (): Promise<void> => {
      for (let layer = queue.shift(); layer; layer = queue.shift()) {
        const blob = blobs.get(layer.digest) as Later<string>;
        const file = newTmp(layer.digest);
        const bar = bars.get(layer.digest);
        try {
          await client.blob(layer, file, (bytes) => bar?.advance(bytes));
          blob.resolve(file);
        } catch (error) {
          blob.reject(error);
          throw error;
        }
      }
    };
    const unpackInOrder = async (): Promise<void> => {
      for (const [at, digest] of digests.entries()) {
        const stored = storedKey(at);
        if (stored) {
          keys.push(stored);
          sizes[stored] ??= known[stored] ?? 0;
          continue;
        }
        const file = await blobs.get(digest)?.promise;
        if (!file) {
          throw new RuntimeError(
            `${ref.name}: layer ${digest} vanished from the store during the pull: is another ctr removing images? Pull again`,
          );
        }
        const { key, size } = storeLayer(file, digest, chains[at] as string, keys.map(layerPath), created);
        keys.push(key);
        sizes[key] = size;
        bars.get(digest)?.done('done');
      }
    };
    await Promise.all([...Array.from({ length: PARALLEL_LAYERS }, worker), unpackInOrder()]);
    // The compressed blobs are not kept: the unpacked layer is what runs.
    for (const blob of blobs.values()) {
      const file = await blob.promise;
      rmSync(file, { force: true });
      delete tmpEntriesOfThisPid[file];
    }
  } finally {
    progress.stop();
  }

  // Whole and checked: the config and manifest go in, then the name, under the lock.
  if (configFile) {
    renameSync(configFile, blobPath(manifest.config.digest));
    delete tmpEntriesOfThisPid[configFile];
  }
  const manifestFile = newTmp(fetched.digest);
  writeFileSync(manifestFile, fetched.bytes);
  renameSync(manifestFile, blobPath(fetched.digest));
  delete tmpEntriesOfThisPid[manifestFile];
  const entry = {
    registry: ref.registry,
    repository: ref.repository,
    tag: ref.tag,
    digest: fetched.digest,
    id: manifest.config.digest,
    layers: keys,
    size: keys.reduce((sum, key) => sum + (sizes[key] ?? 0), 0),
  };
  updateIndex((index) => {
    index.images[ref.name] = entry;
    Object.assign(index.layerSizes, sizes);
  });
  releaseLease(); // the index names them now
  const stored = toStoredImage(ref.name, entry);
  if (!stored)
    throw new RuntimeError(`${ref.name}: stored, but a layer vanished at once: is another ctr removing images?`);
  return stored;
}
// #endregion pull

/**
 * OCI's chain ids, over the blob digests (the store's layer names) rather than the diff ids:
 * the first layer's own digest, then sha256 of "<chain id below> <digest>" for each layer above.
 */
function chainIds(digests: readonly string[]): string[] {
  const chains: string[] = [];
  for (const digest of digests) {
    const below = chains.at(-1);
    chains.push(below ? `sha256:${createHash('sha256').update(`${below} ${digest}`).digest('hex')}` : digest);
  }
  return chains;
}

/**
 * blob -> tmp dir (unpacked onto the layers `below`) -> layers/<key>. The key is the blob's digest,
 * unless the layer leaves out a parent directory: that directory then takes its owner and mode
 * from `below` (unpack.ts), so this unpacked form holds only for this chain of layers, and it is
 * stored under the chain id, as containerd keys every snapshot. Only such layers (hand-made ones:
 * docker and buildkit list every parent) lose sharing between images on different bases; whether
 * a layer leaves a parent out is a property of its blob alone, so one digest never has both keys.
 */
function storeLayer(
  file: string,
  digest: string,
  chainId: string,
  below: readonly string[],
  created: string[],
): { key: string; size: number } {
  const dir = newTmp(`${digest}.d`);
  mkdirSync(dir, { mode: 0o755 });
  const { size, unlisted } = unpackLayer(file, dir, digest, below);
  const key = unlisted.length > 0 ? chainId : digest;
  try {
    renameSync(dir, layerPath(key));
    created.push(key);
  } catch (error) {
    // Another pull unpacked the same layer first: theirs is as good as ours.
    if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    rmSync(dir, { recursive: true, force: true });
  }
  delete tmpEntriesOfThisPid[dir];
  return { key, size };
}

interface Later<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}
/** A promise settled from outside (Node 20 has no Promise.withResolvers). */
function later<T>(): Later<T> {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  // Awaited in layer order: a failed download is reported there, or by Promise.all, not as unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
