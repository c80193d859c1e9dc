/**
 * Kernel ABI constants (include/uapi/linux/sched.h, mount.h, fs.h, fcntl.h, prctl.h).
 * They are the same on every Linux architecture this project supports (x86_64, aarch64).
 */

/** Namespace flags for unshare(2), setns(2) and clone(2). */
export const CLONE = {
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
  CLONE_NEWTIME: 0x00000080,
  CLONE_FS: 0x00000200,
  CLONE_FILES: 0x00000400,
  CLONE_SYSVSEM: 0x00040000,
} as const;

export const {
  CLONE_NEWNS,
  CLONE_NEWCGROUP,
  CLONE_NEWUTS,
  CLONE_NEWIPC,
  CLONE_NEWUSER,
  CLONE_NEWPID,
  CLONE_NEWNET,
  CLONE_NEWTIME,
  CLONE_FS,
  CLONE_FILES,
  CLONE_SYSVSEM,
} = CLONE;

/** mount(2) flags. */
export const MS = {
  MS_RDONLY: 1,
  MS_NOSUID: 2,
  MS_NODEV: 4,
  MS_NOEXEC: 8,
  MS_SYNCHRONOUS: 16,
  MS_REMOUNT: 32,
  MS_MANDLOCK: 64,
  MS_DIRSYNC: 128,
  MS_NOSYMFOLLOW: 256,
  MS_NOATIME: 1024,
  MS_NODIRATIME: 2048,
  MS_BIND: 4096,
  MS_MOVE: 8192,
  MS_REC: 16384,
  MS_SILENT: 32768,
  MS_POSIXACL: 1 << 16,
  MS_UNBINDABLE: 1 << 17,
  MS_PRIVATE: 1 << 18,
  MS_SLAVE: 1 << 19,
  MS_SHARED: 1 << 20,
  MS_RELATIME: 1 << 21,
  MS_KERNMOUNT: 1 << 22,
  MS_I_VERSION: 1 << 23,
  MS_STRICTATIME: 1 << 24,
  MS_LAZYTIME: 1 << 25,
} as const;

export const {
  MS_RDONLY,
  MS_NOSUID,
  MS_NODEV,
  MS_NOEXEC,
  MS_REMOUNT,
  MS_NOATIME,
  MS_BIND,
  MS_MOVE,
  MS_REC,
  MS_SILENT,
  MS_UNBINDABLE,
  MS_PRIVATE,
  MS_SLAVE,
  MS_SHARED,
  MS_RELATIME,
  MS_STRICTATIME,
} = MS;

/** umount2(2) flags. */
export const MNT = {
  MNT_FORCE: 1,
  MNT_DETACH: 2,
  MNT_EXPIRE: 4,
  UMOUNT_NOFOLLOW: 8,
} as const;

export const { MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW } = MNT;

/** fcntl(2) commands and flags. */
export const F = {
  F_DUPFD: 0,
  F_GETFD: 1,
  F_SETFD: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  F_DUPFD_CLOEXEC: 1030,
} as const;

export const { F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC } = F;
export const FD_CLOEXEC = 1;

/** open(2)/pipe2(2) flags (octal in the C headers). */
export const O = {
  O_NONBLOCK: 0o4000,
  O_CLOEXEC: 0o2000000,
} as const;

export const { O_NONBLOCK, O_CLOEXEC } = O;

/** flock(2) operations: one of SH, EX, UN, or'ed with NB to fail instead of waiting. */
export const LOCK = {
  LOCK_SH: 1,
  LOCK_EX: 2,
  LOCK_NB: 4,
  LOCK_UN: 8,
} as const;

export const { LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN } = LOCK;

/** waitpid(2) options. */
export const W = {
  WNOHANG: 1,
  WUNTRACED: 2,
  WCONTINUED: 8,
  __WALL: 0x40000000,
} as const;

export const { WNOHANG, WUNTRACED, WCONTINUED } = W;

/** prctl(2) options this project uses. */
export const PR = {
  PR_SET_PDEATHSIG: 1,
  PR_GET_PDEATHSIG: 2,
  PR_SET_DUMPABLE: 4,
  PR_SET_NAME: 15,
  PR_SET_NO_NEW_PRIVS: 38,
  PR_SET_CHILD_SUBREAPER: 36,
  PR_GET_CHILD_SUBREAPER: 37,
  PR_CAPBSET_READ: 23,
  PR_CAPBSET_DROP: 24,
  PR_GET_NO_NEW_PRIVS: 39,
  PR_CAP_AMBIENT: 47,
} as const;

export const {
  PR_SET_PDEATHSIG,
  PR_GET_PDEATHSIG,
  PR_SET_DUMPABLE,
  PR_SET_NAME,
  PR_SET_NO_NEW_PRIVS,
  PR_SET_CHILD_SUBREAPER,
  PR_GET_CHILD_SUBREAPER,
  PR_CAPBSET_READ,
  PR_CAPBSET_DROP,
  PR_GET_NO_NEW_PRIVS,
  PR_CAP_AMBIENT,
} = PR;

/** prctl(PR_CAP_AMBIENT, ...)'s second argument. */
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

/** sigprocmask(2) `how`. */
export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;

/** include/uapi/linux/capability.h, in the kernel's order: a name's index is its number. */
export const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;
