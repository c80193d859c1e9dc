/**
 * What usually explains a failure, in the words of the contract (docs/cli.md): the hints a failed
 * check prints under "hint:". Each one names what to look at, not what the test wanted.
 */
import { constants } from 'node:os';

const signalName = (n: number): string =>
  Object.entries(constants.signals).find(([, number]) => number === n)?.[0] ?? `signal ${n}`;

/** The runtime's error line: the last one starting `ctr: ` (notes and progress may come first), else the first. */
const errorLine = (text: string): string => {
  const lines = text.trim().split('\n');
  return lines.findLast((line) => line.startsWith('ctr: ')) ?? lines[0] ?? '';
};

/** Why a run exited with `actual` where `expected` was due. */
export function exitHint(expected: number, actual: number, stderr: string): string {
  if (actual === 125 && expected !== 125) {
    if (/task \d\d\.\d+ is not done yet/.test(stderr))
      return 'the exercise stopped at a task you have not written yet (below)';
    return `your runtime reported an error of its own (125) instead of running the command: "${errorLine(stderr)}"`;
  }
  if (expected === 127) {
    return 'a command that does not exist exits 127 (execve failed with ENOENT, or it is not in PATH): does your runtime map that failure to 127?';
  }
  if (expected === 126) {
    return 'a command that exists but cannot be executed exits 126 (execve failed with EACCES or ENOEXEC)';
  }
  if (expected === 125) {
    return "a runtime error (bad flag or value, not root, missing rootfs) exits 125, docker's code for 'the runtime failed', with one line on stderr";
  }
  if (expected > 128) {
    const signal = expected - 128;
    return `the command was killed by signal ${signal} (${signalName(signal)}): a runtime reports that as 128 + ${signal}, from the wait status (WIFSIGNALED, WTERMSIG)`;
  }
  if (actual === 0) {
    return `exit 0 instead of ${expected}: does your runtime pass on the command's exit status? (waitpid, then WEXITSTATUS)`;
  }
  if (actual > 128) {
    return `the runtime (or the command) died of signal ${actual - 128} (${signalName(actual - 128)})`;
  }
  return "the runtime must exit with the command's own exit status: see stderr below";
}

/** Why stdout is not what the command printed. */
export function stdoutHint(expected: string, actual: string): string | null {
  if (actual === '') {
    return "nothing reached stdout: is the command's stdout (fd 1) passed through to it, open across execve?";
  }
  if (actual.includes(expected)) {
    return "your runtime printed something of its own on stdout: stdout belongs to the command; write the runtime's messages to stderr";
  }
  return null;
}

/** Why an error report is not the contract's one line. */
export function errorLineHint(stderr: string, naming: readonly string[]): string | null {
  const lines = stderr.trim().split('\n').filter(Boolean);
  if (lines.length === 0)
    return 'nothing on stderr: a runtime error is one line on stderr, `ctr: <what went wrong>: <what to do>`';
  if (lines.length > 1) {
    return `${lines.length} lines on stderr: a runtime error is one line, \`ctr: <what went wrong>: <what to do>\` (no stack trace, no usage text)`;
  }
  if (!(lines[0] as string).startsWith('ctr: '))
    return 'the error line starts with `ctr: `, as `ctr: <what went wrong>: <what to do>`';
  if (naming.length > 0 && !naming.some((word) => stderr.includes(word))) {
    return `the error line names what was wrong (${naming.map((w) => JSON.stringify(w)).join(' or ')}), so the user knows what to fix`;
  }
  return null;
}

/** A hint attached to a plain `expect`: `expect(pid, hint('...')).toBe(1)` prints it on failure. */
export const hint = (text: string): string => `hint: ${text}`;
