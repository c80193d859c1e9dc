/**
 * -u, --user uid[:gid]: the command runs as that user of the container's user namespace. Numbers
 * only: a name would have to be looked up in the container's /etc/passwd, which is the image's
 * business (step 09).
 */
import { EXIT_RUNTIME_ERROR, RuntimeError, readFileOr, UsageError } from '@ctr/runtime';
import { SyscallError, setgroups, setresgid, setresuid } from '@ctr/syscalls';

export interface ContainerUser {
  uid: number;
  /** null: the user's group in the container's /etc/passwd, else 0, as docker does. */
  gid: number | null;
}

const ID = /^\d{1,10}$/;

export function parseUser(value: string): ContainerUser {
  const [uid, gid, ...rest] = value.split(':');
  const valid = (id: string | undefined): id is string => id !== undefined && ID.test(id) && Number(id) < 2 ** 32 - 1;
  if (rest.length > 0 || !valid(uid) || (gid !== undefined && !valid(gid))) {
    throw new UsageError(
      `--user ${JSON.stringify(value)}: give a numeric uid or uid:gid, e.g. --user 1000 or --user 1000:1000`,
    );
  }
  return { uid: Number(uid), gid: gid === undefined ? null : Number(gid) };
}

/** The primary group of `uid` in the container's /etc/passwd (read after pivot_root), or 0. */
function primaryGroup(uid: number): number {
  const passwd = readFileOr('/etc/passwd', '');
  for (const line of passwd.split('\n')) {
    const [, , id, gid] = line.split(':');
    if (id === String(uid) && gid && ID.test(gid)) return Number(gid);
  }
  return 0;
}

// #region switch-user
/**
 * Groups first, then the gid, then the uid: once the uid is not 0 the thread has lost CAP_SETGID
 * and could no longer change its groups. Leaving uid 0 for good (real, effective and saved) also
 * makes the kernel clear the permitted and effective capability sets. A uid the container's
 * user namespace does not map is refused with EINVAL.
 */
export function switchUser(user: ContainerUser): void {
  // #task 08.4
  const gid = user.gid ?? primaryGroup(user.uid);
  try {
    // Rootless, step 07 wrote "deny" to /proc/<pid>/setgroups before gid_map, as the kernel
    // requires of an unprivileged map: setgroups then fails with EPERM, and the groups are
    // the one the map has anyway. runc skips it in that case too.
    if (readFileOr('/proc/self/setgroups', '').trim() !== 'deny') setgroups([]);
    setresgid(gid);
    setresuid(user.uid);
  } catch (error) {
    if (!(error instanceof SyscallError) || error.code !== 'EINVAL') throw error;
    throw new RuntimeError(
      `--user ${user.uid}:${gid}: the container's user namespace does not map that id (rootless without a /etc/subuid range maps only 0): use an id of its uid_map`,
      EXIT_RUNTIME_ERROR,
      { cause: error },
    );
  }
  // #end-task
}
// #endregion switch-user
