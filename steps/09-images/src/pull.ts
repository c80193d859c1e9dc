/**
 * A pull, as the sequence of requests the distribution API asks for: the manifest (or an index,
 * then this platform's manifest), the config blob, the layer blobs (those not unpacked yet, 3 at
 * a time), each checked, unpacked into tmp/ and renamed into the store; the name last.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError } from '@ctr/runtime';
import { createProgress } from './progress.js';
import { hex, type ImageReference } from './reference.js';
import {
  checkDescriptor,
  choosePlatform,
  type Descriptor,
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
  leaseLayers,
  readIndex,
  releaseLayers,
  removeLeftovers,
  STORE_DIR,
  type StoredImage,
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
    releaseLayers(); // this pull's own layers are no longer kept for it
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
  // Layers this pull uses, from the first it stores until the index names them, kept by any
  // garbage collection meanwhile (an rmi, another pull that failed).
  leaseLayers(manifest.layers.map((layer) => layer.digest));
  for (const layer of manifest.layers) {
    if (!(layer.mediaType in LAYER_MEDIA)) {
      throw new RuntimeError(
        `${ref.name}: layer ${layer.digest} has unsupported media type ${layer.mediaType}: pull an image with tar, tar+gzip or tar+zstd layers`,
      );
    }
  }

  // The config: small, kept as a blob (the runtime reads Env, Cmd... from it).
  const configFile = newTmp(manifest.config.digest);
  await client.blob(manifest.config, configFile, () => {});

  const progress = createProgress(tty, log);
  const known = readIndex().layerSizes;
  const sizes: Record<string, number> = {};
  try {
    // A layer listed twice is fetched once.
    const queue = [...new Map(manifest.layers.map((layer) => [layer.digest, layer])).values()];
    const worker = async (): Promise<void> => {
      for (let layer = queue.shift(); layer; layer = queue.shift()) {
        sizes[layer.digest] = await fetchLayer(client, layer, progress, known, created);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_LAYERS }, worker));
  } finally {
    progress.stop();
  }

  // Whole and checked: the config and manifest go in, then the name, under the lock.
  renameSync(configFile, blobPath(manifest.config.digest));
  delete tmpEntriesOfThisPid[configFile];
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
    layers: manifest.layers.map((l) => l.digest),
    size: manifest.layers.reduce((sum, l) => sum + (sizes[l.digest] ?? 0), 0),
  };
  updateIndex((index) => {
    index.images[ref.name] = entry;
    Object.assign(index.layerSizes, sizes);
  });
  releaseLayers(); // the index names them now
  const stored = toStoredImage(ref.name, entry);
  if (!stored)
    throw new RuntimeError(`${ref.name}: stored, but a layer vanished at once: is another ctr removing images?`);
  return stored;
}
// #endregion pull

/** A layer already unpacked is reused; otherwise blob -> tmp file -> tmp dir -> layers/. */
async function fetchLayer(
  client: RegistryClient,
  layer: Descriptor,
  progress: ReturnType<typeof createProgress>,
  known: Record<string, number>,
  created: string[],
): Promise<number> {
  const bar = progress.layer(layer.digest, layer.size);
  const target = layerPath(layer.digest);
  if (existsSync(target)) {
    bar.done('already stored');
    return known[layer.digest] ?? 0;
  }
  const file = newTmp(layer.digest);
  await client.blob(layer, file, (bytes) => bar.advance(bytes));
  const dir = newTmp(`${layer.digest}.d`);
  mkdirSync(dir, { mode: 0o755 });
  const size = unpackLayer(file, dir, layer.digest);
  // The compressed blob is not kept: the unpacked layer is what runs, and its name is the digest.
  rmSync(file, { force: true });
  delete tmpEntriesOfThisPid[file];
  try {
    renameSync(dir, target);
    created.push(layer.digest);
  } catch (error) {
    // Another pull unpacked the same layer first: theirs is as good as ours.
    if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    rmSync(dir, { recursive: true, force: true });
  }
  delete tmpEntriesOfThisPid[dir];
  bar.done('done');
  return size;
}
