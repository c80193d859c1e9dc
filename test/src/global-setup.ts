/**
 * Runs once before any suite: refuses to go on without root, and makes the default rootfs before
 * tests start many runtimes at once (each would otherwise race to make it on first use).
 */
import { ensureDefaultRootfs } from '@ctr/rootfs';
import { requireRoot } from './root.js';

export default async function setup(): Promise<void> {
  requireRoot();
  if (!process.env.CTR_CLI) await ensureDefaultRootfs((line) => process.stderr.write(`rootfs: ${line}\n`));
}
