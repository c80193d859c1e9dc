/**
 * CTR_TRACE: every call the runtime makes to build a container, one line each, in the order the
 * kernel saw them, from every process of the runtime (host, init, the native helper of step 07):
 *
 *   host    01 pid.aroundSpawn      unshare(CLONE_NEWPID) = 0
 *   init    03 mnt.setup            pivot_root(".", ".") = 0
 *   host    05 net.attach           $ ip link set vctr1a2b3c4d master ctr0 up = 0
 *
 * `CTR_TRACE=1` writes to stderr, `CTR_TRACE=<file>` appends to the file. Each line is one
 * write(2) to a file opened O_APPEND (or to stderr), so lines of several processes never mix and
 * land in the order they were written. Nothing is rendered while it is off.
 *
 * What it shows: the system calls of the syscall layer (this package), the files the runtime
 * writes into the kernel's interfaces (cgroupfs, /proc), the messages between host and init, and
 * the host commands it runs (ip, nft...). Not Node.js's own I/O (loading modules, the event
 * loop): `strace -f` shows those.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

export type Role = 'host' | 'init' | 'helper';

/** Who asked: the step that brought the feature, the feature's name and the hook, e.g. `03 mnt.setup`. */
export interface TraceContext {
  step: string;
  feature: string;
  hook: string;
}

const setting = process.env.CTR_TRACE;
let fd: number | null = null;
if (setting && setting !== '0') {
  fd = setting === '1' || setting === 'stderr' ? 2 : openSync(setting, 'a');
}

let role: Role = 'host';
let context: TraceContext = { step: '--', feature: 'runtime', hook: 'start' };

/** True when CTR_TRACE is set: callers skip rendering their lines otherwise. */
export const tracing = (): boolean => fd !== null;

/**
 * The value for the environment of a process the runtime starts (the init, the helper), which
 * otherwise gets an empty one: an absolute path, so that it means the same file from anywhere.
 */
export function traceSettingForChildren(): Record<string, string> {
  if (!setting || setting === '0') return {};
  return { CTR_TRACE: setting === '1' || setting === 'stderr' || isAbsolute(setting) ? setting : resolve(setting) };
}

/** Which process this is; its own part is named after it (`runtime.init`). */
export function setTraceRole(next: Role): void {
  role = next;
  context = { step: '--', feature: 'runtime', hook: next === 'host' ? 'start' : next };
}

/** Runs `fn` as `next` asking: each line written meanwhile names it. Async functions keep it until they settle. */
export function asking<T>(next: TraceContext, fn: () => T): T {
  const previous = context;
  context = next;
  let result: T;
  try {
    result = fn();
  } catch (error) {
    context = previous;
    throw error;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      context = previous;
    }) as T;
  }
  context = previous;
  return result;
}

export const currentContext = (): TraceContext => context;

const label = (c: TraceContext): string =>
  c.step === '--' ? `${c.feature}.${c.hook}` : `${c.step} ${c.feature}.${c.hook}`;

/** Writes one line, `<role> <who asked> <text>`. */
export function trace(text: string): void {
  if (fd === null) return;
  try {
    writeSync(fd, `${role.padEnd(7)} ${label(context).padEnd(22)} ${text}\n`);
  } catch {
    // A trace that cannot be written (stderr closed) must not change what the runtime does.
  }
}

/** Stops tracing in this process, closing the file: before an exec, the fd must not leak. */
export function closeTrace(): void {
  if (fd !== null && fd !== 2) closeSync(fd);
  fd = null;
}
