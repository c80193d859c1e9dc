// #region protocol
/**
 * The host and the init talk over one socket, fd 3 in the init (runc calls its own the "init
 * pipe"). One JSON message a line:
 *
 *   host -> init   {"type":"spec", ...}   what to run and how
 *   init -> host   {"type":"ready"}       namespaces exist, waiting
 *   host -> init   {"type":"go"}          host-side work (cgroup, network) is done
 *   init -> host   {"type":"error", ...}  setup failed; the init exits with exitCode
 *
 * There is no "exec'd" message: the socket is close-on-exec, so the host reads end-of-file at the
 * moment execve() succeeds. An error can only arrive before that, which makes the two unambiguous.
 */
// #endregion protocol
import { readSync, writeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { asking, currentContext, F_GETFL, F_SETFL, fcntl, O_NONBLOCK, trace } from '@ctr/syscalls';
import type { ContainerSpec } from './feature.js';

export const INIT_CHANNEL_FD = 3;

export type Message =
  | { type: 'spec'; spec: ContainerSpec }
  | { type: 'ready' }
  | { type: 'go' }
  | { type: 'error'; message: string; exitCode: number };

const encode = (message: Message): string => `${JSON.stringify(message)}\n`;

/** In the trace, a message is one line: `send spec`, `recv ready`, `recv end-of-file`. */
const traced = (direction: 'send' | 'recv', message: Message | null): void =>
  trace(`${direction} ${message === null ? 'end-of-file: the command runs (or the init died)' : message.type}`);

/** Host side: asynchronous, on the child's stdio[3] stream. */
export class HostChannel {
  private buffered = '';
  private readonly queue: (Message | null)[] = [];
  private waiting: ((message: Message | null) => void) | null = null;

  constructor(private readonly socket: Readable & Writable) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      let newline = this.buffered.indexOf('\n');
      while (newline >= 0) {
        this.push(JSON.parse(this.buffered.slice(0, newline)) as Message);
        this.buffered = this.buffered.slice(newline + 1);
        newline = this.buffered.indexOf('\n');
      }
    });
    socket.on('end', () => this.push(null));
    // EPIPE/ECONNRESET when the init dies: its exit status tells the story, end-of-file suffices.
    socket.on('error', () => this.push(null));
  }

  send(message: Message): void {
    traced('send', message);
    this.socket.write(encode(message));
  }

  /** The next message, or null once the init has exec'd the command or died. */
  next(): Promise<Message | null> {
    const queued = this.queue.shift();
    const message =
      queued !== undefined
        ? Promise.resolve(queued)
        : new Promise<Message | null>((resolve) => {
            this.waiting = resolve;
          });
    // Traced when the lifecycle takes it, so that the line names the part that waited for it.
    const context = currentContext();
    return message.then((received) => {
      asking(context, () => traced('recv', received));
      return received;
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private push(message: Message | null): void {
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve(message);
    } else {
      this.queue.push(message);
    }
  }
}

/**
 * Init side: synchronous on purpose. The init does nothing but wait for the host, and blocking
 * reads keep all of its work on the main thread, the only thread in the new namespaces.
 */
export class InitChannel {
  private buffered = Buffer.alloc(0);

  constructor(private readonly fd: number) {
    // libuv may hand the socket over non-blocking; readSync would then fail with EAGAIN.
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }

  send(message: Message): void {
    traced('send', message);
    writeSync(this.fd, encode(message));
  }

  receive<T extends Message['type']>(type: T): Extract<Message, { type: T }> {
    const chunk = Buffer.alloc(64 * 1024);
    // Bytes, not strings, until a whole line is in: a UTF-8 character may span two reads.
    let newline = this.buffered.indexOf(0x0a);
    while (newline < 0) {
      const n = readSync(this.fd, chunk);
      if (n === 0) throw new Error(`the runtime closed the init channel while the init waited for "${type}"`);
      this.buffered = Buffer.concat([this.buffered, chunk.subarray(0, n)]);
      newline = this.buffered.indexOf(0x0a);
    }
    const message = JSON.parse(this.buffered.toString('utf8', 0, newline)) as Message;
    this.buffered = this.buffered.subarray(newline + 1);
    traced('recv', message);
    if (message.type !== type) throw new Error(`init expected "${type}" from the runtime, got "${message.type}"`);
    return message as Extract<Message, { type: T }>;
  }
}
