/**
 * The files through which the runtime talks to the kernel rather than stores data: cgroupfs
 * (`cgroup.procs`, `memory.max`), /proc (`uid_map`), namespace links. Node's fs does the work;
 * these wrappers put each call in the trace, as the system calls of libc.ts are.
 */
import { closeSync, mkdirSync, openSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { renderArg } from './errors.js';
import { trace, tracing } from './trace.js';

const q = (text: string): string => renderArg(text);

function traced<T>(call: string, run: () => T, result: (value: T) => string): T {
  let value: T;
  try {
    value = run();
  } catch (error) {
    if (tracing()) trace(`${call} = -1 ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    throw error;
  }
  if (tracing()) trace(`${call} = ${result(value)}`);
  return value;
}

/**
 * Writes `data` to an existing kernel file in one write(2). `r+` opens without O_CREAT: a cgroup
 * directory cannot create files, so a missing one must fail as ENOENT, not as EACCES.
 */
export function writeKernelFile(path: string, data: string): void {
  traced(
    `write(${q(path)}, ${q(data)})`,
    () => writeFileSync(path, data, { flag: 'r+' }),
    () => String(Buffer.byteLength(data)),
  );
}

/** mkdir(2), with the parents it needs (`mkdir -p`). */
export function makeDirectory(path: string): void {
  traced(
    `mkdir(${q(path)})`,
    () => mkdirSync(path, { recursive: true }),
    () => '0',
  );
}

export function removeDirectory(path: string): void {
  traced(
    `rmdir(${q(path)})`,
    () => rmdirSync(path),
    () => '0',
  );
}

/** open(2) with O_CREAT|O_EXCL: a new empty file, never one reached through a symlink. */
export function createFile(path: string): void {
  traced(
    `open(${q(path)}, O_CREAT|O_EXCL|O_CLOEXEC)`,
    () => closeSync(openSync(path, 'wx')),
    () => 'a new file',
  );
}

export function makeSymlink(target: string, path: string): void {
  traced(
    `symlink(${q(target)}, ${q(path)})`,
    () => symlinkSync(target, path),
    () => '0',
  );
}

/** open(2) read-only, e.g. a namespace link to setns() into later; the fd is close-on-exec. */
export function openReadOnly(path: string): number {
  return traced(
    `open(${q(path)}, O_RDONLY|O_CLOEXEC)`,
    () => openSync(path, 'r'),
    (fd) => String(fd),
  );
}

export function closeFile(fd: number): void {
  traced(
    `close(${fd})`,
    () => closeSync(fd),
    () => '0',
  );
}
