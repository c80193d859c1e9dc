/**
 * `pnpm doctor`: one line per fact about this machine, with the fix where something is missing,
 * then which steps can run here. Exit status 1 when a step cannot.
 */
import { renderFact, verdict } from './facts.js';
import { readMachine } from './probes.js';

const facts = readMachine();
for (const fact of facts) process.stdout.write(`${renderFact(fact)}\n`);
const { line, allCanRun } = verdict(facts);
process.stdout.write(`${line}\n`);
process.exitCode = allCanRun ? 0 : 1;
