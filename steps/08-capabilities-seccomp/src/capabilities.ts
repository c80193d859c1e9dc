/**
 * Root's power, in pieces. Since Linux 2.2 "root" is not one privilege but about forty
 * capabilities, each checked by the kernel where it matters (CAP_SYS_ADMIN by mount,
 * CAP_NET_ADMIN by a route change, CAP_DAC_READ_SEARCH by open_by_handle_at...). A thread holds
 * five sets of them (man 7 capabilities):
 *
 *   bounding     the most it can ever hold again: execve() cannot grant more, even to setuid root
 *   permitted    what it may make effective
 *   effective    what the kernel checks right now
 *   inheritable  what may pass through execve to a program whose file marks them inheritable
 *   ambient      what passes through execve to any program (for non-root users)
 *
 * A process of uid 0 that calls execve() gets permitted = effective = its bounding set, so for
 * root inside the container the bounding set is the one that counts: what is dropped from it is
 * gone for the container's whole life.
 */
import { UsageError } from '@ctr/runtime';
import {
  CAPABILITIES,
  capset,
  dropBoundingCapability,
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_CLEAR_ALL,
  prctl3,
} from '@ctr/syscalls';

export { CAPABILITIES };

/**
 * Docker's default set (moby's oci/caps/defaults.go): what most programs that expect root need
 * (chown files, bind port 80, switch users, chroot) and nothing that reaches beyond the
 * container (no CAP_SYS_ADMIN: mount; no CAP_NET_ADMIN; no CAP_SYS_PTRACE; no CAP_SYS_MODULE).
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** `sys_admin`, `SYS_ADMIN` and `CAP_SYS_ADMIN` are one name, as docker takes them; ALL stays ALL. */
function normalize(name: string, flag: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return upper;
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!(CAPABILITIES as readonly string[]).includes(full)) {
    throw new UsageError(
      `${flag} ${JSON.stringify(name)}: not a capability: use a name of man 7 capabilities, e.g. ${flag} NET_ADMIN, or ALL`,
    );
  }
  return full;
}

/**
 * The set the container keeps, by docker's rules (moby's TweakCapabilities): --cap-add ALL keeps
 * everything but what --cap-drop names; --cap-drop ALL keeps only what --cap-add names; otherwise
 * the default set, minus the drops, plus the adds. `known` is what this kernel has
 * (/proc/sys/kernel/cap_last_cap): asking for a capability it does not know fails in capset.
 */
export function capabilitySet(
  options: { add: readonly string[]; drop: readonly string[]; privileged: boolean },
  known: number,
): string[] {
  const all = CAPABILITIES.slice(0, known + 1) as readonly string[];
  const add = options.add.map((name) => normalize(name, '--cap-add'));
  const drop = options.drop.map((name) => normalize(name, '--cap-drop'));
  for (const name of [...add, ...drop]) {
    if (name !== 'ALL' && !all.includes(name)) {
      throw new UsageError(`${name} is newer than this kernel (it knows ${all.length} capabilities): leave it out`);
    }
  }
  if (options.privileged) return [...all];
  if (add.includes('ALL')) return all.filter((name) => !drop.includes(name));
  if (drop.includes('ALL')) return all.filter((name) => add.includes(name));
  return all.filter((name) => (DEFAULT_CAPABILITIES.includes(name) && !drop.includes(name)) || add.includes(name));
}

/** A set as the kernel's 64-bit mask, the form /proc/<pid>/status shows it in (CapEff: ...). */
export function capabilityMask(names: readonly string[]): bigint {
  return names.reduce((mask, name) => mask | (1n << BigInt((CAPABILITIES as readonly string[]).indexOf(name))), 0n);
}

// #region drop-bounding
/**
 * Removes from this thread's bounding set every capability up to `last` (this kernel's
 * cap_last_cap) that is not in `keep`. Needs CAP_SETPCAP, so it comes before the capset that may
 * give that up. Per thread, like every capability set: the processes this thread starts inherit
 * it, Node's other threads keep theirs.
 */
export function dropBoundingSet(keep: bigint, last: number): void {
  // #task 08.1
  for (let cap = 0; cap <= last; cap++) {
    if (!(keep & (1n << BigInt(cap)))) dropBoundingCapability(cap);
  }
  // #end-task
}
// #endregion drop-bounding

// #region set-capabilities
/**
 * The final sets of this thread, which the command inherits through posix_spawn and execve:
 * effective = permitted = `keep` for root (a non-root user has none left after setresuid, and
 * could not raise them), inheritable empty and ambient cleared, as docker does since 20.10.14: an
 * inheritable set let a program with file-inheritable capabilities gain them even as a non-root
 * user (CVE-2022-24769).
 */
export function setCapabilities(keep: bigint, root: boolean): void {
  // #task 08.1
  const held = root ? keep : 0n;
  capset({ effective: held, permitted: held, inheritable: 0n });
  prctl3(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0);
  // #end-task
}
// #endregion set-capabilities
