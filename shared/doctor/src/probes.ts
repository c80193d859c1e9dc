/**
 * Reads the machine: files of /proc and /sys, and probes in throwaway children (an `unshare` of
 * each namespace, a cgroup made and removed at once), so that each line says what the kernel did,
 * not what a file suggests. What the steps already know is imported from them: step 04's layout,
 * step 07's /etc/subuid reading and user-namespace fix, the rootfs package's default rootfs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { containerDir, describeLayout, type Layout, readLayout } from '@ctr/04';
import { DEFAULT_RANGE, subordinateRange, usernsRefusalHint } from '@ctr/07';
import { libseccompVersion } from '@ctr/08';
import { defaultRootfsPath, hasShell } from '@ctr/rootfs';
import { onPath, readFileOr } from '@ctr/runtime';
import {
  cgroupWriteFix,
  containerFact,
  type Fact,
  from,
  INITIAL_NAMESPACES,
  isInitialNamespace,
  kernelFact,
  libseccompFact,
  NAMESPACES,
  namespaceFact,
  overlayFact,
  overlayListed,
  type ProbeResult,
  rootMount,
  TOOLS,
  toolFact,
  userNamespaceSysctls,
  wslFact,
} from './facts.js';

const readOrNull = (path: string): string | null => readFileOr(path, null);

/** Who the steps would run as: root, and under sudo also the user who ran it (for rootless facts). */
export interface Invoker {
  root: boolean;
  /** The ordinary user: the caller itself, or SUDO_UID under sudo; null for root without sudo. */
  user: { uid: number; gid: number; name: string | undefined } | null;
}

export function invoker(): Invoker {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) {
    return {
      root: false,
      user: { uid, gid: process.getgid?.() ?? uid, name: process.env.USER ?? process.env.LOGNAME },
    };
  }
  const sudoUid = Number(process.env.SUDO_UID);
  return {
    root: true,
    user:
      Number.isInteger(sudoUid) && sudoUid > 0
        ? { uid: sudoUid, gid: Number(process.env.SUDO_GID ?? sudoUid), name: process.env.SUDO_USER }
        : null,
  };
}

/** A command in a throwaway child, optionally as another user: how it ended. */
function probe(command: string, args: readonly string[], as?: { uid: number; gid: number }): ProbeResult {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000, ...as });
  if (result.error) return { status: null, stderr: `${command}: ${(result.error as NodeJS.ErrnoException).code}` };
  return { status: result.status, stderr: result.stderr };
}

function privilegeFact(who: Invoker): Fact {
  if (who.root) {
    return {
      status: 'ok',
      name: 'privilege',
      detail: `root${who.user ? ` (through sudo, for ${who.user.name ?? `uid ${who.user.uid}`})` : ''}`,
    };
  }
  return {
    status: 'missing',
    name: 'privilege',
    detail: `${who.user?.name ?? 'this user'} (uid ${who.user?.uid}): steps 01-06 make namespaces, mounts and cgroups only root may make; step 07 runs rootless`,
    fix: 'run steps 01-06 with sudo, and sudo pnpm run doctor to check them',
    blocks: ['01', '02', '03', '04', '05', '06'],
  };
}

/** As root: each namespace a step adds, one unshare each. */
function rootNamespaceFacts(who: Invoker): Fact[] {
  if (!who.root) return [];
  if (!onPath('unshare')) {
    return [{ status: 'info', name: 'namespaces', detail: 'not checked: unshare (util-linux) is missing, see below' }];
  }
  return NAMESPACES.map((ns) => namespaceFact(ns, 'as root', probe('unshare', [...ns.flags, 'true'])));
}

/** As the ordinary user: what a rootless step 07 makes, all inside a user namespace of its own. */
function rootlessFact(who: Invoker): Fact {
  const name = 'rootless namespaces';
  if (!who.user) {
    return {
      status: 'info',
      name,
      detail: 'not checked: run pnpm run doctor as your user (or through sudo) to check rootless step 07',
    };
  }
  if (!onPath('unshare')) return { status: 'info', name, detail: 'not checked: unshare is missing' };
  const flags = ['--user', '--map-root-user', '--pid', '--fork', '--mount', '--uts', '--ipc', '--net', '--cgroup'];
  const result = probe('unshare', [...flags, 'true'], who.user);
  const as = `as ${who.user.name ?? `uid ${who.user.uid}`}`;
  if (result.status === 0) return { status: 'ok', name, detail: `${as}: unshare ${flags.join(' ')} true works` };
  return {
    // With root at hand (sudo), step 07 runs rootful; only a rootless run is stopped.
    status: who.root ? 'warn' : 'missing',
    name,
    detail: `${as}: unshare ${flags.join(' ')} true failed: ${result.stderr.trim().split('\n')[0] || `exit ${result.status}`}`,
    fix: usernsRefusalHint(readOrNull),
    blocks: from('07'),
  };
}

function cgroupFacts(who: Invoker, mountinfo: string): Fact[] {
  const facts: Fact[] = [];
  const kind = describeLayout(mountinfo);
  if (kind === 'none') {
    return [
      {
        status: 'missing',
        name: 'cgroup layout',
        detail: 'no cgroup filesystem is mounted',
        fix: 'mount cgroup2 on /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)',
        blocks: from('04'),
      },
    ];
  }
  const layout = readLayout();
  const v2 = Object.values(layout).find((h) => h?.version === 2);
  const layoutWords = {
    v2: 'v2 (cgroup2 at /sys/fs/cgroup)',
    v1: 'v1 (one hierarchy per controller under /sys/fs/cgroup)',
    hybrid: 'hybrid (v1 controllers, and a cgroup2 that owns only what no v1 hierarchy took)',
  };
  facts.push({ status: 'info', name: 'cgroup layout', detail: layoutWords[kind] });
  const needed = (['memory', 'pids', 'cpu'] as const).filter((c) => !layout[c]);
  const found = (Object.entries(layout) as [keyof Layout, Layout[keyof Layout]][])
    .filter(([, h]) => h)
    .map(([c, h]) => `${c} v${h?.version}`)
    .join(', ');
  facts.push(
    needed.length === 0
      ? { status: 'ok', name: 'cgroup controllers', detail: found }
      : {
          status: 'missing',
          name: 'cgroup controllers',
          detail: `${needed.join(', ')} not available (found: ${found || 'none'})`,
          fix: 'a kernel with these controllers; on v2, not held by a v1 hierarchy',
          blocks: from('04'),
        },
  );
  if (v2) {
    const controllers = readFileOr(join(v2.mountPoint, 'cgroup.controllers'), '').trim() || 'none';
    const enabled = readFileOr(join(v2.mountPoint, 'cgroup.subtree_control'), '').trim() || 'none';
    facts.push({
      status: 'info',
      name: 'cgroup2 root',
      detail: `controllers: ${controllers}; enabled for children (cgroup.subtree_control): ${enabled}`,
    });
  }
  facts.push(delegationFact(who, v2?.mountPoint ?? null));
  const pid1 = readFileOr('/proc/1/comm', '').trim();
  facts.push({
    status: 'info',
    name: 'systemd',
    detail:
      pid1 === 'systemd' || existsSync('/run/systemd/system')
        ? "manages the cgroup tree (the runtime puts its own cgroups beside systemd's, as docker's cgroupfs driver)"
        : `not running (PID 1 is ${pid1 || 'unknown'}): nothing else manages the cgroup tree`,
  });
  if (who.root) facts.push(writableCgroupFact(layout));
  return facts;
}

/** v2 with systemd: user@UID.service is the sub-tree handed to the user, owned by them. */
function delegationFact(who: Invoker, v2MountPoint: string | null): Fact {
  const name = 'cgroup delegation';
  if (!who.user)
    return { status: 'info', name, detail: 'not checked: no ordinary user (run as your user, or with sudo)' };
  if (!v2MountPoint) {
    return {
      status: 'info',
      name,
      detail: 'v1: nothing is delegated to users; rootless step 07 drops limits with a notice',
    };
  }
  const { uid } = who.user;
  const dir = join(v2MountPoint, `user.slice/user-${uid}.slice/user@${uid}.service`);
  let owner: number | null = null;
  try {
    owner = statSync(dir).uid;
  } catch {}
  if (owner !== uid) {
    return { status: 'info', name, detail: `none to uid ${uid} (no ${dir} of theirs): rootless limits are dropped` };
  }
  const controllers = readFileOr(join(dir, 'cgroup.controllers'), '').trim() || 'none';
  return { status: 'info', name, detail: `${dir} belongs to uid ${uid}, with controllers: ${controllers}` };
}

/** As root: a cgroup made and removed where the runtime makes the containers' (04's containerDir). */
function writableCgroupFact(layout: Layout): Fact {
  const bases = new Set(Object.values(layout).flatMap((h) => (h ? [dirname(dirname(containerDir(h, 'probe')))] : [])));
  const tried: string[] = [];
  for (const base of bases) {
    const dir = join(base, `ctr-doctor-${process.pid}`);
    try {
      mkdirSync(dir);
      rmdirSync(dir);
      tried.push(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return {
        status: 'missing',
        name: 'writable cgroup',
        detail: `mkdir ${dir}: ${code}`,
        fix: cgroupWriteFix(code),
        blocks: from('04'),
      };
    }
  }
  return {
    status: 'ok',
    name: 'writable cgroup',
    detail: `made and removed ${tried.length} probe cgroup(s), e.g. ${tried[0] ?? 'none'}`,
  };
}

function toolFacts(): Fact[] {
  return TOOLS.map((entry) => toolFact(entry, onPath(entry.tool === 'cc' ? (process.env.CC ?? 'cc') : entry.tool)));
}

/** libseccomp loaded as step 08 loads it, and asked for its version (seccomp_version()). */
function libseccompProbe(): { version: string } | { error: string } {
  try {
    return { version: libseccompVersion() };
  } catch (error) {
    // step 08's one line says what to install; the fact says it in its own words
    const { cause } = error as Error;
    return { error: (cause instanceof Error ? cause : (error as Error)).message };
  }
}

/** /etc/subuid and /etc/subgid of the user whose range step 07 uses (the sudo caller, else the caller). */
function subordinateFact(who: Invoker): Fact {
  const name = who.user?.name ?? (who.root ? 'root' : undefined);
  const id = who.user?.uid ?? 0;
  const uids = subordinateRange(readOrNull('/etc/subuid') ?? '', name, id);
  const gids = subordinateRange(readOrNull('/etc/subgid') ?? '', name, id);
  const show = (r: { start: number; count: number } | null) => (r ? `${r.start}+${r.count}` : 'none');
  const detail = `${name ?? `uid ${id}`}: subuid ${show(uids)}, subgid ${show(gids)}`;
  if (uids && gids) return { status: 'ok', name: '/etc/subuid', detail };
  return {
    // Root without a range runs step 07 the same, on the default range.
    status: who.user ? 'warn' : 'info',
    name: '/etc/subuid',
    detail: `${detail} (as root step 07 then maps ${DEFAULT_RANGE.start}+${DEFAULT_RANGE.count}; rootless, one id)`,
    fix: `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name ?? '<user>'}`,
  };
}

function rootfsFact(): Fact {
  const path = defaultRootfsPath();
  if (existsSync(path) && hasShell(path)) return { status: 'ok', name: 'rootfs', detail: `${path} has /bin/sh` };
  return {
    status: 'missing',
    name: 'rootfs',
    detail: `${path} ${existsSync(path) ? 'has no /bin/sh' : 'is not there yet'}`,
    fix: 'pnpm rootfs (Alpine from the internet, or busybox from Debian packages; see rootfs-scripts/)',
    blocks: from('03'),
  };
}

/** An overlay module for the running kernel, which the first overlay mount would load. */
function overlayModuleInstalled(): boolean {
  const modules = readFileOr(`/lib/modules/${release()}/modules.dep`, '');
  return /(^|\/)overlay\.ko(\.[a-z]+)?:/m.test(modules);
}

/** Every fact, in the order they are printed. */
export function readMachine(who: Invoker = invoker()): Fact[] {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const pid1Environ = readOrNull('/proc/1/environ');
  const filesystems = readFileOr('/proc/filesystems', '');
  return [
    kernelFact(release()),
    privilegeFact(who),
    wslFact(readFileOr('/proc/sys/kernel/osrelease', '')),
    containerFact({
      containerenv: existsSync('/run/.containerenv'),
      pid1Container:
        pid1Environ
          ?.split('\0')
          .find((v) => v.startsWith('container='))
          ?.slice('container='.length) ?? null,
      rootMount: rootMount(mountinfo),
      notInitial: Object.keys(INITIAL_NAMESPACES).filter((kind) => {
        try {
          return !isInitialNamespace(readlinkSync(`/proc/self/ns/${kind}`));
        } catch {
          return false; // a kernel without that namespace
        }
      }),
      dockerenv: existsSync('/.dockerenv'),
    }),
    ...rootNamespaceFacts(who),
    rootlessFact(who),
    ...userNamespaceSysctls(readOrNull, !who.root),
    ...cgroupFacts(who, mountinfo),
    ...toolFacts(),
    libseccompFact(libseccompProbe()),
    overlayFact(filesystems, !overlayListed(filesystems) && overlayModuleInstalled()),
    subordinateFact(who),
    rootfsFact(),
  ];
}
