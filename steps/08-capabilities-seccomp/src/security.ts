/**
 * What root inside may still do. Up to step 07 the container's root holds every capability of
 * its user namespace and may make every system call: it can mount, unshare a new user namespace
 * and regain everything there, read the keyrings it inherited. This feature takes that away, in
 * three layers, as docker, runc and crun do:
 *
 *   capabilities    docker's 14 instead of all 41 (capabilities.ts)
 *   no_new_privs    execve can never grant more: setuid bits and file capabilities are ignored
 *   seccomp         a filter in the kernel refuses ~60 calls outright (EPERM), whatever the
 *                   capabilities (seccomp-profile.ts, libseccomp.ts)
 *
 * Everything happens in the init, on its main thread, after every earlier step's setup (the last
 * mount, pivot_root) and right before step 06's init starts the command, which inherits it all.
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineFeature, flag, repeatable, toggle, UsageError } from '@ctr/runtime';
import { joinSessionKeyring, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, prctl } from '@ctr/syscalls';
import { capabilityMask, capabilitySet, dropBoundingSet, setCapabilities } from './capabilities.js';
import { type CompiledFilter, compileSeccompFilter, loadSeccompFilter } from './libseccomp.js';
import { parseProfile, resolveProfile, seccompArchitecture } from './seccomp-profile.js';
import { type ContainerUser, parseUser, switchUser } from './user.js';

export interface SecurityConfig {
  /** The capabilities kept, as the kernel's mask in hex: the spec crosses to the init as JSON (no bigint). */
  capabilityMask: string;
  /** The host kernel's highest capability number: the container runs on the same kernel. */
  lastCapability: number;
  noNewPrivileges: boolean;
  /** The filter, compiled on the host; null: no filter (unconfined, --privileged). */
  seccomp: CompiledFilter | null;
  user: ContainerUser | null;
}

export const DEFAULT_PROFILE = fileURLToPath(new URL('../profiles/docker-default.json', import.meta.url));

interface SecurityOptions {
  /** null: docker's default profile; 'unconfined': none; otherwise a profile's path. */
  seccomp: string | null;
  /** null: not said, so on unless --privileged. */
  noNewPrivileges: boolean | null;
}

/** Docker's --security-opt forms this step knows; the rest (apparmor=, label=) is refused. */
function parseSecurityOptions(values: readonly string[]): SecurityOptions {
  const options: SecurityOptions = { seccomp: null, noNewPrivileges: null };
  for (const value of values) {
    const [key, setting] = value.split(/[=:](.*)/s, 2) as [string, string | undefined];
    if (key === 'seccomp' && setting) {
      options.seccomp = setting;
    } else if (key === 'no-new-privileges' && (setting === undefined || setting === 'true' || setting === 'false')) {
      options.noNewPrivileges = setting !== 'false';
    } else if (key === 'apparmor' || key === 'label') {
      throw new UsageError(
        `--security-opt ${value}: this runtime has no AppArmor or SELinux support: leave it out (see the step 08 page)`,
      );
    } else {
      throw new UsageError(
        `--security-opt ${JSON.stringify(value)}: use seccomp=unconfined, seccomp=<profile.json> or no-new-privileges[=true|false]`,
      );
    }
  }
  return options;
}

function readProfile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UsageError(`--security-opt seccomp=${path}: ${reason}: give the path of a docker seccomp profile (JSON)`);
  }
}

/** How many capabilities this kernel has: /proc/sys/kernel/cap_last_cap is the highest number. */
function lastCapability(): number {
  return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
}

export const security = defineFeature({
  name: 'security',
  flags: {
    capAdd: repeatable('--cap-add <capability>', 'add a capability to the default set (repeatable; ALL for all)'),
    capDrop: repeatable('--cap-drop <capability>', 'drop a capability of the default set (repeatable; ALL for all)'),
    securityOpt: repeatable(
      '--security-opt <option>',
      'seccomp=unconfined, seccomp=<profile.json> (docker format), no-new-privileges[=true|false] (repeatable)',
    ),
    user: flag('-u, --user <uid[:gid]>', 'run the command as this user of the container (numbers)'),
    privileged: toggle('--privileged', 'every capability, no seccomp filter, no no_new_privs (to compare)'),
  },
  // Trace: `host 08 security.configure`: the profile is read, resolved and compiled to BPF here,
  // so a bad one is refused before anything exists, while the init is still starting.
  configure({ capAdd, capDrop, securityOpt, user, privileged }): SecurityConfig {
    const options = parseSecurityOptions(securityOpt);
    const last = lastCapability();
    const capabilities = capabilitySet({ add: capAdd, drop: capDrop, privileged: Boolean(privileged) }, last);
    const confined = !privileged && options.seccomp !== 'unconfined';
    const profilePath = options.seccomp ?? DEFAULT_PROFILE;
    const profile = confined ? parseProfile(readProfile(profilePath), `--security-opt seccomp=${profilePath}`) : null;
    const rules =
      profile &&
      resolveProfile(profile, { caps: capabilities, arch: seccompArchitecture(process.arch), kernel: release() });
    return {
      capabilityMask: capabilityMask(capabilities).toString(16),
      lastCapability: last,
      noNewPrivileges: options.noNewPrivileges ?? !privileged,
      seccomp: rules && compileSeccompFilter(rules),
      user: user === undefined ? null : parseUser(user),
    };
  },
  // #region setup
  // Trace: `init 08 security.setup`, the last setup hook: prctl, capset, seccomp, in runc's order.
  setup(config, spec) {
    const keep = BigInt(`0x${config.capabilityMask}`);
    // #task 08.2
    // Set first: it is inherited by everything this thread starts, and lets an unprivileged
    // thread install a seccomp filter (the kernel wants no_new_privs or CAP_SYS_ADMIN for that).
    if (config.noNewPrivileges) prctl(PR_SET_NO_NEW_PRIVS, 1);
    // The session keyring came from the runtime's caller: its keys are readable by any process
    // that holds it, in any namespace. A new one, as runc gives every container,
    // before any filter (docker's refuses keyctl).
    joinSessionKeyring(`_ses.${spec.id}`);
    // While CAP_SETPCAP is still held.
    dropBoundingSet(keep, config.lastCapability);
    // Without no_new_privs the filter needs CAP_SYS_ADMIN, which the capset below gives up: load
    // it now, and it must allow the calls that follow (docker's profile does), as runc does.
    if (config.seccomp && !config.noNewPrivileges) loadSeccompFilter(config.seccomp);
    if (config.user) switchUser(config.user);
    setCapabilities(keep, (config.user?.uid ?? 0) === 0);
    // capset changed this thread only: Node's other threads still hold every capability, in the
    // same memory. A process the command's uid may ptrace (this one is, as root inside) can write
    // that memory through /proc/1/mem; not dumpable, the kernel asks CAP_SYS_PTRACE for it.
    prctl(PR_SET_DUMPABLE, 0);
    // Last, so that nothing this runtime still has to do is refused by it.
    if (config.seccomp && config.noNewPrivileges) loadSeccompFilter(config.seccomp);
    // #end-task
  },
  // #endregion setup
});
