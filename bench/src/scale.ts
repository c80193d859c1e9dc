/** Many containers of step 06 at once: do all exit 0, how long do they take, and is anything left on the host? */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  childrenOf,
  firstLine,
  fmtMs,
  log,
  NODE,
  relativeToRepo,
  type Step,
  sleep,
  spawnCollecting,
} from './common.js';

const SCALE_CONTAINERS = 20;

export interface ScaleResult {
  containers: number;
  command: string;
  wallMs: number;
  exitCodes: number[];
  failures: string[];
  ids: string[];
  leftovers: { ours: string[]; otherNew: string[] };
  failed: string | null;
}

/** Null when there is no step 06, or when the test itself failed (a note says why). */
export async function measureScale(
  steps: readonly Step[],
  rootfs: string,
): Promise<{ result: ScaleResult | null; notes: string[] }> {
  const notes: string[] = [];
  const step06 = steps.find((s) => s.number === '06');
  let result: ScaleResult | null = null;
  if (step06) {
    log(`scale: ${SCALE_CONTAINERS} containers of step 06 at once`);
    try {
      result = await scale(step06, rootfs);
    } catch (error) {
      notes.push(`Scale: the test itself failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (result) {
    if (result.leftovers.otherNew.length > 0) {
      notes.push(
        `Scale: ${result.leftovers.otherNew.length} new host entries appeared meanwhile that are not these containers' (other users of this host): ${result.leftovers.otherNew.slice(0, 5).join(', ')}${result.leftovers.otherNew.length > 5 ? ', …' : ''}.`,
      );
    }
    notes.push(
      `Scale: left-behind checks compare \`/run/ctr/containers/*\`, mounts under \`/run/ctr\` or the rootfs, and cgroup dirs under \`/sys/fs/cgroup/*/ctr\` and \`/sys/fs/cgroup/*/*/*/ctr\` before and after; the ${result.ids.length} container ids read from the inits' \`/proc/<pid>/cgroup\` tell these containers' entries from others'.`,
    );
  }
  return { result, notes };
}

async function scale(step: Step, rootfs: string): Promise<ScaleResult> {
  const command = [NODE, step.bundle, 'start', '--net', 'none', 'sleep', '1'];
  const result: ScaleResult = {
    containers: SCALE_CONTAINERS,
    command: `${SCALE_CONTAINERS} × node ${relativeToRepo(step.bundle)} start --net none sleep 1 (from steps/${step.dir})`,
    wallMs: 0,
    exitCodes: [],
    failures: [],
    ids: [],
    leftovers: { ours: [], otherNew: [] },
    failed: null,
  };
  if (!existsSync(step.bundle)) {
    result.failed = `no bundle at ${step.bundle}`;
    return result;
  }
  const before = hostState(rootfs);
  const start = process.hrtime.bigint();
  const runtimes = Array.from({ length: SCALE_CONTAINERS }, () => spawnCollecting(command, step.path));
  let finished = 0;
  const all = Promise.all(
    runtimes.map((r) =>
      r.exited.then((status) => {
        finished++;
        return status;
      }),
    ),
  );
  // Learn each container's id from its init's cgroup while it runs: what is left later is ours for sure.
  const ids = new Map<number, string>();
  while (finished < SCALE_CONTAINERS) {
    for (const r of runtimes) {
      if (ids.has(r.pid)) continue;
      for (const child of childrenOf(r.pid)) {
        const id = containerIdOf(child);
        if (id) ids.set(r.pid, id);
      }
    }
    await sleep(20);
  }
  const statuses = await all;
  result.wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  result.exitCodes = statuses.map((s) => s.code ?? -1);
  result.failures = statuses.filter((s) => s.code !== 0).map((s) => firstLine(s.stderr));
  result.ids = [...ids.values()];
  const after = hostState(rootfs);
  const added = after.filter((entry) => !before.includes(entry));
  result.leftovers.ours = added.filter((entry) => result.ids.some((id) => entry.includes(id)));
  result.leftovers.otherNew = added.filter((entry) => !result.leftovers.ours.includes(entry));
  // Entries of ours that existed before cannot be: ids are fresh. Also catch ours not in `added` (none expected).
  for (const entry of after) {
    if (result.ids.some((id) => entry.includes(id)) && !result.leftovers.ours.includes(entry))
      result.leftovers.ours.push(entry);
  }
  if (result.failures.length > 0)
    result.failed = `${result.failures.length} of ${SCALE_CONTAINERS} failed: ${result.failures[0]}`;
  log(
    `scale: ${SCALE_CONTAINERS} containers in ${fmtMs(result.wallMs)}, exit codes ${[...new Set(result.exitCodes)].join(',')}, ` +
      `${result.ids.length} ids seen, leftovers of ours: ${result.leftovers.ours.length}, other new entries: ${result.leftovers.otherNew.length}`,
  );
  return result;
}

/** What a container could leave on the host: state entries, mounts, cgroup directories. */
export function hostState(rootfs: string): string[] {
  const entries: string[] = [];
  const dirs = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => join(dir, entry.name));
    } catch {
      return [];
    }
  };
  entries.push(...dirs('/run/ctr/containers').map((p) => `state ${p}`));
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint && (mountPoint.startsWith('/run/ctr') || mountPoint.startsWith(rootfs)))
      entries.push(`mount ${mountPoint}`);
  }
  // <hierarchy>/ctr/<id>, and <hierarchy>/<a>/<b>/ctr/<id> where the runtime's own cgroup is nested (memory here).
  for (const hierarchy of dirs('/sys/fs/cgroup')) {
    entries.push(...dirs(join(hierarchy, 'ctr')).map((p) => `cgroup ${p}`));
    for (const a of dirs(hierarchy))
      for (const b of dirs(a)) entries.push(...dirs(join(b, 'ctr')).map((p) => `cgroup ${p}`));
  }
  return entries;
}

/** The container id in a process's cgroup path (`.../ctr/<id>`), once the runtime has put it there. */
function containerIdOf(pid: number): string | null {
  try {
    return /\/ctr\/([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}
