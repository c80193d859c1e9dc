/**
 * `ctr run`: without -d it is `start`. With -d the container is configured here, where a bad flag
 * or an image to pull can still talk to the user, then handed to a monitor that nobody waits for.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { type CommandContext, EXIT_RUNTIME_ERROR, RuntimeError, type Step, UsageError } from '@ctr/runtime';
import { configureContainer, initProgram } from '@ctr/runtime/commands';
import type { MonitorRequest } from './monitor.js';
import { checkName, newContainerId } from './records.js';

// #region run-detached
export async function runDetached(step: Step, context: CommandContext, name: string | null): Promise<number> {
  const start = context.start as NonNullable<CommandContext['start']>;
  if (process.getuid?.() !== 0) throw new RuntimeError('run -d needs root in this step: use sudo');
  if (name !== null) checkName(name);
  const id = newContainerId();
  // The short id names the cgroup, the veth and the hostname, as in every earlier step.
  const spec = await configureContainer(step, { ...start, id: id.slice(0, 12) });
  const image = (spec.features.image as { name?: string } | null | undefined)?.name ?? null;

  const [program, ...args] = (await initProgram(context.entry)) as [string, ...string[]];
  // #task 10.1
  // A session of its own (setsid): no terminal's hangup or Ctrl-C reaches it, and when this CLI
  // exits the host's init adopts it. Its stdin carries the request, its fd 3 the answer.
  const monitor = spawn(program, [...args, 'monitor'], {
    detached: true,
    cwd: '/',
    stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
  });
  const answer = readLine(monitor.stdio[3] as Readable);
  monitor.on('error', () => {});
  monitor.stdin?.end(JSON.stringify({ id, name, image, spec } satisfies MonitorRequest));
  monitor.unref();
  const line = await answer;
  if (line === 'running') {
    process.stdout.write(`${id}\n`);
    return 0;
  }
  const failed = /^error (\d+) (.*)$/.exec(line ?? '');
  if (failed) throw new RuntimeError(failed[2] as string, Number(failed[1]));
  throw new RuntimeError(
    `the container's monitor ended before the container ran: run it again without -d to see why`,
    EXIT_RUNTIME_ERROR,
  );
  // #end-task
}
// #endregion run-detached

export function checkDetachedFlags(detach: boolean, name: string | null): void {
  if (!detach && name !== null) {
    throw new UsageError('--name names a container that outlives the command line: use it with run -d');
  }
}

/** The first line the monitor writes, or null when it closed fd 3 without one (it died). */
async function readLine(from: Readable): Promise<string | null> {
  let text = '';
  from.setEncoding('utf8');
  for await (const chunk of from as AsyncIterable<string>) {
    text += chunk;
    if (text.includes('\n')) break;
  }
  from.destroy();
  const newline = text.indexOf('\n');
  return newline < 0 ? null : text.slice(0, newline);
}
