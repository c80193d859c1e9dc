/**
 * The native helper, built from native/nsexec.c with the system's C compiler on first use and
 * cached by the hash of its source: edit the C file and the next start rebuilds it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from '@ctr/runtime';

export const NSEXEC_SOURCE = fileURLToPath(new URL('../native/nsexec.c', import.meta.url));

let built: string | null = null;

/** The helper's path, building it if needed. In the step's build/ when writable, else ~/.cache. */
export function nsexecBinary(): string {
  if (built) return built;
  const hash = createHash('sha256').update(readFileSync(NSEXEC_SOURCE)).digest('hex').slice(0, 12);
  const places = [
    fileURLToPath(new URL('../build/', import.meta.url)),
    join(process.env.XDG_CACHE_HOME ?? join(homedir() || tmpdir(), '.cache'), 'ctr'),
  ];
  for (const dir of places) {
    const binary = join(dir, `nsexec-${hash}`);
    try {
      accessSync(binary, constants.X_OK);
      built = binary;
      return binary;
    } catch {}
  }
  for (const dir of places) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch {
      continue;
    }
    const binary = join(dir, `nsexec-${hash}`);
    compile(`${binary}.${process.pid}.tmp`);
    renameSync(`${binary}.${process.pid}.tmp`, binary); // atomic: a parallel start sees all or nothing
    built = binary;
    return binary;
  }
  throw new RuntimeError(`nowhere to build the native helper: make ${places[0]} or ~/.cache writable`);
}

function compile(output: string): void {
  const compiler = process.env.CC ?? 'cc';
  const result = spawnSync(compiler, ['-O2', '-Wall', '-o', output, NSEXEC_SOURCE], { encoding: 'utf8' });
  if (result.error) {
    throw new RuntimeError(
      `step 07 builds a small C helper (native/nsexec.c) and needs a C compiler, but "${compiler}" is missing: install one (Debian/Ubuntu: apt-get install gcc)`,
    );
  }
  if (result.status !== 0) {
    throw new RuntimeError(`${compiler} could not build native/nsexec.c: ${result.stderr.trim().split('\n')[0]}`);
  }
}
