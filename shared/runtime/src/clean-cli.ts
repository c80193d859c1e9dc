/**
 * `pnpm clean`: removes what runtimes killed with SIGKILL left on this host (clean.ts). Network
 * leases and the bridge have their own command, `pnpm net clean`, which `pnpm clean` runs first.
 * Run it when no container is starting.
 */
import { cleanAll } from './clean.js';

if (process.getuid?.() !== 0) {
  process.stderr.write('clean: run as root (sudo pnpm clean)\n');
  process.exit(125);
}
cleanAll((line) => {
  process.stdout.write(`${line}\n`);
});
