/**
 * The content-addressed store, as containerd's: a file is named by the sha256 of its content.
 *   blobs/sha256/<hex>    manifests and configs, byte for byte as the registry sent them
 *   layers/sha256/<hex>/  a layer unpacked, named by the digest of its compressed blob
 *   tmp/<pid>-...         what a pull is writing; renamed into place only when whole and checked
 *   index.json            names -> manifest digest, config digest, layers, size
 * On disk under /var/lib (not /run, which is RAM on most machines), as containerd keeps content.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { containerStateDir, isAlive, RuntimeError, readFileOr, STATE_DIR } from '@ctr/runtime';
import { DIGEST, hex, type ImageReference } from './reference.js';

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
  /**
   * The unpacked layers, bottom first, by the digest of the compressed blob; a layer that leaves
   * out parent directories by its chain id instead (pull.ts: its unpacked form depends on the
   * layers below).
   */
  layers: string[];
  /** Bytes of the unpacked files, as docker's SIZE. */
  size: number;
}

export interface StoreIndex {
  images: Record<string, IndexEntry>;
  /** Unpacked size of each layer, so an image reusing a layer knows its size. */
  layerSizes: Record<string, number>;
}

/**
 * A digest becomes a path: `sha256:../../etc` would name a directory outside the store, and a
 * pull would take the host's /etc for an already stored layer. Only 64 lowercase hex pass.
 */
function checkedHex(digest: string): string {
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw new RuntimeError(
      `the manifest names a malformed digest ${JSON.stringify(digest)}: the registry is broken or hostile; nothing was kept`,
    );
  }
  return hex(digest);
}
export const blobPath = (digest: string): string => join(STORE_DIR, 'blobs', 'sha256', checkedHex(digest));
export const layerPath = (digest: string): string => join(STORE_DIR, 'layers', 'sha256', checkedHex(digest));
export const tmpDir = (): string => join(STORE_DIR, 'tmp');
const indexPath = (): string => join(STORE_DIR, 'index.json');
const lockPath = (): string => join(STORE_DIR, 'index.lock');
const leasePath = (): string => join(tmpDir(), `${process.pid}-lease`);

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
let lockCounter = 0;
/** In tmp/ and named by the pid: removeLeftovers takes those of a process killed holding them. */
const lockScratch = (what: string): string => join(tmpDir(), `${process.pid}-${what}-${lockCounter++}`);

/**
 * The lock is a directory that holds its owner's pid from the moment it exists: it is made under
 * tmp/ with the pid file inside, then renamed to index.lock. rename(2) of a directory onto a
 * non-empty one fails (ENOTEMPTY or EEXIST), so one of two takers wins, and no holder is ever seen
 * without its pid (a plain mkdir then write left a pid-less lock nobody could break).
 */
function takeLock(): boolean {
  const mine = lockScratch('lock');
  mkdirSync(mine);
  writeFileSync(join(mine, 'pid'), String(process.pid));
  try {
    renameSync(mine, lockPath());
    return true;
  } catch (error) {
    rmSync(mine, { recursive: true, force: true });
    if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    return false;
  }
}

/**
 * Moves the lock out of the way under a name nobody else uses, then removes it there: rm -r on
 * index.lock itself could empty a lock another process renamed in meanwhile, and of two breakers
 * of one dead holder's lock only the first rename finds it (the other gets ENOENT).
 */
function releaseLock(): void {
  const doomed = lockScratch('unlock');
  renameSync(lockPath(), doomed);
  rmSync(doomed, { recursive: true, force: true });
}

/** Breaks the lock of `dead`; a lock a live process took between our read and our rename goes back. */
function breakDeadLock(dead: number): void {
  const doomed = lockScratch('broken');
  try {
    renameSync(lockPath(), doomed);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another breaker won
    throw error;
  }
  const owner = Number(readFileOr(join(doomed, 'pid'), '0'));
  if (owner !== dead && owner > 0 && isAlive(owner)) {
    try {
      renameSync(doomed, lockPath());
      return;
    } catch {}
  }
  rmSync(doomed, { recursive: true, force: true });
}

/** Runs `change` on the index under the store's lock (see takeLock), and writes the index back. */
export function updateIndex<T>(change: (index: StoreIndex) => T): T {
  ensureStore();
  for (let attempt = 0; !takeLock(); attempt++) {
    const owner = Number(readFileOr(join(lockPath(), 'pid'), '0'));
    if (owner > 0 && !isAlive(owner)) {
      breakDeadLock(owner);
      continue;
    }
    if (attempt > 500)
      throw new RuntimeError(
        `the store is locked by process ${owner || '?'} (${lockPath()}): wait for it, or remove the lock if it is gone`,
      );
    Atomics.wait(sleeper, 0, 0, 20);
  }
  try {
    const index = readIndex();
    const result = change(index);
    writeIndex(index);
    return result;
  } finally {
    releaseLock();
  }
}

/**
 * Written by a pull before it fetches, with every digest its image uses (layers, config, manifest):
 * garbage collection (a failed pull, an rmi) keeps them while this process lives, though no index
 * entry names them yet; the config and manifest are renamed into blobs/ before the index names
 * them. removeLeftovers drops the lease of a pull that died; releaseLease that of one that ended.
 */
export function takeLease(digests: string[]): void {
  const temp = `${leasePath()}.new`;
  writeFileSync(temp, `${digests.join('\n')}\n`);
  renameSync(temp, leasePath());
}

export function releaseLease(): void {
  rmSync(leasePath(), { force: true });
}

/** Hex names of the layers and blobs leased by live pulls (tmp/<pid>-lease). */
function leasedDigests(): Set<string> {
  const leased = new Set<string>();
  for (const name of safeReaddir(tmpDir())) {
    const match = /^(\d+)-lease$/.exec(name);
    if (!match || !isAlive(Number(match[1]))) continue;
    for (const line of readFileOr(join(tmpDir(), name), '').split('\n')) {
      if (DIGEST.test(line.trim())) leased.add(hex(line.trim()));
    }
  }
  return leased;
}

export interface InUse {
  /** Manifest hex digest -> the id of a running container of that image. */
  manifests: Map<string, string>;
  /** Layer directory names (hex digests). */
  layers: Set<string>;
}

/**
 * What live containers run on: `<state>/image` (the manifest digest) and `<state>/layers` (one
 * layer directory per line) beside an `owner` pid that is alive. A tag moved to another image, or
 * an rmi of another name, must not take the layers from under a running container's overlay.
 */
export function inUseByContainers(): InUse {
  const manifests = new Map<string, string>();
  const layers = new Set<string>();
  for (const id of safeReaddir(join(STATE_DIR, 'containers'))) {
    const dir = containerStateDir(id);
    const owner = Number(readFileOr(join(dir, 'owner'), '0'));
    if (!(owner > 0 && isAlive(owner))) continue;
    const digest = readFileOr(join(dir, 'image'), '').trim();
    if (DIGEST.test(digest)) manifests.set(hex(digest), id);
    for (const line of readFileOr(join(dir, 'layers'), '').split('\n')) {
      if (line.trim()) layers.add(basename(line.trim()));
    }
  }
  return { manifests, layers };
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
  for (const name of safeReaddir(tmpDir())) {
    const pid = Number(name.split('-')[0]);
    if (!(pid > 0) || (pid !== process.pid && !isAlive(pid)))
      rmSync(join(tmpDir(), name), { recursive: true, force: true });
  }
}

/**
 * Layers and blobs that no image in `index`, no live pull's lease and no live container names:
 * removed; the layer digests removed are returned. Called under the lock.
 */
export function collectGarbage(index: StoreIndex, containers: InUse = inUseByContainers()): string[] {
  const leased = leasedDigests();
  const usedLayers = new Set([
    ...Object.values(index.images).flatMap((e) => e.layers.map(hex)),
    ...leased,
    ...containers.layers,
  ]);
  const usedBlobs = new Set([
    ...Object.values(index.images).flatMap((e) => [hex(e.digest), hex(e.id)]),
    ...leased,
    ...containers.manifests.keys(),
  ]);
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
