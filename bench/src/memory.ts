/** Resident memory of each runtime's own processes while its container runs `sleep 5`, read from /proc. */
import { existsSync } from 'node:fs';
import {
  childrenOf,
  comm,
  exitStatus,
  firstLine,
  fmtMiB,
  kibField,
  log,
  NODE,
  type Step,
  sleep,
  spawnCollecting,
} from './common.js';
import { makeSleepBundle, type OciRuntimes, ociDelete, ociRun, removeBundle, versionNumber } from './oci.js';

export interface ProcessMemory {
  role: string;
  pid: number;
  comm: string;
  rssKiB: number | null;
}

export interface MemoryRow {
  subject: string;
  entry: string;
  command: string;
  processes: ProcessMemory[];
  totalKiB: number | null;
  failed: string | null;
  note: string | null;
}

/** Every step (through its bundle, unless that failed as an entry point) and runc and crun, all at once. */
export async function measureMemory(
  steps: readonly Step[],
  bundleFailed: ReadonlySet<string>,
  oci: OciRuntimes,
): Promise<{ rows: MemoryRow[]; notes: string[] }> {
  log('memory: every runtime with sleep 5, all at once');
  const probes: Promise<MemoryRow>[] = [];
  for (const step of steps) {
    const none = step.hasNet ? ['--net', 'none'] : [];
    const useBundle = existsSync(step.bundle) && !bundleFailed.has(step.number);
    const command = useBundle
      ? [NODE, step.bundle, 'start', ...none, 'sleep', '5']
      : [NODE, '--import', 'tsx', 'src/main.ts', 'start', ...none, 'sleep', '5'];
    const note = Number(step.number) < 6 ? 'the init execs the command: PID 1 is sleep' : null;
    probes.push(
      memoryProbe(
        `step ${step.number}`,
        useBundle ? 'bundle' : 'tsx, no pnpm (the bundle failed)',
        command,
        step.path,
        note,
      ),
    );
  }
  const sleepBundle = oci.bundle === null ? null : makeSleepBundle(oci.bundle);
  if (sleepBundle) {
    for (const tool of oci.tools) {
      if (tool.skipped) continue;
      const id = `ctr-bench-${process.pid}-${tool.name}-sleep`;
      probes.push(
        memoryProbe(tool.name, versionNumber(tool) ?? tool.name, ociRun(tool, sleepBundle, id), sleepBundle, null).then(
          (row) => {
            ociDelete(tool, sleepBundle, id);
            return row;
          },
        ),
      );
    }
  }
  // A probe that throws (a bug here, not a failing runtime) costs its row, not the run.
  const settled = await Promise.allSettled(probes);
  removeBundle(sleepBundle);
  const rows = settled.map(
    (result, i): MemoryRow =>
      result.status === 'fulfilled'
        ? result.value
        : {
            subject: `probe ${i + 1}`,
            entry: '–',
            command: '',
            processes: [],
            totalKiB: null,
            failed: `the probe itself failed: ${String(result.reason)}`,
            note: null,
          },
  );
  const notes = [
    'Memory: the probes run at the same time; steps 01-05 have no init of their own once the command runs (their init execs it, so PID 1 is `sleep`); from step 06 PID 1 is the TypeScript init (node), and in step 07 the nsexec helper sits between host and init. runc and crun stay as one process beside the container.',
  ];
  return { rows, notes };
}

/**
 * The runtime's processes while `sleep 5` runs in the container: every process from the one we
 * started down to the container's `sleep`, sleep itself left out (it is the workload).
 */
async function memoryProbe(
  subject: string,
  entry: string,
  command: readonly string[],
  cwd: string,
  note: string | null,
): Promise<MemoryRow> {
  const row: MemoryRow = {
    subject,
    entry,
    command: command.join(' '),
    processes: [],
    totalKiB: null,
    failed: null,
    note,
  };
  const started = spawnCollecting(command, cwd);
  let done = false;
  const exited = started.exited.then((status) => {
    done = true;
    return status;
  });
  const deadline = Date.now() + 30_000;
  let chain: number[] | null = null;
  while (!done && Date.now() < deadline) {
    chain = chainTo(started.pid, 'sleep');
    if (chain) break;
    await sleep(25);
  }
  if (chain) {
    await sleep(1000); // past start-up: the steady state while the container runs
    chain = chainTo(started.pid, 'sleep') ?? chain;
    const runtime = chain.slice(0, -1);
    row.processes = runtime.map((pid, i) => {
      const name = comm(pid);
      const role = i === 0 ? 'host runtime' : i === runtime.length - 1 && name === 'node' ? 'init (PID 1)' : 'helper';
      return { role, pid, comm: name, rssKiB: kibField(pid, 'status', 'VmRSS') };
    });
    row.totalKiB = row.processes.reduce((sum, p) => sum + (p.rssKiB ?? 0), 0);
  }
  const status = await exited;
  if (status.code !== 0) {
    row.failed = `${firstLine(status.stderr)} (${exitStatus(status.code, status.signal)})`;
  } else if (!chain) {
    row.failed = 'the container exited before its sleep was seen';
  }
  log(
    row.failed
      ? `memory ${subject}: failed: ${row.failed}`
      : `memory ${subject}: ${row.processes.map((p) => `${p.role} ${p.comm} ${fmtMiB(p.rssKiB)}`).join(', ')}`,
  );
  return row;
}

/** The processes from `root` down to the first one named `target`, both included; null if there is none yet. */
function chainTo(root: number, target: string): number[] | null {
  if (comm(root) === target) return [root];
  for (const child of childrenOf(root)) {
    const rest = chainTo(child, target);
    if (rest) return [root, ...rest];
  }
  return null;
}
