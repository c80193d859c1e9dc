import { constants } from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  // Aliases share a number (EAGAIN/EWOULDBLOCK, ENOTSUP/EOPNOTSUPP): keep the name strace prints.
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
errnoNames.set(constants.errno.EOPNOTSUPP, 'EOPNOTSUPP');

/** `2` -> `ENOENT`. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

let describe: (errno: number) => string = (errno) => errnoName(errno);

/** `ENOENT (No such file or directory)`, as strace prints an errno. */
export function errnoText(errno: number): string {
  return `${errnoName(errno)} (${describe(errno)})`;
}

/** libc.ts plugs in strerror(3) once libc is loaded; until then the name alone is used. */
export function setErrnoDescriber(fn: (errno: number) => string): void {
  describe = fn;
}

/**
 * A failed system call, printed the way strace shows it:
 * `mount("/x", "/y", NULL, MS_BIND, NULL) failed: ENOENT (No such file or directory)`.
 * `code` is the errno's name, as on Node's own fs errors, so callers can test `err.code === 'EPERM'`.
 */
export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  readonly code: string;

  constructor(
    readonly syscall: string,
    readonly args: readonly string[],
    readonly errno: number,
  ) {
    super(`${syscall}(${args.join(', ')}) failed: ${errnoText(errno)}`);
    this.code = errnoName(errno);
  }
}

/** How an argument appears in an error message: strings quoted, null as NULL. */
export function renderArg(value: string | number | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
