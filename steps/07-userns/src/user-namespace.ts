/**
 * Root in the container, nobody on the host. The container's processes run in a user namespace
 * whose uid 0 is an unprivileged host uid: capabilities they have count in their own namespaces
 * only, and an escape lands as that uid. Without sudo the same mechanism gives rootless mode.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { constants, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import {
  type Cleanup,
  type ContainerSpec,
  containerStateDir,
  defineFeature,
  FORWARDED_SIGNALS,
  hostCommand,
  onPath,
  RuntimeError,
  readFileOr,
} from '@ctr/runtime';
import { MNT_DETACH, umount2, writeKernelFile } from '@ctr/syscalls';
import {
  DEFAULT_RANGE,
  type IdRange,
  mapArgs,
  mapText,
  rootfulMap,
  rootlessMap,
  subordinateRange,
  usernsRefusalHint,
} from './idmap.js';
import { mountIdmapped, shiftedCopy } from './mapped-rootfs.js';
import { nsexecBinary } from './native.js';

export interface UsernsConfig {
  rootless: boolean;
  uidMap: IdRange[];
  gidMap: IdRange[];
  /** Write the maps through the setuid newuidmap/newgidmap (rootless, with /etc/subuid ranges). */
  viaNewuidmap: boolean;
}

const readOrNull = (path: string): string | null => readFileOr(path, null);

/** The kernel said no to something the machine decides: the doctor reads all such switches at once. */
const DOCTOR_HINT = 'pnpm run doctor checks the rest of this machine';

/**
 * Makes the host's rootfs fit the user namespace of the init `pid` (rootful only); returns the path
 * the init will pivot into. This step idmaps it (mapRootfs below); a later step puts an overlay on it.
 */
export type RootfsMapping = (
  rootfs: string,
  pid: number,
  spec: ContainerSpec,
  config: UsernsConfig,
  cleanup: Cleanup,
) => string;

export const userNamespace = userNamespaceWith(mapRootfs);

/** The feature, with the way a rootful runtime maps the rootfs as a parameter. */
export function userNamespaceWith(mapRootfs: RootfsMapping) {
  return defineFeature({
    name: 'user',
    // #region configure
    // Trace: `host 07 user.configure`: the id maps, and for a rootless user a copy of the rootfs they own.
    configure(_flags, spec, log): UsernsConfig {
      const uid = process.getuid?.() ?? 0;
      const gid = process.getgid?.() ?? 0;
      if (uid === 0) {
        // Under sudo, the range of the user who ran sudo; otherwise root's; otherwise the default.
        const user = process.env.SUDO_USER ?? 'root';
        const id = Number(process.env.SUDO_UID ?? 0);
        const subuid = subordinateRange(readOrNull('/etc/subuid') ?? '', user, id) ?? DEFAULT_RANGE;
        const subgid = subordinateRange(readOrNull('/etc/subgid') ?? '', user, id) ?? DEFAULT_RANGE;
        return {
          rootless: false,
          uidMap: rootfulMap(subuid),
          gidMap: rootfulMap(subgid),
          viaNewuidmap: false,
        };
      }
      const user = process.env.USER ?? process.env.LOGNAME;
      const subuid = subordinateRange(readOrNull('/etc/subuid') ?? '', user, uid);
      const subgid = subordinateRange(readOrNull('/etc/subgid') ?? '', user, uid);
      const viaNewuidmap = Boolean(subuid && subgid && onPath('newuidmap') && onPath('newgidmap'));
      if (spec.rootfs) {
        // A rootless user may not make an idmapped mount: a copy they own is root inside.
        const home = process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share');
        // One copy per source rootfs: --rootfs elsewhere gets its own.
        const key = createHash('sha256').update(realpathSync(spec.rootfs)).digest('hex').slice(0, 12);
        spec.rootfs = shiftedCopy(spec.rootfs, join(home, 'ctr', `rootfs-${key}`), null, log);
      }
      return {
        rootless: true,
        uidMap: rootlessMap(uid, viaNewuidmap ? subuid : null),
        gidMap: rootlessMap(gid, viaNewuidmap ? subgid : null),
        viaNewuidmap,
      };
    },
    // #endregion configure
    // #region spawn
    // Trace: `host 07 user.aroundSpawn`, then the helper's own lines (`helper 07 user.nsexec`).
    aroundSpawn(spawn) {
      // The init is started through the native helper: it makes the user and PID namespaces, and
      // passes on to the init the signals the runtime forwards (one list, signals.ts).
      const forwarded = FORWARDED_SIGNALS.map((name) => constants.signals[name]).join(',');
      return spawn([nsexecBinary(), `--forward=${forwarded}`]);
    },
    // Trace: `host 07 user.spawned`, while the helper waits in the new user namespace: the id maps,
    // the idmapped rootfs, then `M` lets it go on; it replies with the init's pid.
    async spawned(config, pid, spec, cleanup, helper) {
      const socket = helper.stdio[4] as Readable & Writable;
      const lines = readLines(socket);
      const first = await lines.next();
      if (first !== 'U') throw refusal(first);
      writeMaps(pid, config);
      if (spec.rootfs && !config.rootless) spec.rootfs = mapRootfs(spec.rootfs, pid, spec, config, cleanup);
      socket.write('M');
      const reply = await lines.next();
      const initPid = Number(reply);
      // An "E<errno> <call>" can come here too: unshare(CLONE_NEWPID) is where Ubuntu's AppArmor
      // restriction shows when the user namespace itself was allowed.
      if (!Number.isInteger(initPid) || initPid <= 0) throw refusal(reply);
      return initPid;
    },
    // #endregion spawn
  });
}

// #region write-maps
/**
 * The maps are written from outside, by the runtime: a process in the new namespace has no ids
 * yet. Rules (man 7 user_namespaces): once per file; an unprivileged writer may map only its own
 * id, and must write "deny" to setgroups before gid_map; newuidmap, setuid root, may map the
 * ranges /etc/subuid grants.
 */
function writeMaps(pid: number, config: UsernsConfig): void {
  // #task 07.1
  try {
    if (config.viaNewuidmap) {
      for (const [tool, map] of [
        ['newuidmap', config.uidMap],
        ['newgidmap', config.gidMap],
      ] as const) {
        const result = hostCommand(tool, mapArgs(pid, map));
        if (result.status !== 0) throw new RuntimeError(`${tool} failed: ${result.stderr.trim()}`);
      }
      return;
    }
    if (config.rootless) writeKernelFile(`/proc/${pid}/setgroups`, 'deny');
    writeKernelFile(`/proc/${pid}/uid_map`, mapText(config.uidMap));
    writeKernelFile(`/proc/${pid}/gid_map`, mapText(config.gidMap));
  } catch (error) {
    if (error instanceof RuntimeError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new RuntimeError(
      `cannot write the uid/gid maps of the container (${code}): ${usernsRefusalHint(readOrNull)}; ${DOCTOR_HINT}`,
    );
  }
  // #end-task
}
// #endregion write-maps

// #region map-rootfs
function mapRootfs(rootfs: string, pid: number, spec: ContainerSpec, config: UsernsConfig, cleanup: Cleanup): string {
  const target = join(containerStateDir(spec.id), 'rootfs');
  // Who owns it, written before anything is made there: `pnpm clean` removes what a runtime
  // killed at any moment after this line left behind.
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(join(dirname(target), 'owner'), String(process.pid));
  cleanup.defer(`unmount the idmapped rootfs ${target}`, () => {
    try {
      umount2(target, MNT_DETACH);
    } catch {} // never mounted: the copy below was used, or the start failed first
    // rmdir, not rm -r: should the rootfs still be mounted there, it fails instead of emptying it.
    try {
      rmdirSync(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    rmSync(dirname(target), { recursive: true, force: true });
  });
  try {
    mountIdmapped(rootfs, pid, target);
    return target;
  } catch (error) {
    if (error instanceof RuntimeError) throw error; // not a refusal of the kernel's
    // EINVAL or EPERM: the filesystem (or the kernel, before 5.12) does not do idmapped mounts.
    try {
      rmdirSync(target);
    } catch {}
    return shiftedRootfs(rootfs, config, error as Error);
  }
}

/** Where idmapped mounts are refused: a copy of the rootfs whose owners fit the map, said once. */
export function shiftedRootfs(rootfs: string, config: UsernsConfig, refusal: Error): string {
  const shift = {
    uid: config.uidMap[0]?.outside ?? DEFAULT_RANGE.start,
    gid: config.gidMap[0]?.outside ?? DEFAULT_RANGE.start,
  };
  process.stderr.write(`ctr: notice: no idmapped mount here (${refusal.message}): using a copy with shifted owners\n`);
  return shiftedCopy(rootfs, `${rootfs}.uid-${shift.uid}`, shift, (line) => process.stderr.write(`ctr: ${line}\n`));
}
// #endregion map-rootfs

function refusal(message: string | null): RuntimeError {
  const errno = message?.match(/^E(\d+) (.*)$/);
  if (errno?.[2]?.startsWith('unshare(') && ['1', '13', '28'].includes(errno[1] ?? '')) {
    return new RuntimeError(
      `${errno[2]} was refused (errno ${errno[1]}): ${usernsRefusalHint(readOrNull)}; ${DOCTOR_HINT}`,
    );
  }
  return new RuntimeError(
    `the native helper failed: ${errno ? `${errno[2]}, errno ${errno[1]}` : 'it ended before it said anything'}`,
  );
}

/** The helper's replies, one a line ("U", "E1 unshare(...)", "1234"); null once it closed the socket. */
function readLines(socket: Readable): { next(): Promise<string | null> } {
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  return { next: async () => (await lines.next()).value ?? null };
}
