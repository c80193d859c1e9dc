/** Which host ids a container's ids 0, 1, 2... stand for. Pure functions, unit-tested. */

export interface IdRange {
  /** First id inside the user namespace. */
  inside: number;
  /** The host id it maps to. */
  outside: number;
  count: number;
}

// #region maps
/** Used when /etc/subuid has no range for the user: 65536 ids from 100000, a common default. */
export const DEFAULT_RANGE = { start: 100000, count: 65536 };

/** The line of /etc/subuid (or /etc/subgid) for a user, by name or by numeric id. */
export function subordinateRange(
  file: string,
  user: string | undefined,
  id: number,
): { start: number; count: number } | null {
  for (const line of file.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if ((owner === user || owner === String(id)) && start && count)
      return { start: Number(start), count: Number(count) };
  }
  return null;
}

/** With root: the container's 0..count-1 are the host's start..start+count-1, none of them host root. */
export function rootfulMap(range: { start: number; count: number }): IdRange[] {
  return [{ inside: 0, outside: range.start, count: range.count }];
}

/**
 * Without root: the user's own id becomes root inside. That single line is all an unprivileged
 * process may write itself; more needs the setuid newuidmap and a range in /etc/subuid.
 */
export function rootlessMap(ownId: number, range: { start: number; count: number } | null): IdRange[] {
  const own = { inside: 0, outside: ownId, count: 1 };
  return range ? [own, { inside: 1, outside: range.start, count: range.count }] : [own];
}
// #endregion maps

/** The text the kernel wants in /proc/<pid>/uid_map: "inside outside count" a line. */
export function mapText(ranges: readonly IdRange[]): string {
  return ranges.map((r) => `${r.inside} ${r.outside} ${r.count}\n`).join('');
}

/** The same as arguments for newuidmap/newgidmap: pid, then the triples. */
export function mapArgs(pid: number, ranges: readonly IdRange[]): string[] {
  return [String(pid), ...ranges.flatMap((r) => [String(r.inside), String(r.outside), String(r.count)])];
}

// #region refusal-hint
/** Why an unprivileged user namespace was refused, and the exact fix, from the kernel's switches. */
export function usernsRefusalHint(read: (path: string) => string | null): string {
  if (read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim() === '1') {
    return 'AppArmor restricts unprivileged user namespaces here (Ubuntu 23.10+): allow them with  sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0  (or run with sudo)';
  }
  if (read('/proc/sys/kernel/unprivileged_userns_clone')?.trim() === '0') {
    return 'unprivileged user namespaces are switched off: allow them with  sudo sysctl -w kernel.unprivileged_userns_clone=1  (or run with sudo)';
  }
  if (read('/proc/sys/user/max_user_namespaces')?.trim() === '0') {
    return 'user namespaces are switched off: allow them with  sudo sysctl -w user.max_user_namespaces=15000';
  }
  return "the kernel refused a user namespace: run with sudo, or check the kernel's user namespace settings";
}
// #endregion refusal-hint
