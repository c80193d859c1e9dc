/**
 * The monitor: the process that owns one detached container, as conmon does for CRI-O and the
 * shim for containerd. `run -d` starts it in a session of its own and returns; it runs the same
 * start path as `start` (runContainer), so it is the container's parent, the reader of its output
 * and the one that cleans up after it. Its death kills the container (each process under it has
 * PR_SET_PDEATHSIG), but leaves the container's host resources: `ctr rm` and `pnpm clean` remove them.
 *
 *   ctr run -d          writes the request to the monitor's stdin, waits on its fd 3, prints the id
 *     ctr monitor       (setsid; adopted by the host's init when the CLI exits)
 *       [nsexec]        step 07's helper
 *         ctr init      the container's PID 1 (step 06)
 *           command     stdout, stderr: pipes the monitor reads into container.log
 */
import { appendFileSync, closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { type CommandContext, type ContainerSpec, describeFailure, EXIT_RUNTIME_ERROR, type Step } from '@ctr/runtime';
import { runContainer, spawnInit } from '@ctr/runtime/commands';
import {
  createRecord,
  logPath,
  monitorLogPath,
  processStartTime,
  removeRecord,
  specPath,
  updateState,
  writeState,
} from './records.js';

/** What `run -d` hands its monitor on stdin: the container, configured in the CLI. */
export interface MonitorRequest {
  id: string;
  name: string | null;
  image: string | null;
  spec: ContainerSpec;
}

/** fd 3, a pipe to the CLI: `running` once the command runs, or `error <exit code> <line>`; then closed. */
export const READY_FD = 3;

// #region monitor
export async function monitor(step: Step, context: CommandContext): Promise<number> {
  const ready = new ReadyChannel(READY_FD);
  let request: MonitorRequest;
  try {
    request = JSON.parse(await readAll(process.stdin)) as MonitorRequest;
  } catch {
    // The CLI died while it wrote: nothing was made, and nothing will be.
    ready.fail(EXIT_RUNTIME_ERROR, 'the monitor got no container to run');
    return EXIT_RUNTIME_ERROR;
  }
  const { id, name, image, spec } = request;
  try {
    createRecord(id, name);
  } catch (error) {
    const failure = describeFailure(error);
    ready.fail(failure.exitCode, failure.message);
    return failure.exitCode;
  }
  // Nobody reads this process's stderr: a failure of its own goes where `ctr rm` and a human find it.
  const crashed = (error: unknown): void => {
    appendFileSync(monitorLogPath(id), `${new Date().toISOString()} ${error instanceof Error ? error.stack : error}\n`);
    process.exit(EXIT_RUNTIME_ERROR);
  };
  process.on('uncaughtException', crashed);
  process.on('unhandledRejection', crashed);
  // What exec and inspect read; written again once the features filled in what they made.
  const saveSpec = (): void => writeFileSync(specPath(id), JSON.stringify(spec));
  saveSpec();
  const now = new Date().toISOString();
  writeState({
    id,
    name,
    status: 'created',
    pid: null,
    pidStartTime: null,
    monitorPid: process.pid,
    monitorStartTime: processStartTime(process.pid) ?? 0,
    exitCode: null,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    image,
    rootfs: spec.rootfs,
    command: spec.args,
  });

  const log = new ContainerLog(logPath(id));
  const init = context.init ?? (await spawnInit(step, context.entry, 'pipe'));
  const output = Promise.all([log.pump(init.stdout, 'stdout'), log.pump(init.stderr, 'stderr')]);
  let lastMessage = '';
  let running = false;
  let exitCode: number;
  try {
    exitCode = await runContainer(step, spec, {
      entry: context.entry,
      init,
      stdio: 'pipe',
      id: spec.id,
      log: (line) => {
        lastMessage = line;
        log.write(`ctr: ${line}\n`, 'stderr');
      },
      onRunning: (pid) => {
        // #task 10.2
        running = true;
        saveSpec(); // step 05's address, for inspect
        updateState(id, (state) => {
          state.status = 'running';
          state.pid = pid;
          state.pidStartTime = processStartTime(pid);
          state.startedAt = new Date().toISOString();
        });
        ready.send('running');
        // #end-task
      },
    });
  } catch (error) {
    const failure = describeFailure(error);
    lastMessage = failure.message;
    log.write(`ctr: ${failure.message}\n`, 'stderr');
    exitCode = failure.exitCode;
  }
  // runContainer stopped and removed everything; what the command wrote last is still in the pipes.
  if (init.exitCode === null && init.signalCode === null) init.kill('SIGKILL');
  await output;
  log.close();
  if (!running) {
    // It never ran (bad command, a failed setup): as with `start`, nothing is left but the message.
    ready.fail(exitCode, lastMessage || `the container ended with status ${exitCode} before its command ran`);
    removeRecord(id);
    return exitCode;
  }
  // Written last: `exited` promises that every resource of the container is gone.
  updateState(id, (state) => {
    state.status = 'exited';
    state.exitCode = exitCode;
    state.finishedAt = new Date().toISOString();
  });
  return 0;
}
// #endregion monitor

/** The ready pipe, closed once: after close the number may belong to another file (a bug seen once). */
class ReadyChannel {
  private fd: number | null;
  constructor(fd: number) {
    this.fd = fd;
  }
  send(line: string): void {
    if (this.fd === null) return;
    try {
      writeSync(this.fd, `${line}\n`);
    } catch {
      // EPIPE: the CLI is gone (killed, say). The container goes on without it.
    }
    closeSync(this.fd);
    this.fd = null;
  }
  fail(exitCode: number, message: string): void {
    this.send(`error ${exitCode} ${message.replace(/\n/g, ' ')}`);
  }
}

/** docker's json-file format: one JSON object per line of output, with its stream and time. */
class ContainerLog {
  private readonly fd: number;
  constructor(path: string) {
    this.fd = openSync(path, 'a', 0o640);
  }
  write(text: string, stream: 'stdout' | 'stderr'): void {
    writeSync(this.fd, `${JSON.stringify({ log: text, stream, time: new Date().toISOString() })}\n`);
  }
  /** Every complete line as it comes; a last line without its newline at the end. */
  async pump(from: Readable | null, stream: 'stdout' | 'stderr'): Promise<void> {
    if (!from) return;
    let pending = '';
    from.setEncoding('utf8');
    for await (const chunk of from as AsyncIterable<string>) {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        this.write(pending.slice(0, newline + 1), stream);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    }
    if (pending) this.write(pending, stream);
  }
  close(): void {
    closeSync(this.fd);
  }
}

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream as AsyncIterable<string>) text += chunk;
  return text;
}
