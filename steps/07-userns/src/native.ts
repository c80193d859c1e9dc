/**
 * The native helper, built from native/nsexec.c with the system's C compiler on first use and
 * cached by the hash of its source: edit the C file and the next start rebuilds it. Later steps
 * build theirs the same way (buildNative: step 10's nsenter.c).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from '@ctr/runtime';

export const NSEXEC_SOURCE = fileURLToPath(new URL('../native/nsexec.c', import.meta.url));

const built = new Map<string, string>();

/** The helper's path, building it if needed. In the step's build/ when writable, else ~/.cache. */
export function nsexecBinary(): string {
  return buildNative(NSEXEC_SOURCE, fileURLToPath(new URL('../build/', import.meta.url)), '07');
}

/**
 * The executable of a step's C file, built once per version of the source: `name-<hash>` in
 * `buildDir` (the step's build/) when it is writable, else in ~/.cache/ctr. `step` names the step
 * in the message of a missing compiler.
 */
export function buildNative(source: string, buildDir: string, step: string): string {
  const cached = built.get(source);
  if (cached) return cached;
  const name = basename(source, '.c');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const places = [buildDir, join(process.env.XDG_CACHE_HOME ?? join(homedir() || tmpdir(), '.cache'), 'ctr')];
  for (const dir of places) {
    const binary = join(dir, `${name}-${hash}`);
    try {
      accessSync(binary, constants.X_OK);
      built.set(source, binary);
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
    const binary = join(dir, `${name}-${hash}`);
    compile(source, `${binary}.${process.pid}.tmp`, step);
    renameSync(`${binary}.${process.pid}.tmp`, binary); // atomic: a parallel start sees all or nothing
    built.set(source, binary);
    return binary;
  }
  throw new RuntimeError(`nowhere to build the native helper: make ${places[0]} or ~/.cache writable`);
}

function compile(source: string, output: string, step: string): void {
  const compiler = process.env.CC ?? 'cc';
  const file = `native/${basename(source)}`;
  const result = spawnSync(compiler, ['-O2', '-Wall', '-o', output, source], { encoding: 'utf8' });
  if (result.error) {
    throw new RuntimeError(
      `step ${step} builds a small C helper (${file}) and needs a C compiler, but "${compiler}" is missing: install one (Debian/Ubuntu: apt-get install gcc)`,
    );
  }
  if (result.status !== 0) {
    throw new RuntimeError(`${compiler} could not build ${file}: ${result.stderr.trim().split('\n')[0]}`);
  }
}
