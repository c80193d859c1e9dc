/**
 * The libc functions a container runtime needs, called through koffi.
 *
 * Every wrapper checks the C return value and throws a SyscallError that names the call, its
 * arguments and the errno, so a failure reads like strace output instead of "-1". With CTR_TRACE
 * set, each call is also written to the trace, with its result (trace.ts).
 *
 * All calls are synchronous and run on the calling thread. That matters: namespaces belong to
 * threads, and only the main thread's namespaces are inherited by the processes Node spawns
 * (see docs/architecture.md). Never call these with koffi's `.async`.
 */

import { readlinkSync } from 'node:fs';
import { constants } from 'node:os';
import koffi from 'koffi';
import { CAPABILITIES, CLONE, F, LOCK, MNT, MS, O, PR, W } from './constants.js';
import { errnoText, renderArg, SyscallError, setErrnoDescriber } from './errors.js';
import { type FlagTable, renderEnum, renderFlags } from './flags.js';
import { exited, exitStatus, signaled, termSignal } from './status.js';
import { trace, tracing } from './trace.js';

const libc = koffi.load('libc.so.6');
koffi.alias('pid_t', 'int');

const c = {
  unshare: libc.func('int unshare(int flags)'),
  setns: libc.func('int setns(int fd, int nstype)'),
  mount: libc.func(
    'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
  ),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  chdir: libc.func('int chdir(const char *path)'),
  sethostname: libc.func('int sethostname(const char *name, size_t len)'),
  execve: libc.func('int execve(const char *path, const char **argv, const char **envp)'),
  fcntl: libc.func('int fcntl(int fd, int cmd, ...)'),
  waitpid: libc.func('pid_t waitpid(pid_t pid, _Out_ int *status, int options)'),
  kill: libc.func('int kill(pid_t pid, int sig)'),
  prctl: libc.func(
    'int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)',
  ),
  close: libc.func('int close(int fd)'),
  capset: libc.func('int capset(const uint8_t *header, const uint8_t *data)'),
  setgroups: libc.func('int setgroups(size_t size, const uint32_t *list)'),
  setresuid: libc.func('int setresuid(uint32_t ruid, uint32_t euid, uint32_t suid)'),
  setresgid: libc.func('int setresgid(uint32_t rgid, uint32_t egid, uint32_t sgid)'),
  close_range: libc.func('int close_range(unsigned int first, unsigned int last, int flags)'),
  signal: libc.func('void *signal(int sig, void *handler)'),
  sigprocmask: libc.func('int sigprocmask(int how, const uint8_t *set, _Out_ uint8_t *oldset)'),
  strerror: libc.func('const char *strerror(int errnum)'),
  syscall: libc.func('long syscall(long number, ...)'),
  isatty: libc.func('int isatty(int fd)'),
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  ioctl: libc.func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)'),
  sigfillset: libc.func('int sigfillset(_Out_ uint8_t *set)'),
  sigemptyset: libc.func('int sigemptyset(_Out_ uint8_t *set)'),
  posix_spawn: libc.func(
    'int posix_spawn(_Out_ pid_t *pid, const char *path, const uint8_t *actions, const uint8_t *attr, const char **argv, const char **envp)',
  ),
  posix_spawnattr_init: libc.func('int posix_spawnattr_init(_Inout_ uint8_t *attr)'),
  posix_spawnattr_setflags: libc.func('int posix_spawnattr_setflags(_Inout_ uint8_t *attr, short flags)'),
  posix_spawnattr_setpgroup: libc.func('int posix_spawnattr_setpgroup(_Inout_ uint8_t *attr, pid_t pgroup)'),
  posix_spawnattr_setsigmask: libc.func('int posix_spawnattr_setsigmask(_Inout_ uint8_t *attr, const uint8_t *set)'),
  posix_spawnattr_setsigdefault: libc.func(
    'int posix_spawnattr_setsigdefault(_Inout_ uint8_t *attr, const uint8_t *set)',
  ),
  posix_spawn_file_actions_init: libc.func('int posix_spawn_file_actions_init(_Inout_ uint8_t *actions)'),
  // glibc 2.33+ exports mknod itself (before, only __xmknod).
  mknod: libc.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
  lsetxattr: libc.func(
    'int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)',
  ),
  lgetxattr: libc.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)'),
  flock: libc.func('int flock(int fd, int operation)'),
};

/** glibc 2.35+ only: makes the child the foreground process group of a terminal before it execs. */
const addTcsetpgrp = (() => {
  try {
    return libc.func('int posix_spawn_file_actions_addtcsetpgrp_np(_Inout_ uint8_t *actions, int fd)');
  } catch {
    return null;
  }
})();

setErrnoDescriber((errno) => c.strerror(errno) as string);

/** Syscalls glibc 2.36 (Debian 12) has no wrapper for, by architecture. */
const SYS = {
  x64: { pivot_root: 155, seccomp: 317, keyctl: 250 },
  arm64: { pivot_root: 41, seccomp: 277, keyctl: 219 },
}[process.arch as 'x64' | 'arm64'];
/** The new mount API's numbers are the same on every architecture (Linux 5.2+, 5.12+). */
const SYS_OPEN_TREE = 428;
const SYS_OPENAT2 = 437;
const SYS_MOVE_MOUNT = 429;
const SYS_MOUNT_SETATTR = 442;

/** An argument shown as it is, not quoted: flag names, constants, placeholders. */
class Shown {
  constructor(readonly text: string) {}
}
type Arg = string | number | null | Shown;

const raw = (text: string): Shown => new Shown(text);
const flags = (value: number, table: FlagTable): Shown => raw(renderFlags(value, table));
const named = (value: number, table: FlagTable): Shown => raw(renderEnum(value, table));
const signalName = (sig: number): Shown => named(sig, constants.signals);
/** A path through a descriptor (`/proc/self/fd/23`) is shown with where it leads, as `strace -y` does. */
function renderPath(value: string | number | null): string {
  if (typeof value !== 'string' || !value.startsWith('/proc/self/fd/')) return renderArg(value);
  try {
    return `${renderArg(value)}<${readlinkSync(value)}>`;
  } catch {
    return renderArg(value);
  }
}
const shown = (args: readonly Arg[]): string[] => args.map((a) => (a instanceof Shown ? a.text : renderPath(a)));

/**
 * Throws when a libc call returned -1, reading errno before anything else can overwrite it; traces
 * the call and its result either way.
 */
function check(result: number, syscall: string, args: readonly Arg[]): number {
  if (result === -1) {
    const errno = koffi.errno();
    if (tracing()) trace(`${syscall}(${shown(args).join(', ')}) = -1 ${errnoText(errno)}`);
    throw new SyscallError(syscall, shown(args), errno);
  }
  if (tracing()) trace(`${syscall}(${shown(args).join(', ')}) = ${result}`);
  return result;
}

export function unshare(flags_: number): void {
  check(c.unshare(flags_), 'unshare', [flags(flags_, CLONE)]);
}

export function setns(fd: number, nstype: number): void {
  check(c.setns(fd, nstype), 'setns', [fd, flags(nstype, CLONE)]);
}

export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  mountFlags: number,
  data: string | null = null,
): void {
  check(c.mount(source, target, fstype, mountFlags, data), 'mount', [
    source,
    target,
    fstype,
    flags(mountFlags, MS),
    data,
  ]);
}

export function umount2(target: string, umountFlags = 0): void {
  check(c.umount2(target, umountFlags), 'umount2', [target, flags(umountFlags, MNT)]);
}

/** pivot_root(2). glibc has no wrapper, so this goes through syscall(2). */
export function pivotRoot(newRoot: string, putOld: string): void {
  if (!SYS) throw new Error(`pivot_root: unsupported architecture ${process.arch}`);
  const result = Number(c.syscall(SYS.pivot_root, 'const char *', newRoot, 'const char *', putOld));
  check(result, 'pivot_root', [newRoot, putOld]);
}

koffi.struct('sock_fprog', { len: 'uint16_t', filter: 'uint8_t *' });

/** seccomp(2)'s flags this project passes (include/uapi/linux/seccomp.h). */
export const SECCOMP_FILTER_FLAG = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
} as const;

/**
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog): installs a classic-BPF program (struct
 * sock_filter[], 8 bytes an instruction) that the kernel runs on every later system call. Needs
 * no_new_privs or CAP_SYS_ADMIN (EACCES). With TSYNC, every thread of the process gets it, and a
 * thread that cannot take it (another filter of its own) makes the call return that thread's id.
 */
export function seccompSetModeFilter(program: Uint8Array, flags: number): void {
  if (!SYS) throw new Error(`seccomp: unsupported architecture ${process.arch}`);
  const instructions = program.length / 8;
  const args = [
    raw('SECCOMP_SET_MODE_FILTER'),
    raw(renderFlags(flags, SECCOMP_FILTER_FLAG)),
    raw(`{len=${instructions}, filter=<${instructions} instructions>}`),
  ];
  const SECCOMP_SET_MODE_FILTER = 1;
  const result = Number(
    c.syscall(SYS.seccomp, 'unsigned int', SECCOMP_SET_MODE_FILTER, 'unsigned int', flags, 'sock_fprog *', {
      len: instructions,
      filter: program,
    }),
  );
  if (result > 0) {
    if (tracing()) trace(`seccomp(${shown(args).join(', ')}) = ${result}`);
    throw new Error(`seccomp(${shown(args).join(', ')}) = ${result}: thread ${result} has a filter of its own`);
  }
  check(result, 'seccomp', args);
}

/**
 * keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session keyring for this thread (and what it
 * starts), in place of the one inherited from the caller, whose keys any process holding it may
 * read in whatever namespace it runs. Returns the keyring's serial number.
 */
export function joinSessionKeyring(name: string): number {
  if (!SYS) throw new Error(`keyctl: unsupported architecture ${process.arch}`);
  const KEYCTL_JOIN_SESSION_KEYRING = 1;
  const serial = Number(c.syscall(SYS.keyctl, 'int', KEYCTL_JOIN_SESSION_KEYRING, 'const char *', name));
  return check(serial, 'keyctl', [raw('KEYCTL_JOIN_SESSION_KEYRING'), name]);
}

export function chdir(path: string): void {
  check(c.chdir(path), 'chdir', [path]);
}

export function sethostname(name: string): void {
  check(c.sethostname(name, Buffer.byteLength(name)), 'sethostname', [name, Buffer.byteLength(name)]);
}

/**
 * execve(2), which only returns on failure. Node opens everything, stdio included, with
 * O_CLOEXEC: call `handOverStdioOnly()` (@ctr/runtime) first or the new program starts without
 * 0, 1 and 2. Traced before the call: on success nothing of this process is left to write it.
 */
export function execve(path: string, argv: readonly string[], envp: readonly string[]): never {
  const args = [path, raw(`[${argv.map((a) => renderArg(a)).join(', ')}]`), raw(`[${envp.length} vars]`)];
  if (tracing()) trace(`execve(${shown(args).join(', ')}): the command takes this process over`);
  c.execve(path, [...argv, null], [...envp, null]);
  check(-1, 'execve', args);
  throw new Error('unreachable: execve returned without an error');
}

export function fcntl(fd: number, cmd: number, arg?: number): number {
  const result = arg === undefined ? c.fcntl(fd, cmd) : c.fcntl(fd, cmd, 'int', arg);
  return check(result, 'fcntl', arg === undefined ? [fd, named(cmd, F)] : [fd, named(cmd, F), arg]);
}

export interface WaitResult {
  /** 0 when WNOHANG was given and no child has changed state yet. */
  pid: number;
  status: number;
}

/** waitpid(2). Traced only when it reaps a child: a reaper's polls that find none are noise. */
export function waitpid(pid: number, options = 0): WaitResult {
  const status = new Int32Array(1);
  const result = c.waitpid(pid, status, options) as number;
  if (result === -1) throw new SyscallError('waitpid', shown([pid, raw('[?]'), flags(options, W)]), koffi.errno());
  const reaped = { pid: result, status: status[0] as number };
  if (result > 0 && tracing())
    trace(`waitpid(${pid}, [${describeStatus(reaped.status)}], ${renderFlags(options, W)}) = ${result}`);
  return reaped;
}

function describeStatus(status: number): string {
  if (exited(status)) return `exited ${exitStatus(status)}`;
  return signaled(status)
    ? `killed by ${renderEnum(termSignal(status), constants.signals)}`
    : `status 0x${status.toString(16)}`;
}

export function kill(pid: number, sig: number): void {
  check(c.kill(pid, sig), 'kill', [pid, signalName(sig)]);
}

export function prctl(option: number, arg2 = 0): number {
  return check(c.prctl(option, arg2, 0, 0, 0), 'prctl', [named(option, PR), arg2]);
}

/** prctl with a third argument (PR_CAP_AMBIENT's sub-command takes one). */
export function prctl3(option: number, arg2: number, arg3: number): number {
  return check(c.prctl(option, arg2, arg3, 0, 0), 'prctl', [named(option, PR), arg2, arg3]);
}

/** prctl(PR_CAPBSET_DROP, cap): the capability leaves the calling thread's bounding set for good. */
export function dropBoundingCapability(cap: number): void {
  check(c.prctl(PR.PR_CAPBSET_DROP, cap, 0, 0, 0), 'prctl', [
    raw('PR_CAPBSET_DROP'),
    raw(CAPABILITIES[cap] ?? String(cap)),
  ]);
}

/** The three capability sets of a thread, as 64-bit masks (bit N: capability N). */
export interface CapabilitySets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

/** _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set, so 64 capabilities. */
const CAPABILITY_VERSION_3 = 0x20080522;

function capabilityHeader(): Uint8Array {
  const header = new Uint8Array(8);
  new DataView(header.buffer).setUint32(0, CAPABILITY_VERSION_3, true); // pid 0: this thread
  return header;
}

const maskText = (mask: bigint): string => `0x${mask.toString(16)}`;

/**
 * capset(2): sets the calling *thread's* effective, permitted and inheritable sets. Only the
 * calling thread: the kernel has no call that changes another thread's capabilities, and glibc
 * does not broadcast this one to the process's other threads (as it does setresuid).
 */
export function capset(sets: CapabilitySets): void {
  const data = new Uint8Array(24); // struct __user_cap_data_struct[2]: low words, then high words
  const view = new DataView(data.buffer);
  const words = [sets.effective, sets.permitted, sets.inheritable];
  words.forEach((mask, i) => {
    view.setUint32(i * 4, Number(mask & 0xffffffffn), true);
    view.setUint32(12 + i * 4, Number((mask >> 32n) & 0xffffffffn), true);
  });
  check(c.capset(capabilityHeader(), data), 'capset', [
    raw(
      `{_LINUX_CAPABILITY_VERSION_3, 0}, {effective=${maskText(sets.effective)}, permitted=${maskText(sets.permitted)}, inheritable=${maskText(sets.inheritable)}}`,
    ),
  ]);
}

/**
 * setgroups, setresgid, setresuid: glibc runs each on every thread of the process (POSIX wants
 * the ids per process; the kernel keeps them per thread), so all of Node's threads change.
 */
export function setgroups(groups: readonly number[]): void {
  check(c.setgroups(groups.length, Uint32Array.from(groups)), 'setgroups', [
    groups.length,
    raw(`[${groups.join(', ')}]`),
  ]);
}

export function setresgid(gid: number): void {
  check(c.setresgid(gid, gid, gid), 'setresgid', [gid, gid, gid]);
}

export function setresuid(uid: number): void {
  check(c.setresuid(uid, uid, uid), 'setresuid', [uid, uid, uid]);
}

export function close(fd: number): void {
  check(c.close(fd), 'close', [fd]);
}

const SIG_ERR = 0xffffffffffffffffn; // (void *)-1

/** Restores the default action of a signal (signal(sig, SIG_DFL)); SIG_DFL is the null pointer. */
export function resetSignalAction(sig: number): void {
  // signal() reports failure as SIG_ERR ((void *)-1), not -1: compare the pointer's address.
  const previous = c.signal(sig, null);
  if (previous !== null && koffi.address(previous) === SIG_ERR) check(-1, 'signal', [signalName(sig), raw('SIG_DFL')]);
  if (tracing()) trace(`signal(${signalName(sig).text}, SIG_DFL)`);
}

/** Unblocks every signal for the calling thread (sigprocmask(SIG_SETMASK, {}, NULL)). */
export function clearSignalMask(): void {
  const empty = new Uint8Array(128); // sizeof(sigset_t) in glibc
  check(c.sigprocmask(2, empty, null), 'sigprocmask', [raw('SIG_SETMASK'), raw('[]'), null]);
}

/**
 * close_range(2) with CLOSE_RANGE_CLOEXEC: marks every fd from `first` up close-on-exec in one
 * call, without needing /proc (runc does the same before it execs the container's process).
 */
export function markCloseOnExecFrom(first: number): void {
  const CLOSE_RANGE_CLOEXEC = 1 << 2;
  check(c.close_range(first, 0xffffffff, CLOSE_RANGE_CLOEXEC), 'close_range', [
    first,
    raw('~0U'),
    raw('CLOSE_RANGE_CLOEXEC'),
  ]);
}

export function isatty(fd: number): boolean {
  return c.isatty(fd) === 1;
}

const POSIX_SPAWN_SETPGROUP = 0x02;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;

export interface SpawnOptions {
  path: string;
  argv: readonly string[];
  env: readonly string[];
  /** Start the child in a process group of its own (setpgid(0, 0) in the child). */
  newProcessGroup: boolean;
  /** A terminal fd whose foreground process group becomes the child's, before it execs. */
  foregroundOf: number | null;
}

/**
 * posix_spawn(3): a new process running `path`, without fork() in JavaScript (Node cannot fork:
 * docs/architecture.md). glibc clones with CLONE_VM|CLONE_VFORK and reports a failed execve as the
 * return value, so ENOENT or EACCES arrive here as a SyscallError like any other.
 * Every signal gets its default action and none is blocked in the child, whatever Node had set.
 */
export function posixSpawn(options: SpawnOptions): number {
  // Without the foreground step (glibc < 2.35) a new group on a terminal would be a background
  // group, stopped by SIGTTIN at its first read: stay in ours then.
  const newGroup = options.newProcessGroup && (options.foregroundOf === null || addTcsetpgrp !== null);
  // Opaque glibc structures: 336 and 80 bytes on x86_64 and aarch64; generous buffers.
  const attr = new Uint8Array(1024);
  const actions = new Uint8Array(1024);
  const all = new Uint8Array(128);
  const none = new Uint8Array(128);
  c.posix_spawnattr_init(attr);
  c.posix_spawn_file_actions_init(actions);
  c.sigfillset(all);
  c.sigemptyset(none);
  let flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  if (newGroup) {
    flags |= POSIX_SPAWN_SETPGROUP;
    c.posix_spawnattr_setpgroup(attr, 0);
  }
  c.posix_spawnattr_setflags(attr, flags);
  c.posix_spawnattr_setsigdefault(attr, all);
  c.posix_spawnattr_setsigmask(attr, none);
  if (options.foregroundOf !== null && addTcsetpgrp) addTcsetpgrp(actions, options.foregroundOf);
  const pid = new Int32Array(1);
  // posix_spawn returns the error number itself instead of setting errno.
  const error = c.posix_spawn(
    pid,
    options.path,
    actions,
    attr,
    [...options.argv, null],
    [...options.env, null],
  ) as number;
  const args = [renderArg(options.path), `[${options.argv.map((a) => renderArg(a)).join(', ')}]`];
  if (error !== 0) {
    if (tracing()) trace(`posix_spawn(${args.join(', ')}) = ${errnoText(error)}`);
    throw new SyscallError('posix_spawn', args, error);
  }
  if (tracing()) trace(`posix_spawn(${args.join(', ')}) = 0, pid ${pid[0]}`);
  return pid[0] as number;
}

const AT_FDCWD = -100;
export const OPEN_TREE_CLONE = 1;
export const OPEN_TREE_CLOEXEC = O.O_CLOEXEC;
export const AT_EMPTY_PATH = 0x1000;
export const AT_RECURSIVE = 0x8000;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x4;
export const MOUNT_ATTR_IDMAP = 0x00100000;

const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_IN_ROOT = 0x10;
const O_PATH = 0o10000000;

/**
 * openat2(2) with RESOLVE_IN_ROOT (Linux 5.6+): opens `path` as if `rootFd` were `/`. Every
 * symlink on the way, absolute ones and `..` included, is resolved inside that root, so the
 * descriptor cannot point outside it. O_PATH: a handle on the object itself, to mount on through
 * /proc/self/fd/N, which leaves no time between the check and the use (runc does the same).
 */
export function openInRoot(rootFd: number, path: string): number {
  const how = Buffer.alloc(24); // struct open_how { u64 flags; u64 mode; u64 resolve; }
  how.writeBigUInt64LE(BigInt(O_PATH | O.O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), 16);
  const args = ['int', rootFd, 'const char *', path, 'uint8_t *', how, 'size_t', 24];
  const fd = Number(c.syscall(SYS_OPENAT2, ...args));
  return check(fd, 'openat2', [rootFd, path, raw('{O_PATH|O_CLOEXEC, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS}'), 24]);
}

/** open_tree(2): a detached copy of the mount at `path`, as an fd, to change before attaching it. */
export function openTree(path: string, flags: number): number {
  const fd = Number(c.syscall(SYS_OPEN_TREE, 'int', AT_FDCWD, 'const char *', path, 'unsigned int', flags));
  return check(fd, 'open_tree', [
    raw('AT_FDCWD'),
    path,
    raw(renderFlags(flags, { OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC, AT_RECURSIVE })),
  ]);
}

/**
 * mount_setattr(2) with MOUNT_ATTR_IDMAP: the detached mount `fd` shows files through the id map
 * of the user namespace `usernsFd` (Linux 5.12+; the filesystem must support it).
 */
export function idmapMount(fd: number, usernsFd: number): void {
  mountSetattr(fd, '', AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_IDMAP, usernsFd);
}

/** move_mount(2): attaches the detached mount `fd` at `target`. */
export function moveMount(fd: number, target: string): void {
  const result = Number(
    c.syscall(
      SYS_MOVE_MOUNT,
      'int',
      fd,
      'const char *',
      '',
      'int',
      AT_FDCWD,
      'const char *',
      target,
      'unsigned int',
      MOVE_MOUNT_F_EMPTY_PATH,
    ),
  );
  check(result, 'move_mount', [fd, '', raw('AT_FDCWD'), target, raw('MOVE_MOUNT_F_EMPTY_PATH')]);
}

/**
 * Sets `lo` up in the calling thread's network namespace, with the same ioctl `ip link set lo up`
 * makes: SIOCGIFFLAGS, add IFF_UP, SIOCSIFFLAGS on any socket of that namespace.
 */
export function bringLoopbackUp(): void {
  const AF_INET = 2;
  const SOCK_DGRAM = 2;
  const SIOCGIFFLAGS = 0x8913;
  const SIOCSIFFLAGS = 0x8914;
  const IFF_UP = 0x1;
  const socket = check(c.socket(AF_INET, SOCK_DGRAM | O.O_CLOEXEC, 0), 'socket', [
    raw('AF_INET'),
    raw('SOCK_DGRAM|SOCK_CLOEXEC'),
    0,
  ]);
  try {
    const ifreq = new Uint8Array(40); // struct ifreq: char ifr_name[16]; then the flags (short)
    ifreq.set(Buffer.from('lo\0'));
    check(c.ioctl(socket, SIOCGIFFLAGS, ifreq), 'ioctl', [socket, raw('SIOCGIFFLAGS'), raw('{ifr_name="lo"}')]);
    const view = new DataView(ifreq.buffer);
    view.setInt16(16, view.getInt16(16, true) | IFF_UP, true);
    check(c.ioctl(socket, SIOCSIFFLAGS, ifreq), 'ioctl', [socket, raw('SIOCSIFFLAGS'), raw('{ifr_name="lo", IFF_UP}')]);
  } finally {
    c.close(socket);
  }
}

/** mount_setattr(2) on `path` and every mount below it: read-only all the way down (Linux 5.12+). */
export function makeReadOnlyRecursive(path: string): void {
  const MOUNT_ATTR_RDONLY = 0x1;
  mountSetattr(AT_FDCWD, path, AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0);
}

/** mount_setattr(2), setting `attrSet` (and the user namespace of an idmap) on a mount tree. */
function mountSetattr(dirfd: number, path: string, flags: number, attrSet: number, usernsFd: number): void {
  const attr = Buffer.alloc(32); // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }
  attr.writeBigUInt64LE(BigInt(attrSet), 0);
  attr.writeBigUInt64LE(BigInt(usernsFd), 24);
  const args = ['int', dirfd, 'const char *', path, 'unsigned int', flags, 'uint8_t *', attr, 'size_t', 32];
  const result = Number(c.syscall(SYS_MOUNT_SETATTR, ...args));
  const shownFlags = renderFlags(flags, { AT_EMPTY_PATH, AT_RECURSIVE });
  const shownAttr = `{attr_set=${renderFlags(attrSet, { MOUNT_ATTR_RDONLY: 1, MOUNT_ATTR_IDMAP })}${usernsFd ? `, userns_fd=${usernsFd}` : ''}}`;
  check(result, 'mount_setattr', [
    dirfd === AT_FDCWD ? raw('AT_FDCWD') : dirfd,
    path,
    raw(shownFlags),
    raw(shownAttr),
    32,
  ]);
}

/**
 * A character device 0/0 at `path`: what overlayfs reads as a whiteout (a file deleted in an
 * upper layer). Node has no mknod; only root (CAP_MKNOD) may make one.
 */
export function mknodWhiteout(path: string): void {
  const S_IFCHR = 0o020000;
  check(c.mknod(path, S_IFCHR, 0), 'mknod', [path, raw('S_IFCHR|0000'), raw('makedev(0, 0)')]);
}

/** lsetxattr(2): an extended attribute on `path` itself, never on where a symlink leads. */
export function lsetxattr(path: string, name: string, value: string): void {
  const bytes = Buffer.from(value);
  check(c.lsetxattr(path, name, bytes, bytes.length, 0), 'lsetxattr', [path, name, value, bytes.length, 0]);
}

/** lgetxattr(2): the attribute's value, or null when `path` has none (ENODATA). */
export function lgetxattr(path: string, name: string): string | null {
  const value = Buffer.alloc(4096);
  const length = Number(c.lgetxattr(path, name, value, value.length));
  if (length === -1 && koffi.errno() === constants.errno.ENODATA) return null;
  check(length, 'lgetxattr', [path, name]);
  return value.subarray(0, length).toString();
}

/**
 * flock(2): an advisory lock on the open file behind `fd`, shared by every fd dup'ed from the same
 * open(2) and released by the kernel when the last of them closes, so a holder killed with SIGKILL
 * leaves no stale lock behind (a lock file or directory would). With LOCK_NB a lock held by another
 * open file returns false (EWOULDBLOCK) instead of waiting; every other failure throws.
 */
export function flock(fd: number, operation: number): boolean {
  const result = c.flock(fd, operation) as number;
  if (result === -1 && operation & LOCK.LOCK_NB && koffi.errno() === constants.errno.EWOULDBLOCK) {
    if (tracing()) trace(`flock(${fd}, ${renderFlags(operation, LOCK)}) = -1 EWOULDBLOCK (held by another)`);
    return false;
  }
  check(result, 'flock', [fd, flags(operation, LOCK)]);
  return true;
}
