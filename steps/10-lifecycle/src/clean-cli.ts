/**
 * Step 10's part of `pnpm clean` (the root package.json runs it before `pnpm net clean` and the
 * shared sweep): dead containers' leftovers and records. Exits 1 when one could not be cleaned.
 */
import { cleanDeadRecords } from './remove.js';

if (process.getuid?.() !== 0) {
  process.stderr.write('clean: run as root (sudo pnpm clean)\n');
  process.exit(125);
}
const clean = await cleanDeadRecords((line) => {
  process.stdout.write(`${line}\n`);
});
process.exitCode = clean ? 0 : 1;
