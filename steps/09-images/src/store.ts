/**
 * The content-addressed store, as containerd's: a file is named by the sha256 of its content.
 *   blobs/sha256/<hex>    manifests and configs, byte for byte as the registry sent them
 *   layers/sha256/<hex>/  a layer unpacked, named by the digest of its compressed blob
 *   tmp/<pid>-...         what a pull is writing; renamed into place only when whole and checked
 *   index.json            names -> manifest digest, config digest, layers, size
 * On disk under /var/lib (not /run, which is RAM on most machines), as containerd keeps content.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isAlive, RuntimeError, readFileOr } from '@ctr/runtime';
import type { ImageReference } from './reference.js';

export const STORE_DIR: string = process.env.CTR_STORE_DIR ?? '/var/lib/ctr';

export interface ImageConfig {
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

export interface StoredImage {
  name: string;
  digest: string /* manifest */;
  id: string /* config digest */;
  config: ImageConfig;
  layers: string[] /* absolute dirs of unpacked layers, bottom first */;
  size: number;
}

/** One image in index.json. */
export interface IndexEntry {
  registry: string;
  repository: string;
  tag: string | null;
  digest: string;
  id: string;
  /** Digests of the compressed layer blobs, bottom first. */
  layers: string[];
  /** Bytes of the unpacked files, as docker's SIZE. */
  size: number;
}

export interface StoreIndex {
  images: Record<string, IndexEntry>;
  /** Unpacked size of each layer, so an image reusing a layer knows its size. */
  layerSizes: Record<string, number>;
}

const hex = (digest: string): string => digest.replace(/^sha256:/, '');
export const blobPath = (digest: string): string => join(STORE_DIR, 'blobs', 'sha256', hex(digest));
export const layerPath = (digest: string): string => join(STORE_DIR, 'layers', 'sha256', hex(digest));
export const tmpDir = (): string => join(STORE_DIR, 'tmp');
const indexPath = (): string => join(STORE_DIR, 'index.json');
const lockPath = (): string => join(STORE_DIR, 'index.lock');

export function ensureStore(): void {
  for (const dir of [join(STORE_DIR, 'blobs', 'sha256'), join(STORE_DIR, 'layers', 'sha256'), tmpDir()]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
}

export function readIndex(): StoreIndex {
  try {
    const parsed = JSON.parse(readFileSync(indexPath(), 'utf8')) as Partial<StoreIndex>;
    return { images: parsed.images ?? {}, layerSizes: parsed.layerSizes ?? {} };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { images: {}, layerSizes: {} };
    throw new RuntimeError(
      `the store's index ${indexPath()} is unreadable (${(error as Error).message}): remove ${STORE_DIR} and pull again`,
    );
  }
}

/** Written to a temp file and renamed: a reader sees the old index or the new, never half of one. */
function writeIndex(index: StoreIndex): void {
  const temp = join(tmpDir(), `${process.pid}-index.json`);
  writeFileSync(temp, `${JSON.stringify(index, null, 2)}\n`);
  renameSync(temp, indexPath());
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `change` on the index under a lock, a directory made with mkdir (atomic: one of two makers
 * gets EEXIST), with the holder's pid inside so a lock left by a killed process can be broken.
 */
export function updateIndex<T>(change: (index: StoreIndex) => T): T {
  ensureStore();
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lockPath());
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileOr(join(lockPath(), 'pid'), ''));
      if (owner > 0 && !isAlive(owner)) {
        rmSync(lockPath(), { recursive: true, force: true });
        continue;
      }
      if (attempt > 500)
        throw new RuntimeError(
          `the store is locked by process ${owner || '?'} (${lockPath()}): wait for it, or remove the lock if it is gone`,
        );
      Atomics.wait(sleeper, 0, 0, 20);
    }
  }
  try {
    writeFileSync(join(lockPath(), 'pid'), String(process.pid));
    const index = readIndex();
    const result = change(index);
    writeIndex(index);
    return result;
  } finally {
    rmSync(lockPath(), { recursive: true, force: true });
  }
}

export function indexKey(ref: Pick<ImageReference, 'name'>): string {
  return ref.name;
}

/** The stored entry for `ref`: by its name, or (for a digest reference) any entry with that manifest. */
export function findEntry(index: StoreIndex, ref: ImageReference): [string, IndexEntry] | null {
  const byName = index.images[ref.name];
  if (byName) return [ref.name, byName];
  if (ref.digest) {
    for (const [name, entry] of Object.entries(index.images)) {
      if (entry.digest === ref.digest && entry.registry === ref.registry && entry.repository === ref.repository)
        return [name, entry];
    }
  }
  return null;
}

export function toStoredImage(name: string, entry: IndexEntry): StoredImage | null {
  const dirs = entry.layers.map(layerPath);
  // A layer removed by hand, or a config gone: not a usable image; a pull puts it back.
  if (!dirs.every((dir) => existsSync(dir)) || !existsSync(blobPath(entry.id))) return null;
  const config = (JSON.parse(readFileSync(blobPath(entry.id), 'utf8')) as { config?: ImageConfig }).config ?? {};
  return { name, digest: entry.digest, id: entry.id, config, layers: dirs, size: entry.size };
}

export function findImage(ref: ImageReference): StoredImage | null {
  const found = findEntry(readIndex(), ref);
  return found ? toStoredImage(found[0], found[1]) : null;
}

/**
 * Removes what interrupted pulls left in tmp/: entries are named `<pid>-...`, and those of a pid
 * that is no longer alive are nobody's.
 */
export function removeLeftovers(): void {
  let names: string[];
  try {
    names = readdirSync(tmpDir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.split('-')[0]);
    if (!(pid > 0) || (pid !== process.pid && !isAlive(pid)))
      rmSync(join(tmpDir(), name), { recursive: true, force: true });
  }
}

/** Layers and blobs no image in `index` names: removed; the layer digests removed are returned. */
export function collectGarbage(index: StoreIndex): string[] {
  const usedLayers = new Set(Object.values(index.images).flatMap((e) => e.layers.map(hex)));
  const usedBlobs = new Set(Object.values(index.images).flatMap((e) => [hex(e.digest), hex(e.id)]));
  const removed: string[] = [];
  const layersDir = join(STORE_DIR, 'layers', 'sha256');
  for (const name of safeReaddir(layersDir)) {
    if (usedLayers.has(name)) continue;
    // Renamed out of the way first: a half-removed layer never sits under its digest's name.
    const doomed = join(tmpDir(), `${process.pid}-rm-${name}`);
    renameSync(join(layersDir, name), doomed);
    rmSync(doomed, { recursive: true, force: true });
    delete index.layerSizes[`sha256:${name}`];
    removed.push(`sha256:${name}`);
  }
  const blobsDir = join(STORE_DIR, 'blobs', 'sha256');
  for (const name of safeReaddir(blobsDir)) {
    if (!usedBlobs.has(name)) rmSync(join(blobsDir, name), { force: true });
  }
  return removed;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Removes an empty directory, ignoring one that is not there or not empty. */
export function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {}
}
