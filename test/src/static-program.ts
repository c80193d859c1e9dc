/**
 * A C program a test runs inside containers, built static (a rootfs may have no libc, or another
 * one) with the system's compiler on first use and cached by the hash of its source: edit the C
 * file and the next run rebuilds it, as steps/07-userns/src/native.ts does for nsexec.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import { REPO } from './paths.js';

const CACHE = join(REPO, 'node_modules', '.cache', 'ctr-static');

/** The path of the static binary built from `source` (a .c file), building it if needed. */
export function staticProgram(source: string): string {
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const binary = join(CACHE, `${basename(source, '.c')}-${hash}`);
  try {
    accessSync(binary, constants.X_OK);
    return binary;
  } catch {}
  mkdirSync(CACHE, { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  const compiler = process.env.CC ?? 'cc';
  const result = spawnSync(compiler, ['-static', '-O2', '-Wall', '-o', partial, source], { encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      `the test builds ${basename(source)} with a C compiler, but "${compiler}" is missing: install one (Debian/Ubuntu: apt-get install gcc libc6-dev)`,
    );
  }
  if (result.status !== 0) {
    // A static link needs libc.a, which Debian ships in libc6-dev, not with the compiler.
    const missingLibc = /cannot find -lc\b/.test(result.stderr) ? ' (no static libc: apt-get install libc6-dev)' : '';
    throw new Error(
      `${compiler} -static could not build ${source}${missingLibc}:\n${result.stderr.trim().split('\n').slice(0, 5).join('\n')}`,
    );
  }
  renameSync(partial, binary); // atomic: a parallel test file sees all or nothing
  return binary;
}
