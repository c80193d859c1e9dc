/**
 * The CLI under test. By default a step's own runtime; set CTR_CLI to grade another one:
 *
 *   CTR_CLI='/home/ada/runtime/target/release/ctr' pnpm --filter 03 test
 *   CTR_CLI='python3 /home/ada/ctr.py --step {step}' pnpm test
 *
 * CTR_CLI is split like a shell would split it; `{step}` becomes the step's two digits. The
 * suite then runs `<CTR_CLI> start [options] [command...]` and judges only what a user sees:
 * output, exit codes and the kernel's own records.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { basename } from 'node:path';
import { parse, quote } from 'shell-quote';
import { type RunRecord, recordRun, transcript, trimmed } from './journal.js';
import { REPO, stepDirectory } from './paths.js';
import { registerCli, stopCli } from './processes.js';
import { scaled } from './slowness.js';

export { REPO } from './paths.js';

/**
 * argv prefix and working directory that run step `step`'s CLI. `reference`: this repository's own
 * runtime of that step even when CTR_CLI grades another one, for tests that prove something about
 * the test itself (that an escape probe works where nothing stops it), not about the CLI.
 */
export function cliUnderTest(step: string, { reference = false } = {}): { argv: string[]; cwd: string } {
  const custom = process.env.CTR_CLI;
  if (custom && !reference) {
    const argv = parse(custom.replaceAll('{step}', step)).map((token) => {
      if (typeof token !== 'string') throw new Error(`CTR_CLI may hold words only, no shell operators: ${custom}`);
      return token;
    });
    return { argv, cwd: process.cwd() };
  }
  const entry = process.env.CTR_TEST_ENTRY ?? 'tsx';
  if (entry === 'bundle') {
    // The step's own runtime (so its reference tests still run), from the esbuild bundle it makes
    // of itself when started through tsx (shared/runtime/src/fast-start.ts): the same code without
    // tsx's start-up, which under QEMU's software CPU takes 6-11 s of every start (pnpm test:v2).
    const bundle = `${REPO}node_modules/.cache/ctr-init/${basename(stepDirectory(step))}.cjs`;
    if (!existsSync(bundle)) {
      throw new Error(
        `CTR_TEST_ENTRY=bundle: there is no ${bundle} yet: one start through tsx makes it (node --import tsx src/main.ts start /bin/true in the step's directory)`,
      );
    }
    return { argv: [process.execPath, bundle], cwd: stepDirectory(step) };
  }
  if (entry !== 'tsx') throw new Error(`CTR_TEST_ENTRY=${JSON.stringify(entry)}: use tsx (the default) or bundle`);
  // Run from the step's directory so that `--import tsx` resolves as it does under pnpm.
  return { argv: [process.execPath, '--import', 'tsx', 'src/main.ts'], cwd: stepDirectory(step) };
}

export interface RunResult {
  /** The exit code as a shell reports it: 128+N when the runtime itself died of signal N. */
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary data. */
  stdoutBytes: Buffer;
  stderrBytes: Buffer;
  /** The command line that ran, as a shell would take it: for failure messages. */
  commandLine: string;
}

export interface RunOptions {
  /** Bytes for the container's stdin; stdin is /dev/null otherwise. */
  input?: string | Buffer;
  /** The CLI and all it started are killed, and the run fails, when it runs longer (default 30 s, scaled). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Run the CLI as this user instead of root, e.g. to see it refuse. */
  uid?: number;
  /** This repository's own runtime of the step, even under CTR_CLI (see cliUnderTest). */
  reference?: boolean;
  /** A host program that starts the CLI: `<via...> <cli> start ...`, e.g. to hand it a session keyring. */
  via?: readonly string[];
  /** The CLI's subcommand the arguments go to (default `start`): `pull`, `images`, `rmi` from step 09. */
  subcommand?: string;
}

export interface RunningContainer {
  /** The runtime process on the host. */
  runtime: ChildProcess;
  result: Promise<RunResult>;
  /** Output so far, for waiting on a container to reach some point. */
  stdout(): string;
  /** Resolves once stdout contains `text`; fails with stderr if the container ends first. */
  waitForOutput(text: string): Promise<void>;
}

/** More than this on one stream and the CLI is stopped: a runaway printer must not eat the grader's memory. */
export const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** Why the CLI could not be started at all, in words an instructor can act on. */
function cannotStart(argv: readonly string[], error: NodeJS.ErrnoException): Error {
  const program = argv[0];
  const source = process.env.CTR_CLI ? ` (CTR_CLI=${JSON.stringify(process.env.CTR_CLI)})` : '';
  const why =
    error.code === 'ENOENT'
      ? `${program} does not exist${source}: give the absolute path of an executable`
      : error.code === 'EACCES'
        ? `${program} is not executable${source}: chmod +x it, or name its interpreter first (CTR_CLI='python3 /path/ctr.py')`
        : `${program}: ${error.message}${source}`;
  return new Error(`cannot start the CLI under test: ${why}`);
}

/** Starts `<cli> start ...args` and returns at once, for tests that act while it runs. */
export function startContainer(step: string, args: readonly string[], options: RunOptions = {}): RunningContainer {
  const { argv: cli, cwd } = cliUnderTest(step, { reference: options.reference ?? false });
  const argv = [...(options.via ?? []), ...cli];
  const [program, ...prefix] = argv as [string, ...string[]];
  const subcommand = options.subcommand ?? 'start';
  const commandLine = quote([...argv, subcommand, ...args]);
  const runtime = spawn(program, [...prefix, subcommand, ...args], {
    cwd,
    env: options.env ?? process.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    // A session of its own: whatever it leaves behind is told apart from the test's own processes.
    detached: true,
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
  if (runtime.pid !== undefined) registerCli(runtime.pid);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');
  const record: RunRecord = { commandLine, cwd, child: runtime, stdout: () => text(out), stderr: () => text(err) };
  recordRun(record);

  let stop: (reason: string) => Promise<void> = async () => {};
  const collect = (chunks: Buffer[], stream: string) => {
    let bytes = 0;
    return (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > MAX_OUTPUT_BYTES) void stop(`it printed more than ${MAX_OUTPUT_BYTES / 1024 ** 2} MiB on ${stream}`);
      else chunks.push(chunk);
    };
  };
  runtime.stdout?.on('data', collect(out, 'stdout'));
  runtime.stderr?.on('data', collect(err, 'stderr'));
  // EPIPE when the CLI exits without reading all of its stdin: its exit status tells the story.
  runtime.stdin?.on('error', () => {});
  if (options.input !== undefined) runtime.stdin?.end(options.input);

  const timeoutMs = options.timeoutMs ?? scaled(30_000);
  const result = new Promise<RunResult>((resolve, reject) => {
    stop = async (reason) => {
      if (record.stoppedBecause !== undefined) return;
      record.stoppedBecause = reason;
      const stopped = runtime.pid === undefined ? [] : await stopCli(runtime.pid);
      reject(
        new Error(
          `${reason}: the test kit stopped it and the ${stopped.length - 1} process(es) it ran\n  $ ${commandLine}\n${trimmed(text(err), '    stderr | ')}`,
        ),
      );
    };
    const timer = setTimeout(() => void stop(`it ran longer than ${timeoutMs / 1000} s`), timeoutMs);
    runtime.once('error', (error) => {
      clearTimeout(timer);
      record.stoppedBecause = 'it could not be started';
      reject(cannotStart(argv, error));
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      clearTimeout(drainTimer);
      if (record.exitCode !== undefined) return;
      const exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
      record.exitCode = exitCode;
      if (record.stoppedBecause !== undefined) return; // the kit stopped it: stop() reports why
      const [stdoutBytes, stderrBytes] = [Buffer.concat(out), Buffer.concat(err)];
      resolve({
        exitCode,
        stdout: stdoutBytes.toString('utf8'),
        stderr: stderrBytes.toString('utf8'),
        stdoutBytes,
        stderrBytes,
        commandLine,
      });
    };
    // 'close' comes once stdout and stderr are closed too. A process the CLI left behind may still
    // hold them open: then the exit status is taken a moment after 'exit', without waiting for it.
    let drainTimer: NodeJS.Timeout | undefined;
    runtime.once('exit', (code, signal) => {
      drainTimer = setTimeout(() => {
        runtime.stdout?.destroy();
        runtime.stderr?.destroy();
        finish(code, signal);
      }, scaled(2000));
    });
    runtime.once('close', finish);
  });
  // A test that never awaits the result (it failed earlier) must not turn a kill into an unhandled rejection.
  result.catch(() => {});
  const waitForOutput = (expected: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (text(out).includes(expected)) resolve();
        else if (runtime.exitCode !== null || runtime.signalCode !== null || record.stoppedBecause !== undefined)
          reject(new Error(`the container ended before printing "${expected}"\n${transcript(record)}`));
        else setTimeout(check, 20);
      };
      check();
    });
  return { runtime, result, stdout: () => text(out), waitForOutput };
}

/** Runs `<cli> start ...args` to the end. */
export function run(step: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return startContainer(step, args, options).result;
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal];
}
