/**
 * `ctr logs [-f] [--tail N]`: the container's output, from container.log, which its monitor writes
 * in docker's json-file format, one object per line: `{"log":"text\n","stream":"stdout","time":...}`.
 * The file is only ever appended to and state.json only ever replaced whole, so no lock is needed:
 * a reader sees complete records, and at most the start of one still being written, which it
 * keeps until the rest arrives.
 */
import { closeSync, type FSWatcher, fstatSync, openSync, readSync, watch } from 'node:fs';
import { RuntimeError, UsageError } from '@ctr/runtime';
import { logPath, observe, recordDir, resolveContainer } from './records.js';

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

export interface LogsOptions {
  readonly follow?: unknown;
  /** A number of lines, or `all` (docker's default). */
  readonly tail?: unknown;
}

export async function logsCommand(ref: string, options: LogsOptions): Promise<number> {
  const tail = parseTail(options.tail);
  const id = resolveContainer(ref);
  const reader = new LogReader(logPath(id), tail);
  try {
    if (options.follow !== true) {
      reader.readAppended();
      return 0;
    }
    return await follow(reader, id, ref);
  } finally {
    reader.close();
  }
}

/** null: every line. */
export function parseTail(value: unknown): number | null {
  if (value === undefined || value === 'all') return null;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  throw new UsageError(`--tail ${JSON.stringify(value)}: give a number of lines, or all`);
}

// #region follow
/**
 * Prints what is appended until the container has ended and a read after that found nothing: the
 * monitor writes the last lines before it records `exited`, so one read after seeing `exited`
 * gets them all. state.json is replaced by rename, so the directory is watched, not the file;
 * inotify on a directory also reports writes to the files in it (IN_MODIFY), container.log's too.
 */
function follow(reader: LogReader, id: string, ref: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let watcher: FSWatcher | null = null;
    // A safety net, not a clock: a watch ends without a word when its directory is renamed away.
    const timer = setInterval(() => check(), 1000);
    const finish = (outcome: () => void): void => {
      clearInterval(timer);
      watcher?.close();
      outcome();
    };
    function check(): void {
      try {
        for (;;) {
          // The status before the read: then a read that finds nothing after `exited` is the end.
          const observed = observe(id);
          const read = reader.readAppended();
          if (!observed) {
            finish(() =>
              reject(new RuntimeError(`no such container: ${ref}: it was removed while its logs were followed`)),
            );
            return;
          }
          if (observed.status !== 'exited' && observed.status !== 'dead') return;
          if (read === 0) {
            finish(() => resolve(0));
            return;
          }
        }
      } catch (error) {
        finish(() => reject(error));
      }
    }
    try {
      watcher = watch(recordDir(id), () => check());
      watcher.on('error', () => check());
    } catch {
      // The record went between the lookup and the watch: check() says so.
    }
    check();
  });
}
// #endregion follow

// #region reader
/**
 * Reads container.log from an offset on, in chunks, printing each complete record; what follows
 * the last newline is kept until its newline arrives. The file may not exist yet: the monitor
 * makes it right after the record.
 */
class LogReader {
  private fd: number | null = null;
  private offset = 0;
  private pending: Buffer = Buffer.alloc(0);
  private readonly chunk = Buffer.alloc(CHUNK);

  constructor(
    private readonly path: string,
    private readonly tail: number | null,
  ) {}

  /** Prints every complete record appended since the last call; returns the bytes read. */
  readAppended(): number {
    if (!this.open()) return 0;
    let total = 0;
    for (;;) {
      const length = readSync(this.fd as number, this.chunk, 0, CHUNK, this.offset);
      if (length === 0) return total;
      this.offset += length;
      total += length;
      this.consume(this.chunk.subarray(0, length));
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): boolean {
    if (this.fd !== null) return true;
    try {
      this.fd = openSync(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    if (this.tail !== null) this.offset = startOfLastLines(this.fd, this.tail);
    return true;
  }

  /** A newline byte never occurs inside a multi-byte UTF-8 character: lines are split as bytes. */
  private consume(bytes: Buffer): void {
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, bytes]) : bytes;
    let start = 0;
    const out = new Output();
    for (let newline = data.indexOf(NEWLINE); newline >= 0; newline = data.indexOf(NEWLINE, start)) {
      out.add(data.subarray(start, newline).toString('utf8'));
      start = newline + 1;
    }
    out.flush();
    // Copied: `bytes` is the reader's chunk buffer, overwritten by the next read.
    this.pending = Buffer.from(data.subarray(start));
  }
}

/** Consecutive records of one stream go out in one write. */
class Output {
  private stream: 'stdout' | 'stderr' = 'stdout';
  private text = '';

  add(line: string): void {
    let record: { log?: unknown; stream?: unknown };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      record = {};
    }
    if (typeof record.log !== 'string') {
      // Not docker's format (written by hand, cut by a full disk): shown as it is, not hidden.
      this.write('stderr', `${line}\n`);
      return;
    }
    this.write(record.stream === 'stderr' ? 'stderr' : 'stdout', record.log);
  }

  flush(): void {
    if (this.text) process[this.stream].write(this.text);
    this.text = '';
  }

  private write(stream: 'stdout' | 'stderr', text: string): void {
    if (stream !== this.stream) this.flush();
    this.stream = stream;
    this.text += text;
  }
}

/**
 * The offset where the last `lines` complete records start, read backwards a chunk at a time: a
 * log of gigabytes costs as many chunks as its last lines take. It is just after the (lines+1)-th
 * newline from the end; the bytes after the last newline are a record still being written.
 */
export function startOfLastLines(fd: number, lines: number): number {
  const chunk = Buffer.alloc(CHUNK);
  let position = fstatSync(fd).size;
  let newlines = 0;
  while (position > 0) {
    const length = Math.min(CHUNK, position);
    position -= length;
    readSync(fd, chunk, 0, length, position);
    for (let i = length - 1; i >= 0; i--) {
      if (chunk[i] === NEWLINE && ++newlines === lines + 1) return position + i + 1;
    }
  }
  return 0;
}
// #endregion reader
