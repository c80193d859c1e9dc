/**
 * What `pnpm doctor` concludes from what it read: pure functions over text and probe results,
 * unit-tested. The reading itself (files, probes in throwaway children) is probes.ts.
 */

export const STEPS = ['01', '02', '03', '04', '05', '06', '07', '08', '09'] as const;
export type StepId = (typeof STEPS)[number];

/** ok: present; missing: a step cannot run without it; warn: it runs, with less; info: a fact. */
export type Status = 'ok' | 'missing' | 'warn' | 'info';

export interface Fact {
  status: Status;
  name: string;
  detail: string;
  fix?: string;
  /** The steps that cannot run while this fact is `missing`. */
  blocks?: readonly StepId[];
}

/** Steps `from` to the last: a step needs everything its predecessors need. */
export const from = (step: StepId): StepId[] => STEPS.filter((s) => s >= step);

/** One line: status, name, what was found, and the fix where something is missing. */
export function renderFact(fact: Fact): string {
  return `${fact.status.padEnd(8)}${fact.name}: ${fact.detail}${fact.fix ? `; fix: ${fact.fix}` : ''}`;
}

/** The last line: which steps can run here, and for the others the first fact that stops them. */
export function verdict(facts: readonly Fact[]): { line: string; allCanRun: boolean } {
  const blockers = new Map<StepId, string>();
  for (const fact of facts) {
    if (fact.status !== 'missing') continue;
    for (const step of fact.blocks ?? []) if (!blockers.has(step)) blockers.set(step, fact.name);
  }
  const can = STEPS.filter((step) => !blockers.has(step));
  const cannot = STEPS.filter((step) => blockers.has(step)).map((step) => `${step} (${blockers.get(step)})`);
  const line = `steps: ${can.length > 0 ? `${can.join(' ')} can run here` : 'none can run here'}${
    cannot.length > 0 ? `; cannot: ${cannot.join(', ')}` : ''
  }`;
  return { line, allCanRun: cannot.length === 0 };
}

// #region kernel
/**
 * Step 03 resolves paths inside the rootfs with openat2(RESOLVE_IN_ROOT) (5.6) and makes read-only
 * binds with mount_setattr (5.12); step 07 maps the rootfs with an idmapped mount (5.12).
 */
export function kernelFact(release: string): Fact {
  const [major = 0, minor = 0] = release.split(/[.-]/).map(Number);
  const recent = major > 5 || (major === 5 && minor >= 12);
  return recent
    ? { status: 'ok', name: 'kernel', detail: `${release} (5.12 or later: openat2, mount_setattr, idmapped mounts)` }
    : {
        status: 'missing',
        name: 'kernel',
        detail: `${release}: steps 03 on need 5.12 or later (openat2 5.6, mount_setattr and idmapped mounts 5.12)`,
        fix: 'boot a newer kernel (Debian 12, Ubuntu 22.04 and Fedora 36 have one)',
        blocks: from('03'),
      };
}
// #endregion kernel

/** The namespaces each step adds, as util-linux's unshare names them. */
export const NAMESPACES = [
  { name: 'pid', flags: ['--pid', '--fork'], step: '01' },
  { name: 'uts', flags: ['--uts'], step: '02' },
  { name: 'ipc', flags: ['--ipc'], step: '02' },
  { name: 'mount', flags: ['--mount'], step: '03' },
  { name: 'cgroup', flags: ['--cgroup'], step: '04' },
  { name: 'network', flags: ['--net'], step: '05' },
  { name: 'user', flags: ['--user'], step: '07' },
] as const satisfies readonly { name: string; flags: readonly string[]; step: StepId }[];

/** How a probe in a throwaway child ended: its exit status and the first line of its stderr. */
export interface ProbeResult {
  status: number | null;
  stderr: string;
}

export function namespaceFact(namespace: (typeof NAMESPACES)[number], as: string, probe: ProbeResult): Fact {
  const command = `unshare ${namespace.flags.join(' ')} true`;
  if (probe.status === 0)
    return { status: 'ok', name: `${namespace.name} namespace`, detail: `${as}: ${command} works` };
  return {
    status: 'missing',
    name: `${namespace.name} namespace`,
    detail: `${as}: ${command} failed: ${firstLine(probe.stderr) || `exit ${probe.status}`}`,
    fix: 'a kernel built with this namespace (CONFIG_*_NS), and outside a container that forbids it',
    blocks: from(namespace.step),
  };
}

// #region sysctls
/**
 * The three switches for unprivileged user namespaces: only a rootless step 07 (and 08, in 07's
 * user namespace) needs them (as root, user namespaces need none). `read` gives a file's text or
 * null when it does not exist.
 */
export function userNamespaceSysctls(read: (path: string) => string | null, rootless: boolean): Fact[] {
  const blocks = rootless ? from('07') : [];
  const failing: Status = rootless ? 'missing' : 'warn';
  return [
    sysctlFact(
      read,
      'kernel.unprivileged_userns_clone',
      { status: 'info', detail: 'not in this kernel (a Debian/Ubuntu patch)' },
      {
        value: '0',
        status: failing,
        detail: '0: users may not make user namespaces (rootless step 07 needs them)',
        fix: 'sudo sysctl -w kernel.unprivileged_userns_clone=1',
        blocks,
      },
    ),
    sysctlFact(
      read,
      'user.max_user_namespaces',
      {
        status: 'missing',
        detail: 'absent: this kernel has no user namespaces',
        fix: 'a kernel with CONFIG_USER_NS',
        blocks: from('07'),
      },
      {
        value: '0',
        status: 'missing',
        detail: '0: no user namespace may be made, not even by root',
        fix: 'sudo sysctl -w user.max_user_namespaces=15000',
        blocks: from('07'),
      },
    ),
    sysctlFact(
      read,
      'kernel.apparmor_restrict_unprivileged_userns',
      { status: 'info', detail: 'not in this kernel (the Ubuntu 23.10+ restriction)' },
      {
        value: '1',
        status: failing,
        detail:
          '1: AppArmor lets a user make a user namespace but takes its capabilities away (Ubuntu 23.10+), so a rootless container cannot set itself up',
        fix: 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (until reboot; a file in /etc/sysctl.d keeps it), or run step 07 with sudo',
        blocks,
      },
    ),
  ];
}

/** A sysctl read from /proc/sys (its dots are the path's slashes): absent, the one bad value, or ok. */
function sysctlFact(
  read: (path: string) => string | null,
  name: string,
  absent: Omit<Fact, 'name'>,
  { value: badValue, ...bad }: Omit<Fact, 'name'> & { value: string },
): Fact {
  const value = read(`/proc/sys/${name.replaceAll('.', '/')}`)?.trim();
  if (value === undefined) return { name, ...absent };
  if (value === badValue) return { name, ...bad };
  return { status: 'ok', name, detail: value };
}
// #endregion sysctls

/** The Debian package of each tool a step needs, for the fix. */
export const TOOLS = [
  { tool: 'unshare', pkg: 'util-linux', why: 'the namespace probes of this doctor', steps: [] },
  { tool: 'ip', pkg: 'iproute2', why: "step 05's veth and bridge", steps: from('05') },
  { tool: 'nft', pkg: 'nftables', why: "step 05's NAT and port publishing", steps: from('05') },
  { tool: 'nsenter', pkg: 'util-linux', why: "step 05's address set-up inside the container", steps: from('05') },
  { tool: 'cc', pkg: 'gcc', why: "step 07's native helper, native/nsexec.c", steps: from('07') },
  { tool: 'slirp4netns', pkg: 'slirp4netns', why: 'rootless networking in step 07; without it, --net none', steps: [] },
  {
    tool: 'newuidmap',
    pkg: 'uidmap',
    why: 'rootless id ranges from /etc/subuid in step 07; without it, one id',
    steps: [],
  },
  {
    tool: 'newgidmap',
    pkg: 'uidmap',
    why: 'rootless id ranges from /etc/subgid in step 07; without it, one id',
    steps: [],
  },
  {
    tool: 'zstd',
    pkg: 'zstd',
    why: "step 09's zstd-compressed image layers; without it, gzip and plain tar ones only",
    steps: [],
  },
  {
    tool: 'docker-registry',
    pkg: 'docker-registry',
    why: "step 09's tests: the registry they start on 127.0.0.1 (pulling works without it)",
    steps: [],
  },
] as const satisfies readonly { tool: string; pkg: string; why: string; steps: readonly StepId[] }[];

/** Fedora's name of a Debian package, where it differs. */
const FEDORA_NAMES: Record<string, string> = {
  iproute2: 'iproute',
  uidmap: 'shadow-utils',
  'docker-registry': 'docker-distribution',
};

export function toolFact(entry: (typeof TOOLS)[number], found: boolean): Fact {
  if (found) return { status: 'ok', name: entry.tool, detail: `on PATH: ${entry.why}` };
  const needed = entry.steps.length > 0;
  return {
    status: needed ? 'missing' : 'warn',
    name: entry.tool,
    detail: `not on PATH: ${entry.why}`,
    fix: `apt-get install ${entry.pkg} (Fedora: dnf install ${FEDORA_NAMES[entry.pkg] ?? entry.pkg})`,
    blocks: entry.steps,
  };
}

// #region libseccomp
/**
 * Step 08 builds its seccomp filter with libseccomp, dlopen()ed through koffi as
 * `libseccomp.so.2` (Debian's libseccomp2): the probe is that same load, so the dynamic linker's
 * search (ld.so.cache, LD_LIBRARY_PATH) decides here as it does in the step.
 */
export function libseccompFact(load: { version: string } | { error: string }): Fact {
  if ('version' in load) {
    return {
      status: 'ok',
      name: 'libseccomp',
      detail: `libseccomp.so.2 ${load.version} loads: step 08's seccomp filter`,
    };
  }
  return {
    status: 'missing',
    name: 'libseccomp',
    detail: `libseccomp.so.2 does not load (${load.error}): step 08 builds its seccomp filter with it`,
    fix: 'apt-get install libseccomp2 (Fedora: dnf install libseccomp)',
    blocks: from('08'),
  };
}
// #endregion libseccomp

/** Whether /proc/filesystems (its text) lists overlay: built in, or its module loaded. */
export function overlayListed(filesystems: string): boolean {
  return filesystems.split('\n').some((line) => line.trim().split(/\s+/).at(-1) === 'overlay');
}

/**
 * Step 09 mounts the container's root as an overlay. The kernel lists a filesystem in
 * /proc/filesystems once it is built in or its module is loaded; a module that is only installed
 * is loaded by the kernel itself at the first overlay mount (request_module "fs-overlay").
 */
export function overlayFact(filesystems: string, moduleInstalled: boolean): Fact {
  if (overlayListed(filesystems))
    return { status: 'ok', name: 'overlayfs', detail: "in /proc/filesystems: step 09's container root" };
  if (moduleInstalled) {
    return {
      status: 'ok',
      name: 'overlayfs',
      detail: 'not loaded yet, but its module is installed: the kernel loads it at the first overlay mount',
    };
  }
  return {
    status: 'missing',
    name: 'overlayfs',
    detail:
      "not in /proc/filesystems and no overlay module for this kernel: step 09 mounts the container's root as an overlay",
    fix: 'modprobe overlay, or boot a kernel built with CONFIG_OVERLAY_FS',
    blocks: from('09'),
  };
}

/** Signs of running inside a container: each something a container has and a host or VM has not. */
export interface ContainerSigns {
  /** podman writes /run/.containerenv into each container it runs (/run is the container's own tmpfs). */
  containerenv: boolean;
  /** PID 1's `container=` environment variable (systemd's convention: docker, podman, lxc); null if unreadable. */
  pid1Container: string | null;
  /** `/` as /proc/self/mountinfo shows it: a directory bound as the root, or an overlay, is a container's. */
  rootMount: RootMount | null;
  /** The namespaces of this process that are not the kernel's initial ones (initialNamespace). */
  notInitial: string[];
  /**
   * docker's /.dockerenv alone proves nothing: images built by docker and booted as VMs carry it
   * (this project's CI machine does). It is reported, and counted only with another sign.
   */
  dockerenv: boolean;
}

export interface RootMount {
  /** The root field: the directory of the source filesystem that is mounted (`/` unless a bind). */
  root: string;
  fstype: string;
  source: string;
}

/**
 * The kernel gives its initial namespaces fixed inode numbers (include/linux/proc_ns.h:
 * PROC_PID_INIT_INO and friends), so `readlink /proc/self/ns/pid` says whether a process is in
 * the host's PID namespace: the cheapest true test of being in a container. (Mount and network
 * namespaces have no fixed number.)
 */
export const INITIAL_NAMESPACES: Record<string, number> = {
  pid: 0xeffffffc,
  user: 0xeffffffd,
  uts: 0xeffffffe,
  ipc: 0xefffffff,
  cgroup: 0xeffffffb,
};

/** `pid:[4026531836]` and its kind: true when it is the kernel's initial one of that kind. */
export function isInitialNamespace(link: string): boolean {
  const match = /^(\w+):\[(\d+)\]$/.exec(link);
  return match !== null && INITIAL_NAMESPACES[match[1] as string] === Number(match[2]);
}

/** The line of `/` in a /proc/self/mountinfo text (the last one: a mount over / hides the earlier). */
export function rootMount(mountinfo: string): RootMount | null {
  const line = mountinfo
    .split('\n')
    .filter((l) => l.split(' ')[4] === '/')
    .at(-1);
  if (!line) return null;
  const fields = line.split(' ');
  const dash = fields.indexOf('-');
  return { root: fields[3] ?? '/', fstype: fields[dash + 1] ?? '', source: fields[dash + 2] ?? '' };
}

export function containerFact(signs: ContainerSigns): Fact {
  const root = signs.rootMount;
  const evidence = [
    signs.notInitial.length > 0 ? `not the host's ${signs.notInitial.join(', ')} namespace` : null,
    signs.containerenv ? '/run/.containerenv' : null,
    signs.pid1Container ? `PID 1 has container=${signs.pid1Container}` : null,
    root && root.root !== '/' ? `/ is a bind of ${root.root}` : null,
  ].filter((sign): sign is string => sign !== null);
  // Seen alone on machines that are no container: an overlay root (live systems, the v2 test VM
  // of test/vm) and /.dockerenv (VMs booted from an image docker built, this project's CI).
  const weak = [
    root?.fstype === 'overlay' ? '/ is an overlay filesystem' : null,
    signs.dockerenv ? '/.dockerenv' : null,
  ].filter((sign): sign is string => sign !== null);
  if (evidence.length > 0) {
    return {
      status: 'warn',
      name: 'inside a container',
      detail: `yes (${[...evidence, ...weak].join(', ')}): what the container allows decides, not the host`,
      fix: 'run the workshop on the host or in a VM; a container needs --privileged and --cgroupns=private at least',
    };
  }
  const where = root ? `/ is ${root.fstype} on ${root.source}` : 'no root mount seen';
  return {
    status: 'ok',
    name: 'inside a container',
    detail:
      weak.length > 0
        ? `no (in the host's namespaces; ${where}; ${signs.dockerenv ? '/.dockerenv is there, but ' : ''}alone that does not make a container)`
        : `no (in the host's namespaces; ${where})`,
  };
}

export function wslFact(osrelease: string): Fact {
  return /microsoft|wsl/i.test(osrelease)
    ? {
        status: 'info',
        name: 'WSL2',
        detail: `yes (${osrelease.trim()}): often a cgroup v1/v2 hybrid; systemd only with [boot] systemd=true in /etc/wsl.conf`,
      }
    : { status: 'ok', name: 'WSL2', detail: 'no' };
}

/** A cgroup mkdir probe's errno, as a fix. */
export function cgroupWriteFix(code: string | undefined): string {
  if (code === 'EROFS') {
    return 'the cgroup filesystem is read-only here (inside a container?): run on the host, or give the container a writable cgroup (docker run --privileged --cgroupns=private)';
  }
  if (code === 'EACCES' || code === 'EPERM') return 'run as root (sudo): cgroups belong to root';
  return 'check that /sys/fs/cgroup is mounted and writable by root';
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
