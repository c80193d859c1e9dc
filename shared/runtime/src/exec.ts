/**
 * The last thing the init does: become the user's command with execve(2).
 *
 * What a Node process carries that the command must not inherit:
 *  - fds: Node opens everything close-on-exec except what it was handed, and a leaked fd is a
 *    way out of the container (runc's CVE-2024-21626). Mark them all, then clear the flag on
 *    stdio, which Node also marks, or the command starts without 0, 1 and 2.
 *  - ignored signals: Node sets SIGPIPE to SIG_IGN and execve keeps ignored signals ignored, so
 *    `yes | head -1` would never end. Handlers reset by themselves; ignores must be undone.
 *  - a blocked signal mask, which execve also keeps.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import {
  clearSignalMask,
  execve,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  FD_CLOEXEC,
  fcntl,
  markCloseOnExecFrom,
  O_NONBLOCK,
  resetSignalAction,
  SyscallError,
} from '@ctr/syscalls';
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, RuntimeError } from './errors.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The variables every command gets unless something says otherwise (-e, an image's Env). */
export const DEFAULT_ENV: ReadonlyMap<string, string> = new Map([
  ['PATH', DEFAULT_PATH],
  ['HOME', '/root'],
]);

/** Finds `command` the way execvp(3) does, in the PATH of the container's environment. */
export function resolveCommand(command: string, env: readonly string[]): string {
  if (command === '') throw new RuntimeError('the command is empty', EXIT_NOT_FOUND);
  if (command.includes('/')) return command;
  const path = env.find((v) => v.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  let notExecutable: string | null = null;
  for (const dir of path.split(':')) {
    const candidate = `${dir || '.'}/${command}`;
    try {
      if (!statSync(candidate).isFile()) continue;
    } catch {
      continue;
    }
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      notExecutable ??= candidate;
    }
  }
  if (notExecutable) {
    throw new RuntimeError(`"${notExecutable}" is not executable: chmod +x it`, EXIT_NOT_EXECUTABLE);
  }
  throw new RuntimeError(
    `"${command}" not found in the container's PATH (${path}): give its full path or check --rootfs`,
    EXIT_NOT_FOUND,
  );
}

function resetIgnoredSignals(): void {
  let ignored = 1n << 12n; // SIGPIPE (13), in case /proc cannot be read
  try {
    const line = readFileSync('/proc/self/status', 'utf8').match(/^SigIgn:\s*([0-9a-f]+)$/m);
    if (line?.[1]) ignored = BigInt(`0x${line[1]}`);
  } catch {}
  for (let sig = 1; sig <= 64; sig++) {
    // 32 and 33 belong to glibc's threading and cannot be changed.
    if (sig === 32 || sig === 33) continue;
    if (ignored & (1n << BigInt(sig - 1))) resetSignalAction(sig);
  }
  clearSignalMask();
}

/**
 * Stdio as a program expects it: open across exec, and blocking. O_NONBLOCK lives in the open file
 * description, which the host's runtime, this init and the command all share, and Node sets it on
 * a socket stdin as soon as something builds process.stdin (an `import ... from 'node:process'`
 * does): `cat` would then fail with EAGAIN on the first empty read.
 */
function keepStdioOpenAcrossExec(): void {
  for (const fd of [0, 1, 2]) {
    let flags: number;
    try {
      flags = fcntl(fd, F_GETFD);
    } catch {
      continue; // not open: the command gets the same closed fd the runtime had
    }
    if (flags & FD_CLOEXEC) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    const status = fcntl(fd, F_GETFL);
    if (status & O_NONBLOCK) fcntl(fd, F_SETFL, status & ~O_NONBLOCK);
  }
}

/** The command gets fds 0, 1 and 2 and nothing else of this process. */
export function handOverStdioOnly(): void {
  markCloseOnExecFrom(3);
  keepStdioOpenAcrossExec();
}

/** A failed execve (or posix_spawn) of the command, as docker reports it: 127 or 126. */
export function commandFailure(path: string, error: unknown): unknown {
  if (!(error instanceof SyscallError)) return error;
  // ENOENT here also means a missing ELF interpreter or #! program: the kernel cannot tell.
  const exitCode = error.code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
  return new RuntimeError(`cannot run "${path}": ${error.message}`, exitCode, { cause: error });
}

/** Replaces this process with the command. Only returns by throwing. */
export function execCommand(args: readonly string[], env: readonly string[]): never {
  const [command] = args;
  if (command === undefined) throw new RuntimeError('no command to run');
  const path = resolveCommand(command, env);
  handOverStdioOnly();
  resetIgnoredSignals();
  try {
    return execve(path, args, env);
  } catch (error) {
    throw commandFailure(path, error);
  }
}
