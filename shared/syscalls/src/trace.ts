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
import { openSync, writeSync } from 'node:fs';

export type Role = 'host' | 'init' | 'helper';

/** Who asked: the step that brought the feature, the feature's name and the hook, e.g. `03 mnt.setup`. */
export interface TraceContext {
  step: string;
  feature: string;
  hook: string;
}

/**
 * `1` or `stderr`; a path, which the host opens; or `fd:N`, how the host hands its open file to
 * the processes it starts: the init may run as a uid that could not open the file itself (step
 * 07 maps root to an unprivileged host uid), and an inherited descriptor writes as its opener.
 */
const setting = process.env.CTR_TRACE;
let fd: number | null = null;
if (setting && setting !== '0') {
  if (setting === '1' || setting === 'stderr') fd = 2;
  else if (setting.startsWith('fd:')) fd = Number(setting.slice(3));
  else fd = openSync(setting, 'a');
}

let role: Role = 'host';
let context: TraceContext = { step: '--', feature: 'runtime', hook: 'start' };

/** True when CTR_TRACE is set: callers skip rendering their lines otherwise. */
export const tracing = (): boolean => fd !== null;

/**
 * What a process the runtime starts (the init, the helper) needs to write to the same trace: the
 * descriptor to hand it (null for stderr, which it has anyway), to be placed at `index` of its
 * descriptors, and the environment that tells it so. Its environment is otherwise empty.
 */
export function traceForChild(index: number): { fd: number | null; env: Record<string, string> } {
  if (fd === null) return { fd: null, env: {} };
  if (fd === 2) return { fd: null, env: { CTR_TRACE: '1' } };
  return { fd, env: { CTR_TRACE: `fd:${index}` } };
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
