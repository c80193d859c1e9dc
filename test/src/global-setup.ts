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
  if (process.env.CTR_CLI) return;
  await ensureDefaultRootfs((line) => process.stderr.write(`rootfs: ${line}\n`));
  // tsx transforms TypeScript on first load and caches it; with a cold cache it starts an esbuild
  // process, and in an init that process would sit in the container's process table. Loading each
  // step once (--help) fills the cache before the suites count processes.
  for (const dir of readdirSync(`${REPO}steps`)) {
    spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'start', '--help'], { cwd: `${REPO}steps/${dir}` });
  }
}
