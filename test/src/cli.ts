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
import { readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parse } from 'shell-quote';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

function stepDirectory(step: string): string {
  const dir = readdirSync(`${REPO}steps`).find((name) => name.startsWith(`${step}-`));
  if (!dir) throw new Error(`no directory steps/${step}-* in ${REPO}`);
  return `${REPO}steps/${dir}`;
}

/** argv prefix and working directory that run step `step`'s CLI. */
export function cliUnderTest(step: string): { argv: string[]; cwd: string } {
  const custom = process.env.CTR_CLI;
  if (custom) {
    const argv = parse(custom.replaceAll('{step}', step)).map((token) => {
      if (typeof token !== 'string') throw new Error(`CTR_CLI may hold words only, no shell operators: ${custom}`);
      return token;
    });
    return { argv, cwd: process.cwd() };
  }
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
}

export interface RunOptions {
  /** Bytes for the container's stdin; stdin is /dev/null otherwise. */
  input?: string | Buffer;
  /** The runtime is SIGKILLed and the test fails when it runs longer (default 30 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Run the CLI as this user instead of root, e.g. to see it refuse. */
  uid?: number;
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

/** Starts `<cli> start ...args` and returns at once, for tests that act while it runs. */
export function startContainer(step: string, args: readonly string[], options: RunOptions = {}): RunningContainer {
  const { argv, cwd } = cliUnderTest(step);
  const [program, ...prefix] = argv as [string, ...string[]];
  const runtime = spawn(program, [...prefix, 'start', ...args], {
    cwd,
    env: options.env ?? process.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  runtime.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  runtime.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');
  if (options.input !== undefined) runtime.stdin?.end(options.input);

  const timeoutMs = options.timeoutMs ?? 30_000;
  const result = new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      runtime.kill('SIGKILL');
      reject(new Error(`"start ${args.join(' ')}" ran longer than ${timeoutMs} ms; stderr so far: ${text(err)}`));
    }, timeoutMs);
    runtime.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run the CLI under test (${argv.join(' ')}): ${error.message}`));
    });
    runtime.once('close', (code, signal) => {
      clearTimeout(timer);
      const exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
      const [stdoutBytes, stderrBytes] = [Buffer.concat(out), Buffer.concat(err)];
      resolve({
        exitCode,
        stdout: stdoutBytes.toString('utf8'),
        stderr: stderrBytes.toString('utf8'),
        stdoutBytes,
        stderrBytes,
      });
    });
  });
  const waitForOutput = (expected: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (text(out).includes(expected)) resolve();
        else if (runtime.exitCode !== null || runtime.signalCode !== null)
          reject(new Error(`the container ended before printing "${expected}": ${text(err).trim()}`));
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
