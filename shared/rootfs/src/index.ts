/**
 * The root filesystem a container runs in. The repository's default one lives in `rootfs/` at the
 * top of the checkout and is made on first use; after that it is reused, never rebuilt silently
 * (delete the directory, or run `pnpm rootfs`, to choose another source).
 */
import { chmodSync, existsSync, lstatSync, mkdtempSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Log, SOURCES, type Source } from './sources.js';

export { isStaticElf } from './elf.js';
export { SOURCES, type Source } from './sources.js';

/** `rootfs/` at the repository's top, unless CTR_ROOTFS names another directory. */
export function defaultRootfsPath(): string {
  return process.env.CTR_ROOTFS ?? fileURLToPath(new URL('../../../rootfs', import.meta.url));
}

export class RootfsError extends Error {
  override readonly name = 'RootfsError';
}

/** The rootfs `--rootfs` names, checked; without one, the default, made if it is missing. */
export async function resolveRootfs(given: string | undefined, log: Log): Promise<string> {
  if (given === undefined) return ensureDefaultRootfs(log);
  if (!isAbsolute(given)) {
    // pnpm runs scripts in the step's own directory, so a relative path would surprise anyway.
    throw new RootfsError(`--rootfs "${given}" is relative: give an absolute path, e.g. --rootfs "$PWD/${given}"`);
  }
  let isDirectory: boolean;
  try {
    isDirectory = statSync(given).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RootfsError(`--rootfs ${given} does not exist: make one with rootfs-scripts/ or omit --rootfs for the default`);
    throw new RootfsError(`--rootfs ${given} cannot be read (${code}): check its permissions`);
  }
  if (!isDirectory) throw new RootfsError(`--rootfs ${given} is not a directory: point it at an unpacked root filesystem`);
  if (realpathSync(given) === '/') {
    // pivot_root(2) into the host's own root has nothing to detach, and /proc, /dev and /sys of
    // the host would be mounted over.
    throw new RootfsError(`--rootfs ${given} is the host's own /: point it at an unpacked root filesystem`);
  }
  return given;
}

/** The default rootfs; made from the first source that works when it does not exist yet. */
export async function ensureDefaultRootfs(log: Log, sources: readonly Source[] = SOURCES): Promise<string> {
  const target = defaultRootfsPath();
  if (existsSync(target)) {
    if (!hasShell(target)) {
      throw new RootfsError(`${target} exists but has no /bin/sh: remove it and run "pnpm rootfs" to make it again`);
    }
    return target;
  }
  log(`no rootfs at ${target} yet: making one (first run only)`);
  const failures: string[] = [];
  for (const source of sources) {
    // Built beside the target and renamed into place: a second runtime starting at the same
    // moment either finds the finished rootfs or builds its own, never a half-made one.
    const work = mkdtempSync(`${target}.partial-`);
    try {
      await source.build(work, log);
      chmodSync(work, 0o755); // mkdtemp made it 0700: only root could even look up /bin inside
      try {
        renameSync(work, target);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
        rmSync(work, { recursive: true, force: true }); // another runtime got there first
      }
      log(`rootfs ready at ${target}: ${source.describe}`);
      return target;
    } catch (error) {
      rmSync(work, { recursive: true, force: true });
      failures.push(`${source.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new RootfsError(
    `no way to make a rootfs here (${failures.join('; ')}): see rootfs-scripts/README.md, then pass --rootfs or set CTR_ROOTFS`,
  );
}


/** lstat, not stat: /bin/sh is often a link to /bin/busybox, which only resolves inside the rootfs. */
export function hasShell(rootfs: string): boolean {
  try {
    lstatSync(join(rootfs, 'bin/sh'));
    return true;
  } catch {
    return false;
  }
}
