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
  PR_SET_NAME: 15,
  PR_SET_NO_NEW_PRIVS: 38,
  PR_SET_CHILD_SUBREAPER: 36,
  PR_GET_CHILD_SUBREAPER: 37,
} as const;

export const {
  PR_SET_PDEATHSIG,
  PR_GET_PDEATHSIG,
  PR_SET_NAME,
  PR_SET_NO_NEW_PRIVS,
  PR_SET_CHILD_SUBREAPER,
  PR_GET_CHILD_SUBREAPER,
} = PR;

/** sigprocmask(2) `how`. */
export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;
