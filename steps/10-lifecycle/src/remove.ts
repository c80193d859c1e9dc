/**
 * `rm` of a dead container: its monitor was killed (SIGKILL, the OOM killer), so the kernel killed
 * the container with it (PR_SET_PDEATHSIG), but nothing ran the Cleanup that undoes what the
 * features made on the host: its cgroups, overlay mount and directory under /run/ctr/containers,
 * veth, address and port leases and port rules stay. They are found again by the container's
 * short id, which every feature names them by, and removed one by one, as `pnpm clean` would.
 */

import { cleanContainerNetwork, leasesOf } from '@ctr/05';
import { isAlive, RuntimeError } from '@ctr/runtime';
import {
  containerOwner,
  killContainerProcesses,
  removeContainerCgroups,
  removeContainerState,
  type Say,
} from '@ctr/runtime/commands';
import { listRecords, observe, removeAbandonedRecords, removeRecord } from './records.js';

const SHORT_ID = /^[0-9a-f]{12}$/;

/**
 * Removes what container `id12` left on the host. Refuses while any process that recorded itself
 * as an owner of its resources (the `owner` file, the leases) is alive: that process is running
 * the container and will clean up itself. `deadMonitor` is the pid of the container's monitor,
 * which the caller found dead by its start time: a process with the same pid now is another one.
 */
export async function cleanDeadContainer(id12: string, say: Say, deadMonitor?: number): Promise<void> {
  if (!SHORT_ID.test(id12)) throw new RuntimeError(`"${id12}" is not a container's short id: give 12 hex digits`);
  const owners = new Set([containerOwner(id12), ...leasesOf(id12).map((lease) => lease.pid)]);
  for (const pid of owners) {
    if (pid !== null && pid > 0 && pid !== deadMonitor && isAlive(pid)) {
      throw new RuntimeError(
        `container ${id12} is still owned by process ${pid}, which is alive: stop the container first (ctr stop ${id12})`,
      );
    }
  }
  // First the processes: a mount, a cgroup or a network namespace stays busy while one lives.
  await killContainerProcesses(id12, say);
  removeContainerState(id12, say);
  removeContainerCgroups(id12, say);
  cleanContainerNetwork(id12, say);
}

/**
 * Step 10's part of `pnpm clean`: the records of dead containers, with what their monitors left,
 * and the records a killed CLI abandoned before its monitor wrote a state. Exited containers are
 * kept: they are containers, which `ctr rm` removes, as in docker. A container that cannot be
 * cleaned (an owner alive, a process that will not die) is named and skipped: the rest go on.
 */
export async function cleanDeadRecords(say: Say): Promise<boolean> {
  let clean = true;
  const attempt = async (id64: string, deadMonitor: number | undefined, what: string): Promise<void> => {
    try {
      await cleanDeadContainer(id64.slice(0, 12), say, deadMonitor);
      if (removeRecord(id64)) say(`removed the record of ${what} container ${id64.slice(0, 12)}`);
    } catch (error) {
      if (!(error instanceof RuntimeError)) throw error;
      say(`left container ${id64.slice(0, 12)}: ${error.message}`);
      clean = false;
    }
  };
  for (const id64 of removeAbandonedRecords()) {
    say(`removed the abandoned record ${id64.slice(0, 12)} (no state: its CLI was killed)`);
    await attempt(id64, undefined, 'abandoned');
  }
  for (const { id } of listRecords()) {
    const seen = observe(id);
    if (seen?.status === 'dead') await attempt(id, seen.state.monitorPid, 'dead');
  }
  return clean;
}
