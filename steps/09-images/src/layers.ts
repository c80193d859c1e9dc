/**
 * A path as a stack of unpacked layers shows it, as overlayfs composes them: the top-most layer
 * that has it, unless a layer above hides it. Read on the host, as root, in files an image made,
 * so each component is looked at with lstat: a symlink in a layer may point anywhere on the host.
 */
import { lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { lgetxattr } from '@ctr/syscalls';

const opaque = (at: string): boolean => lgetxattr(at, 'trusted.overlay.opaque') === 'y';
/** overlayfs's whiteout: a character device 0/0 (what unpack makes of `.wh.<name>`). */
const isWhiteout = (stat: Stats): boolean => stat.isCharacterDevice() && stat.rdev === 0;

/**
 * `path` (relative to the root) in `layers` (bottom first): the layer that shows it and its
 * lstat, or null when no layer has it or one above hides it: a whiteout of it, a file or a
 * symlink in place of one of its parents, or an opaque directory (or layer root) on the way that
 * lacks it.
 */
export function shownEntry(layers: readonly string[], path: string): { layer: string; at: string; stat: Stats } | null {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  for (const layer of [...layers].reverse()) {
    let at = layer;
    let stopsHere = opaque(layer);
    let stat: Stats | undefined;
    for (const [i, part] of parts.entries()) {
      at = join(at, part);
      stat = lstatSync(at, { throwIfNoEntry: false });
      if (!stat) break;
      if (i === parts.length - 1) return isWhiteout(stat) ? null : { layer, at, stat };
      if (!stat.isDirectory()) return null;
      if (opaque(at)) stopsHere = true;
    }
    if (stopsHere) return null;
  }
  return null;
}
