/**
 * Matchers for a CLI run that fail with what a student needs: what was expected, what happened
 * and a hint. The transcript of the run (command line, exit status, stdout, stderr) is added to
 * every failure by the suites' setup (setup.ts).
 *
 *   expect(result).toExit(3)                           the command's exit status came through
 *   expect(result).toExit(0, { stdout: 'hi\n' })        and its stdout, untouched
 *   expect(result).toFailCleanly({ naming: ['--cpus'] }) 125 and one line `ctr: ...` naming it
 */
import { errorLineHint, exitHint, stdoutHint } from './hints.js';

interface RunLike {
  exitCode: number;
  stdout: string;
  stderr: string;
}

interface MatcherResult {
  pass: boolean;
  message: () => string;
}

const problems = (lines: (string | null)[]): string => lines.filter(Boolean).join('\n');

function toExit(received: RunLike, code: number, output: { stdout?: string | RegExp } = {}): MatcherResult {
  if (received.exitCode !== code) {
    return {
      pass: false,
      message: () =>
        problems([
          `expected exit ${code}, got ${received.exitCode}`,
          `hint: ${exitHint(code, received.exitCode, received.stderr)}`,
        ]),
    };
  }
  const { stdout } = output;
  if (
    stdout !== undefined &&
    !(typeof stdout === 'string' ? received.stdout === stdout : stdout.test(received.stdout))
  ) {
    const hint = typeof stdout === 'string' ? stdoutHint(stdout, received.stdout) : null;
    return {
      pass: false,
      message: () =>
        problems([
          `exit ${code} as expected, but stdout was ${JSON.stringify(received.stdout.slice(0, 300))}, expected ${typeof stdout === 'string' ? JSON.stringify(stdout) : String(stdout)}`,
          hint && `hint: ${hint}`,
        ]),
    };
  }
  return { pass: true, message: () => `expected the run not to exit ${code}` };
}

function toFailCleanly(received: RunLike, options: { naming?: readonly string[] } = {}): MatcherResult {
  const naming = options.naming ?? [];
  if (received.exitCode !== 125) {
    return {
      pass: false,
      message: () =>
        problems([
          `expected exit 125, got ${received.exitCode}`,
          `hint: ${exitHint(125, received.exitCode, received.stderr)}`,
        ]),
    };
  }
  // An exercise's stub (`return todo(...)`) refuses everything: it is no report of this error.
  const stub = /task (\d\d\.\d+) is not done yet/.exec(received.stderr);
  if (stub) {
    return {
      pass: false,
      message: () =>
        `exit 125, but from the stub of task ${stub[1]}, not from a check of the input\nhint: write task ${stub[1]}`,
    };
  }
  const hint = errorLineHint(received.stderr, naming);
  return {
    pass: hint === null,
    message: () =>
      hint === null
        ? 'expected anything but one clean error line'
        : problems(['exit 125, but the error report is off', `hint: ${hint}`]),
  };
}

export const runMatchers = { toExit, toFailCleanly };

declare module 'vitest' {
  // biome-ignore lint/suspicious/noExplicitAny: must match vitest's own declaration of Matchers
  interface Matchers<T = any> {
    /** The run exited with `code` (and printed exactly `stdout`, or matching it, when given). */
    toExit(code: number, output?: { stdout?: string | RegExp }): T;
    /** A runtime error as the contract has it: exit 125, one line on stderr, `ctr: `, naming the culprit. */
    toFailCleanly(options?: { naming?: readonly string[] }): T;
  }
}
