/**
 * A container that outlives the command line needs a record the next command can find: one
 * directory per container under STATE_DIR/lifecycle/<64 hex>, and a symlink per name under
 * STATE_DIR/names. Several CLIs and the monitor read and change a record at once, so:
 *
 *   state.json   replaced whole (write a temporary file, then rename(2)): a reader never sees half
 *   lock         flock(2)'ed around read-modify-write, released by the kernel if its holder dies
 *   names/<n>    symlink(2) fails with EEXIST when the name exists: one creator wins, no lock
 *   removal      the directory is first renamed to a dot name, so a lookup sees it whole or not
 *
 * `dead` is never stored: it is what a record says `created` or `running` about a container whose
 * monitor is gone (the pid and its start time, which guards against a reused pid, as runc's does).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { type ContainerSpec, RuntimeError, readFileOr, STATE_DIR, UsageError } from '@ctr/runtime';
import { flock, LOCK_EX, LOCK_UN } from '@ctr/syscalls';

export const LIFECYCLE_DIR = join(STATE_DIR, 'lifecycle');
export const NAMES_DIR = join(STATE_DIR, 'names');

export const recordDir = (id64: string): string => join(LIFECYCLE_DIR, id64);
export const statePath = (id64: string): string => join(recordDir(id64), 'state.json');
export const specPath = (id64: string): string => join(recordDir(id64), 'spec.json');
export const logPath = (id64: string): string => join(recordDir(id64), 'container.log');
export const monitorLogPath = (id64: string): string => join(recordDir(id64), 'monitor.log');
const lockPath = (id64: string): string => join(recordDir(id64), 'lock');
/** Who made the record: `<pid> <start time>`, to tell a record being made from one abandoned. */
const creatorPath = (id64: string): string => join(recordDir(id64), 'creator');
const NAMES_LOCK = join(NAMES_DIR, '.lock');

export interface ContainerState {
  /** 64 hex digits; the first 12 are the spec's id (cgroups ctr/<id12>, the veth, the hostname). */
  id: string;
  name: string | null;
  status: 'created' | 'running' | 'exited';
  /** Host pid of the container's PID 1, once running. */
  pid: number | null;
  /** Field 22 of /proc/<pid>/stat: a pid reused by another process has another start time. */
  pidStartTime: number | null;
  monitorPid: number;
  monitorStartTime: number;
  exitCode: number | null;
  /** ISO 8601. */
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The --image name, or null: then `rootfs` is what it runs. */
  image: string | null;
  rootfs: string | null;
  /** The command as it runs (spec.args after every feature configured it). */
  command: string[];
}

export type Status = 'created' | 'running' | 'exited' | 'dead';

const ID64 = /^[0-9a-f]{64}$/;
const HEX = /^[0-9a-f]{1,64}$/;
/** docker's RestrictedNamePattern: two characters at least. */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * A new id, as docker's stringid.GenerateRandomID: drawn again when the 12-digit short id is all
 * decimal digits, because the short id is the default hostname and a numeric hostname is refused
 * or misread by some programs.
 */
export function newContainerId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d+$/.test(id.slice(0, 12))) return id;
  }
}

// #region liveness
/** Field 22 of /proc/<pid>/stat (clock ticks after boot), or null when there is no such process. */
export function processStartTime(pid: number): number | null {
  const fields = processStatFields(pid);
  return fields ? Number(fields[19]) : null;
}

/** The fields after the command name: it is in parentheses and may itself hold spaces and ')'. */
function processStatFields(pid: number): string[] | null {
  const stat = readFileOr(`/proc/${pid}/stat`, null);
  if (stat === null) return null;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * True while `pid` is the very process that had `startTime`: not gone, not a zombie (it has
 * exited; only its exit status waits to be collected) and not another process that got the pid.
 */
export function isSame(pid: number | null, startTime: number | null): boolean {
  if (pid === null || startTime === null) return false;
  const fields = processStatFields(pid);
  if (!fields) return false;
  return fields[0] !== 'Z' && fields[0] !== 'X' && Number(fields[19]) === startTime;
}

/**
 * `dead`: the record says created or running, and the monitor that would say otherwise is gone.
 * `removed` for no record (readState's null), so that `statusOf(readState(id))` reads as it means.
 */
export function statusOf(state: ContainerState): Status;
export function statusOf(state: ContainerState | null): Status | 'removed';
export function statusOf(state: ContainerState | null): Status | 'removed' {
  if (state === null) return 'removed';
  if (state.status === 'exited') return 'exited';
  return isSame(state.monitorPid, state.monitorStartTime) ? state.status : 'dead';
}
// #endregion liveness

// #region state
export function readState(id64: string): ContainerState | null {
  let text: string;
  try {
    text = readFileSync(statePath(id64), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return JSON.parse(text) as ContainerState;
}

/** Replaces state.json whole: rename(2) over it, so a reader gets the old file or the new one. */
export function writeState(state: ContainerState): void {
  const path = statePath(state.id);
  const temporary = `${path}.${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  try {
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** The container's spec as `run -d` configured it (spec.json), or null when the record has none. */
export function readSpec(id64: string): ContainerSpec | null {
  try {
    return JSON.parse(readFileSync(specPath(id64), 'utf8')) as ContainerSpec;
  } catch {
    return null;
  }
}

/**
 * The record and its status, read so that a clean exit is never reported as `dead`: the monitor
 * writes `exited` and then exits, so a state read just before that write and a liveness check
 * just after would see a running container without its monitor. Once the monitor is seen gone,
 * the state is read again.
 */
export function observe(id64: string): { state: ContainerState; status: Status } | null {
  const state = readState(id64);
  if (!state) return null;
  const status = statusOf(state);
  if (status !== 'dead') return { state, status };
  const again = readState(id64);
  return again ? { state: again, status: statusOf(again) } : null;
}

/**
 * Runs `fn` holding the record's flock(2), exclusive. Blocking: holders keep it for a
 * read-modify-write or a signal, never while they wait for something. `fn` must be synchronous:
 * the lock is released when it returns. A record removed while we waited is no container.
 */
export function withLock<T>(id64: string, fn: () => T): T {
  let fd: number;
  try {
    fd = openSync(lockPath(id64), 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw gone(id64);
    throw error;
  }
  try {
    flock(fd, LOCK_EX);
    // Our fd still reaches the lock of a record renamed away for removal while we waited.
    if (!exists(lockPath(id64))) throw gone(id64);
    try {
      return fn();
    } finally {
      flock(fd, LOCK_UN);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads, changes and writes state.json under the lock; returns what was written. `change` edits
 * the state it is given or returns a new one.
 */
export function updateState(
  id64: string,
  change: (state: ContainerState) => ContainerState | undefined,
): ContainerState {
  return withLock(id64, () => {
    const state = readState(id64);
    if (!state) throw gone(id64);
    const changed = change(state) ?? state;
    writeState(changed);
    return changed;
  });
}

const gone = (id64: string): RuntimeError =>
  new RuntimeError(`no such container: ${id64.slice(0, 12)}: it was removed meanwhile; see ctr ps -a`);
// #endregion state

// #region create
/** docker's rule for names; checked before anything is made. */
export function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new UsageError(
      `--name ${JSON.stringify(name)}: a name is [a-zA-Z0-9][a-zA-Z0-9_.-]+ as in docker (2 characters at least): e.g. --name web-1`,
    );
  }
}

/**
 * Makes the record of a new container, with its name if one is given. The directory is made
 * under a dot name and renamed into place with its lock and creator files, so it never exists
 * half made; then the name is taken. Anything that fails removes what was made.
 */
export function createRecord(id64: string, name: string | null): void {
  if (!ID64.test(id64)) throw new Error(`createRecord: ${JSON.stringify(id64)} is not a 64-hex id`);
  if (name !== null) checkName(name);
  mkdirSync(LIFECYCLE_DIR, { recursive: true });
  const making = join(LIFECYCLE_DIR, `.creating-${id64}-${process.pid}`);
  try {
    mkdirSync(making);
    writeFileSync(join(making, 'lock'), '');
    writeFileSync(join(making, 'creator'), `${process.pid} ${processStartTime(process.pid)}\n`);
    renameSync(making, recordDir(id64));
  } catch (error) {
    rmSync(making, { recursive: true, force: true });
    throw error;
  }
  if (name === null) return;
  try {
    reserveName(name, id64);
  } catch (error) {
    rmSync(recordDir(id64), { recursive: true, force: true });
    throw error;
  }
}

/**
 * symlink(2) never replaces: of two containers given one name at once, one gets EEXIST. A link to
 * no record (removed by hand, or a removal killed between its rename and its unlink) is taken
 * over, under the names lock, as every unlink of a name is: between our check and our unlink no
 * one else may unlink it and make it anew.
 */
function reserveName(name: string, id64: string): void {
  mkdirSync(NAMES_DIR, { recursive: true });
  const link = join(NAMES_DIR, name);
  if (tryLink(id64, link)) return;
  const taken = withNamesLock(() => {
    const holder = readLink(link);
    if (holder !== null && exists(recordDir(holder))) return holder;
    if (holder !== null) unlinkSync(link);
    return tryLink(id64, link) ? null : (readLink(link) ?? '?');
  });
  if (taken !== null) {
    throw new RuntimeError(
      `the name "${name}" is already in use by container ${taken.slice(0, 12)}: choose another or remove it with ctr rm ${name}`,
    );
  }
}

function tryLink(id64: string, link: string): boolean {
  try {
    symlinkSync(id64, link);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function withNamesLock<T>(fn: () => T): T {
  mkdirSync(NAMES_DIR, { recursive: true });
  const fd = openSync(NAMES_LOCK, 'a');
  try {
    flock(fd, LOCK_EX);
    return fn();
  } finally {
    closeSync(fd); // releases the flock
  }
}
// #endregion create

// #region resolve
/**
 * What a command's ID argument names, as docker looks it up: an exact name, an exact id, then
 * a unique prefix of the ids. Only records with a state count: one without is being made (for
 * microseconds) or abandoned, and `ps` shows neither.
 */
export function resolveContainer(ref: string): string {
  // The full id needs no search: rm -f <id> works even before the rest is written (task 10.4),
  // so that a test can always remove what it started.
  if (ID64.test(ref) && hasState(ref)) return ref;
  // #task 10.4
  if (NAME.test(ref)) {
    const named = readLink(join(NAMES_DIR, ref));
    if (named !== null && hasState(named)) return named;
  }
  if (HEX.test(ref)) {
    const matches = recordIds().filter((id) => id.startsWith(ref) && hasState(id));
    if (matches.length === 1) return matches[0] as string;
    if (matches.length > 1)
      throw new RuntimeError(`"${ref}" matches ${matches.length} containers: give more of the id`);
  }
  throw new RuntimeError(`no such container: ${ref}: see ctr ps -a`);
  // #end-task
}

/** The ids of every record directory; dot names are records being made or removed. */
function recordIds(): string[] {
  try {
    return readdirSync(LIFECYCLE_DIR).filter((entry) => ID64.test(entry));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Every container with a state, newest first. */
export function listRecords(): ContainerState[] {
  return recordIds()
    .map(readState)
    .filter((state): state is ContainerState => state !== null)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

const hasState = (id64: string): boolean => exists(statePath(id64));
// #endregion resolve

// #region remove
/**
 * Removes a record: renamed to a dot name first (rename(2) is atomic, so lookups and `ps` see the
 * whole record or none), then its name, then the files. False when it was already gone (another
 * `rm` got there first). The container's own resources are not this function's business.
 */
export function removeRecord(id64: string): boolean {
  const doomed = join(LIFECYCLE_DIR, `.removing-${id64}-${process.pid}`);
  const name = readState(id64)?.name ?? null;
  try {
    renameSync(recordDir(id64), doomed);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  releaseNames(id64, name);
  rmSync(doomed, { recursive: true, force: true });
  return true;
}

/** Unlinks the names that lead to `id64`: its own, or any (a record abandoned before its state). */
function releaseNames(id64: string, name: string | null): void {
  let names: string[];
  try {
    names = name === null ? readdirSync(NAMES_DIR).filter((entry) => NAME.test(entry)) : [name];
  } catch {
    return; // no names directory: no name was ever given
  }
  withNamesLock(() => {
    for (const entry of names) {
      const link = join(NAMES_DIR, entry);
      if (readLink(link) === id64) unlinkSync(link);
    }
  });
}

/**
 * Records a killed CLI or remover left: a record without state.json whose creator is gone (killed
 * before it spawned the monitor), and dot directories whose maker is gone (killed while making or
 * removing one). Removes them and returns the ids of the abandoned records, for the caller to
 * clean up anything of theirs (a monitor spawned and killed within the same microseconds).
 */
export function removeAbandonedRecords(): string[] {
  let entries: string[];
  try {
    entries = readdirSync(LIFECYCLE_DIR);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const stray = /^\.(?:creating|removing)-([0-9a-f]{64})-(\d+)$/.exec(entry);
    if (stray) {
      if (processStartTime(Number(stray[2])) === null)
        rmSync(join(LIFECYCLE_DIR, entry), { recursive: true, force: true });
      continue;
    }
    if (!ID64.test(entry) || hasState(entry)) continue;
    const [pid, startTime] = readFileOr(creatorPath(entry), '').trim().split(' ').map(Number);
    if (isSame(pid ?? null, startTime ?? null) || hasState(entry)) continue;
    if (removeRecord(entry)) removed.push(entry);
  }
  return removed;
}
// #endregion remove

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
