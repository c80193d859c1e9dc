/**
 * Runs once before any suite: refuses to go on without root, and makes the default rootfs before
 * tests start many runtimes at once (each would otherwise race to make it on first use).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { ensureDefaultRootfs } from '@ctr/rootfs';
import { REPO } from './paths.js';
import { requireRoot } from './root.js';

export default async function setup(): Promise<void> {
  requireRoot();
  // Also when CTR_CLI grades another CLI (a student's under pnpm check, runc's adapter): the
  // contract's default --rootfs is this repository's rootfs/, and step 09's test images are
  // built on it before any CLI runs (a fresh clone's pnpm check 09 stopped at "no /bin/sh").
  await ensureDefaultRootfs((line) => process.stderr.write(`rootfs: ${line}\n`));
  if (process.env.CTR_CLI) return;
  // tsx transforms TypeScript on first load and caches it; with a cold cache it starts an esbuild
  // process, and in an init that process would sit in the container's process table. Loading each
  // step once (--help) fills the cache before the suites count processes.
  for (const dir of readdirSync(`${REPO}steps`)) {
    spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start', '--help'], { cwd: `${REPO}steps/${dir}` });
  }
}
