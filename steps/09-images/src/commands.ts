/** `ctr pull`, `ctr images`, `ctr rmi`: what they print and when they refuse. */
import { RuntimeError } from '@ctr/runtime';
import { formatSize } from './progress.js';
import { pullImage } from './pull.js';
import { hex, type ImageReference, parseReference, shortRepository } from './reference.js';
import { collectGarbage, findEntry, inUseByContainers, readIndex, updateIndex } from './store.js';

export async function pullCommand(name: string, log: (line: string) => void): Promise<number> {
  const reference = parseReference(name);
  const stored = await pullImage(reference, { log, progress: process.stderr.isTTY === true });
  process.stdout.write(`${stored.name}\n`);
  return 0;
}

/** docker's columns; SIZE is the unpacked files' bytes, in docker's decimal units. */
export function imagesCommand(): number {
  const rows = [['REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE']];
  const entries = Object.entries(readIndex().images).sort(([a], [b]) => a.localeCompare(b));
  for (const [, entry] of entries) {
    rows.push([
      shortRepository(entry.registry, entry.repository),
      entry.tag ?? '<none>',
      hex(entry.id).slice(0, 12),
      formatSize(entry.size).replace(' ', ''),
    ]);
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of rows) {
    process.stdout.write(
      `${row.map((cell, column) => (column < row.length - 1 ? cell.padEnd((widths[column] ?? 0) + 3) : cell)).join('')}\n`,
    );
  }
  return 0;
}

/**
 * Every name is checked before anything is removed: an unknown name or an image in use removes
 * nothing. Then the names go, and every layer and blob no remaining image uses.
 */
export function rmiCommand(names: string[]): number {
  const references: ImageReference[] = names.map(parseReference);
  const removed = updateIndex((index) => {
    const inUse = inUseByContainers();
    const keys: string[] = [];
    for (const [i, ref] of references.entries()) {
      const found = findEntry(index, ref);
      if (!found) throw new RuntimeError(`no such image ${names[i]}: see ctr images`);
      const container = inUse.manifests.get(hex(found[1].digest));
      if (container) {
        throw new RuntimeError(
          `image ${found[0]} is used by running container ${container}: stop it first; nothing was removed`,
        );
      }
      keys.push(found[0]);
    }
    for (const key of keys) delete index.images[key];
    return { keys, layers: collectGarbage(index, inUse) };
  });
  for (const key of removed.keys) process.stdout.write(`Untagged: ${key}\n`);
  for (const layer of removed.layers) process.stdout.write(`Deleted: ${layer}\n`);
  return 0;
}
