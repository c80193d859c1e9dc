/**
 * `ctr ps` and `ctr inspect`: what the records say, read without the lock (state.json is replaced
 * whole, never written in place), in docker's words and columns.
 */
import type { CgroupConfig } from '@ctr/04';
import type { NetworkConfig } from '@ctr/05';
import type { SecurityConfig } from '@ctr/08';
import type { ImageSettings } from '@ctr/09';
import { type ContainerSpec, RuntimeError } from '@ctr/runtime';
import {
  type ContainerState,
  listRecords,
  logPath,
  observe,
  readSpec,
  resolveContainer,
  type Status,
  statusOf,
} from './records.js';

// #region ps
/** Without -a the running ones, and the dead ones too: their leftovers need someone's attention. */
export function psCommand(all: boolean): number {
  const now = Date.now();
  const rows = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES']];
  for (const state of listRecords()) {
    const status = statusOf(state);
    if (!all && status !== 'running' && status !== 'dead') continue;
    rows.push([
      state.id.slice(0, 12),
      state.image ?? state.rootfs ?? '',
      quoteCommand(state.command),
      `${humanDuration(now - Date.parse(state.createdAt))} ago`,
      describeStatus(state, status, now),
      state.name ?? '',
    ]);
  }
  process.stdout.write(formatColumns(rows));
  return 0;
}

/** docker's text: `Up 5 seconds`, `Exited (137) 2 seconds ago`, `Created`; ours: `Dead (...)`. */
export function describeStatus(state: ContainerState, status: Status, now: number): string {
  switch (status) {
    case 'created':
      return 'Created';
    case 'running':
      return `Up ${humanDuration(now - Date.parse(state.startedAt ?? state.createdAt))}`;
    case 'exited':
      return `Exited (${state.exitCode}) ${humanDuration(now - Date.parse(state.finishedAt ?? state.createdAt))} ago`;
    case 'dead':
      return 'Dead (its monitor is gone: ctr rm removes what it left)';
  }
}

/** docker ps without --no-trunc: the command cut to 20 characters with an ellipsis, then quoted. */
export function quoteCommand(command: readonly string[]): string {
  const text = command.join(' ');
  const characters = [...text];
  const cut = characters.length > 20 ? `${characters.slice(0, 19).join('')}…` : text;
  return JSON.stringify(cut);
}

/** go-units' HumanDuration, which docker's CREATED and STATUS columns use. */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.floor(milliseconds / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(milliseconds / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(milliseconds / 3_600_000 / 24 / 365)} years`;
}

/** Columns padded to the widest cell plus 3, as docker's tabwriter; the last one not padded. */
export function formatColumns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => [...(row[column] ?? '')].length))) ?? [];
  return rows
    .map(
      (row) =>
        `${row.map((cell, column) => (column < row.length - 1 ? cell.padEnd((widths[column] ?? 0) + 3) : cell)).join('')}\n`,
    )
    .join('');
}
// #endregion ps

// #region inspect
/**
 * A JSON array, one object per container, with docker's field names for what this runtime has.
 * Every reference is resolved before anything is printed: an unknown one is exit 125 and one line,
 * and nothing else. (docker prints the ones it found and exits 1; one line, as every other
 * failure of this runtime, keeps the output either whole JSON or an error.)
 */
export function inspectCommand(refs: readonly string[]): number {
  const ids = refs.map(resolveContainer);
  const found = ids.map((id, i) => {
    const observed = observe(id);
    // Removed between the lookup and now: as unknown as if it had never been there.
    if (!observed) throw new RuntimeError(`no such container: ${refs[i]}: see ctr ps -a`);
    return inspectRecord(observed.state, observed.status, readSpec(id));
  });
  process.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  return 0;
}

/** docker's zero time, which it shows for a start or a finish that has not happened. */
const NEVER = '0001-01-01T00:00:00Z';

/**
 * Built from state.json and spec.json. A feature's settings are read from spec.features under
 * its name; a feature this container runs without (null settings, e.g. no --image) gives null.
 */
export function inspectRecord(state: ContainerState, status: Status, spec: ContainerSpec | null) {
  const features = spec?.features ?? {};
  const cgroups = features.cgroups as CgroupConfig | null | undefined;
  const network = features.net as NetworkConfig | null | undefined;
  const security = features.security as SecurityConfig | null | undefined;
  const image = features.image as ImageSettings | null | undefined;
  const limits = cgroups?.limits;
  const user = security?.user;
  return {
    Id: state.id,
    Name: state.name === null ? '' : `/${state.name}`,
    Created: state.createdAt,
    Path: state.command[0] ?? '',
    Args: state.command.slice(1),
    State: {
      Status: status,
      Running: status === 'running',
      // docker's Pid is 0 once the container is not running: the number may be another's by now.
      Pid: status === 'running' ? state.pid : 0,
      ExitCode: state.exitCode ?? 0,
      StartedAt: state.startedAt ?? NEVER,
      FinishedAt: state.finishedAt ?? NEVER,
      MonitorPid: state.monitorPid,
    },
    // The manifest's digest, which pins what runs (docker's Image is the config's digest, which
    // step 09 keeps in its store but not in the container's settings).
    Image: image ? image.digest : null,
    Rootfs: state.rootfs,
    Config: {
      Image: state.image,
      Cmd: spec?.args ?? state.command,
      Env: spec?.env ?? null,
      Hostname: spec?.hostname ?? null,
      WorkingDir: image === undefined || image === null ? null : (image.workingDir ?? ''),
      // docker's "" is the image's default user, root; the --user or the image's User otherwise.
      User: security ? (user ? `${user.uid}${user.gid === null ? '' : `:${user.gid}`}` : '') : null,
    },
    HostConfig: {
      // docker's 0 is "no limit"; null: the container has no cgroup settings at all.
      Memory: limits ? (limits.memory ?? 0) : null,
      PidsLimit: limits ? (limits.pids ?? null) : null,
      NanoCpus: limits ? Math.round((limits.cpus ?? 0) * 1e9) : null,
      NetworkMode: network?.mode ?? null,
    },
    NetworkSettings: {
      // Leased when the container is created: spec.json must be written after `create` to have it.
      IPAddress: network ? (network.address ?? '') : null,
    },
    LogPath: logPath(state.id),
  };
}
// #endregion inspect
