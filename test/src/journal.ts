/**
 * What the CLI under test did during the current test, kept so that a failure can show it: the
 * command line, its exit status, its stdout and stderr. A student reads the failure, not the
 * test's source.
 */
import type { ChildProcess } from 'node:child_process';

export interface RunRecord {
  /** As a shell would take it, e.g. `/usr/local/bin/ctr start /bin/sh -c 'exit 3'`. */
  commandLine: string;
  /** The directory it ran in. */
  cwd: string;
  child: ChildProcess;
  exitCode?: number;
  stdout(): string;
  stderr(): string;
  /** Why the test kit stopped it, when it did (it hung, printed too much). */
  stoppedBecause?: string;
}

let runs: RunRecord[] = [];

export function beginTest(): void {
  runs = [];
}

export function recordRun(record: RunRecord): void {
  runs.push(record);
}

export function runsOfThisTest(): readonly RunRecord[] {
  return runs;
}

const MAX_LINES = 8;
const MAX_WIDTH = 160;

/** At most a few lines of output, each cut to a screen's width, with what was left out counted. */
export function trimmed(text: string, prefix: string): string {
  if (text === '') return `${prefix}(nothing)`;
  const lines = text.replace(/\n$/, '').split('\n');
  const shown = lines.slice(0, MAX_LINES).map((line) => {
    const visible = JSON.stringify(line).slice(1, -1); // control characters and NULs made visible
    return `${prefix}${visible.length > MAX_WIDTH ? `${visible.slice(0, MAX_WIDTH)}…` : visible}`;
  });
  if (lines.length > MAX_LINES) shown.push(`${prefix}… ${lines.length - MAX_LINES} more lines`);
  return shown.join('\n');
}

export function transcript(record: RunRecord): string {
  const status =
    record.stoppedBecause !== undefined
      ? `stopped by the test kit: ${record.stoppedBecause}`
      : record.exitCode === undefined
        ? 'still running'
        : `exit ${record.exitCode}`;
  return [
    `  $ ${record.commandLine}`,
    `    ${status}`,
    trimmed(record.stdout(), '    stdout | '),
    trimmed(record.stderr(), '    stderr | '),
  ].join('\n');
}

/** Every run of the current test, for the end of a failure message. */
export function transcriptOfThisTest(): string {
  if (runs.length === 0) return '';
  const heading = runs.length === 1 ? 'What the CLI did:' : `What the CLI did (${runs.length} runs):`;
  return `\n\n${heading}\n${runs.map(transcript).join('\n')}`;
}
