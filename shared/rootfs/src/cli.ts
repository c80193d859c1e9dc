/**
 * `pnpm rootfs [--source alpine|debian-busybox|host-busybox]`: makes the default rootfs now
 * instead of on the first `start`, or says where the existing one is.
 */
import { parseArgs } from 'node:util';
import { SOURCES, defaultRootfsPath, ensureDefaultRootfs } from './index.js';

const log = (line: string): void => {
  process.stderr.write(`rootfs: ${line}\n`);
};

try {
  const { values } = parseArgs({ options: { source: { type: 'string' } } });
  const sources = values.source ? SOURCES.filter((s) => s.name === values.source) : SOURCES;
  if (sources.length === 0) {
    throw new Error(`unknown --source "${values.source}": choose one of ${SOURCES.map((s) => s.name).join(', ')}`);
  }
  const existed = (await import('node:fs')).existsSync(defaultRootfsPath());
  const path = await ensureDefaultRootfs(log, sources);
  if (existed) log(`${path} exists and is reused; delete it to make a new one`);
  process.stdout.write(`${path}\n`);
} catch (error) {
  log(error instanceof Error ? error.message : String(error));
  process.exit(125);
}
