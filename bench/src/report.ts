/** The results: a markdown table (printed, and included by docs/benchmarks.md) and every sample as JSON. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckRow } from './check.js';
import { failureLine, fmtMiB, fmtMs, log, type Outcome, ok, REPO, run } from './common.js';
import { type Comparison, change } from './compare.js';
import type { ImageFigures, Samples } from './images.js';
import { type Timing, TRACE_ENTRY } from './latency.js';
import type { HeldMemory, LifecycleFigures } from './lifecycle.js';
import type { Machine } from './machine.js';
import type { MemoryRow } from './memory.js';
import type { ScaleResult } from './scale.js';

const RESULTS = join(REPO, 'bench', 'results');

export interface Report {
  machine: Machine;
  options: { runs: number; quick: boolean; compare: string | null; check: boolean };
  durationS: number;
  references: { runc: number | null; node: number | null };
  ociNamespaces: string[];
  notes: string[];
  latency: Timing[];
  /** With --compare: the other commit's rows beside this checkout's. */
  comparison: Comparison | null;
  memory: MemoryRow[];
  scale: ScaleResult | null;
  /** Step 09's pull and start figures; null without step 09 or docker-registry (a note says why). */
  images: ImageFigures | null;
  /** Step 10's run -d, exec and rm, its monitors' memory and many containers held; null without step 10. */
  lifecycle: LifecycleFigures | null;
  /** With --check: the student's loop, pnpm check NN. */
  check: CheckRow[] | null;
}

/** bench/results/latest.md and latest.json (the report, plus the tsx warm-up runs), then the table on stdout. */
export function writeReport(report: Report, warmupsTsxMs: Record<string, Outcome>): void {
  const table = markdown(report);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.md'), `${table}\n`);
  const json = join(RESULTS, 'latest.json');
  writeFileSync(json, `${JSON.stringify({ ...report, warmupsTsxMs }, null, 2)}\n`);
  // Formatted as `pnpm lint` wants it, so that a committed result passes the check.
  const formatted = run([join(REPO, 'node_modules', '.bin', 'biome'), 'format', '--write', json], REPO);
  if (!ok(formatted)) log(`latest.json left as JSON.stringify wrote it: biome format: ${failureLine(formatted)}`);
  process.stdout.write(`${table}\n`);
  log(`wrote bench/results/latest.md and latest.json in ${report.durationS.toFixed(0)} s`);
}

function markdown(report: Report): string {
  const { machine: m, references } = report;
  const out: string[] = [];
  out.push(
    `Measured ${m.date.slice(0, 16).replace('T', ' ')} UTC on Linux ${m.kernel}, ${m.cpu} (${m.cores} cores), ${m.memoryGiB} GiB, ` +
      `Node.js ${m.node}, cgroups ${m.cgroups}; rootfs: ${m.rootfsDescription}; commit ${m.commit ?? 'unknown'}. ` +
      `${report.options.runs} runs per figure${report.options.quick ? ' (--quick)' : ''}; the whole run took ${report.durationS.toFixed(0)} s; ` +
      `load average ${m.loadBefore[0]} before, ${m.loadAfter[0]} after.`,
    '',
  );
  out.push(
    '**Start to exit of `/bin/true`** (the whole command, timed from outside: median, min and max; after an untimed warm-up, every command runs once per round, round after round, so that a busy spell on the machine spreads over all figures)',
    '',
  );
  out.push('| Step | Entry point | Network | Median | Min | Max | vs runc | vs `node -e 0` |');
  out.push('| --- | --- | --- | --: | --: | --: | --: | --: |');
  for (const t of report.latency) {
    const what = t.group === 'reference' ? '–' : t.step;
    const entry = t.group === 'reference' ? `${t.entry}: \`${t.command}\`` : t.entry;
    const net = t.net ?? '–';
    if (t.failed) {
      out.push(`| ${what} | ${cell(entry)} | ${net} | failed: ${cell(t.failed)} | – | – | – | – |`);
    } else {
      out.push(
        `| ${what} | ${cell(entry)} | ${net} | ${fmtMs(t.medianMs)} | ${fmtMs(t.minMs)} | ${fmtMs(t.maxMs)} | ${ratio(t.medianMs, references.runc)} | ${ratio(t.medianMs, references.node)} |`,
      );
    }
  }
  out.push('');
  out.push(...traceCost(report.latency));
  if (report.comparison) out.push(...comparison(report.comparison));
  out.push(
    '**Resident memory while the container runs `sleep 5`** (VmRSS from `/proc/<pid>/status`, one second after `sleep` started; `sleep` itself not counted)',
    '',
  );
  out.push('| Runtime | Entry point | Host-side runtime | Helper | Init (PID 1) | Total |');
  out.push('| --- | --- | --: | --: | --: | --: |');
  for (const row of report.memory) {
    if (row.failed) {
      out.push(`| ${row.subject} | ${cell(row.entry)} | failed: ${cell(row.failed)} | – | – | – |`);
      continue;
    }
    const by = (role: string) =>
      row.processes
        .filter((p) => p.role === role)
        .map((p) => `${fmtMiB(p.rssKiB)} (${p.comm})`)
        .join(', ') || '–';
    out.push(
      `| ${row.subject} | ${cell(row.entry)} | ${by('host runtime')} | ${by('helper')} | ${by('init (PID 1)')} | ${fmtMiB(row.totalKiB)} |`,
    );
  }
  out.push('');
  const s = report.scale;
  if (s) {
    out.push(
      `**Scale: ${s.containers} containers of step 06 at once** (\`--net none sleep 1\`, bundle entry point)`,
      '',
    );
    out.push('| Containers | All exited 0 | Wall time | Left behind by them |');
    out.push('| --: | --- | --: | --- |');
    const exited0 = s.exitCodes.filter((c) => c === 0).length;
    const allOk = s.failed ? `no: ${cell(s.failed)}` : `yes (${exited0}/${s.containers})`;
    const left = s.leftovers.ours.length === 0 ? 'nothing' : cell(s.leftovers.ours.join(', '));
    out.push(`| ${s.containers} | ${allOk} | ${fmtMs(s.wallMs)} | ${left} |`);
    out.push('');
  }
  if (report.images) out.push(...images(report.images, references));
  if (report.lifecycle) out.push(...lifecycle(report.lifecycle, m.cores));
  if (report.check) {
    out.push("**The student's loop: `pnpm check NN`** (one run each)", '');
    out.push('| Step | To the first failure of a fresh exercise | Full pass of a finished one |');
    out.push('| --- | --: | --: |');
    const seconds = (ms: number | null) => (ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`);
    for (const row of report.check) {
      const tail = row.failed ? ` (${cell(row.failed)})` : '';
      out.push(`| ${row.step} | ${seconds(row.firstFailureMs)} | ${seconds(row.fullPassMs)}${tail} |`);
    }
    out.push('');
  }
  if (report.notes.length > 0) {
    out.push('Notes:', '');
    for (const note of report.notes) out.push(`- ${prose(note)}`);
    out.push('');
  }
  return out.join('\n');
}

/** Step 09: the pull of a multi-layer image, and start with --image beside start on the rootfs. */
function images(f: ImageFigures, references: Report['references']): string[] {
  const row = (what: string, s: Samples, extra = '–') =>
    s.failed
      ? `| ${what} | failed: ${cell(s.failed)} | – | – | – |`
      : `| ${what} | ${fmtMs(s.medianMs)} | ${fmtMs(s.minMs)} | ${fmtMs(s.maxMs)} | ${extra} |`;
  const throughput = f.throughputMiBs === null ? '–' : `${f.throughputMiBs.toFixed(0)} MiB/s`;
  return [
    `**Step 09: a pull of ${f.layers} layers (${fmtMiB(f.compressedBytes / 1024)} of compressed blobs: the default rootfs, then ${f.layers - 1} layers of random bytes) from docker-registry on 127.0.0.1**, through step 09's bundle, into an empty store each time; then again with every layer stored`,
    '',
    '| Pull | Median | Min | Max | Throughput |',
    '| --- | --: | --: | --: | --: |',
    row('into an empty store', f.coldPull, throughput),
    row('every layer stored', f.warmPull),
    '',
    "**Step 09: start to exit of `/bin/true`, `--net none`, bundle**, the image's layers against the rootfs as the overlay's lowers, in the same rounds",
    '',
    '| Root | Median | Min | Max | vs runc |',
    '| --- | --: | --: | --: | --: |',
    row(`\`--image\` (${f.layers} layers)`, f.startImage, ratio(f.startImage.medianMs, references.runc)),
    row('the rootfs (one lower)', f.startRootfs, ratio(f.startRootfs.medianMs, references.runc)),
    '',
  ];
}

/** Step 10: run -d, exec and rm -f beside start; the memory a held container costs; many held at once. */
function lifecycle(f: LifecycleFigures, cores: number): string[] {
  const row = (what: string, until: string, s: Samples) =>
    s.failed
      ? `| ${what} | ${until} | failed: ${cell(s.failed)} | – | – |`
      : `| ${what} | ${until} | ${fmtMs(s.medianMs)} | ${fmtMs(s.minMs)} | ${fmtMs(s.maxMs)} |`;
  const held = (m: HeldMemory) =>
    m.failed && m.containers.length === 0
      ? `| ${m.held} | failed: ${cell(m.failed)} | – | – | – | – | – |`
      : `| ${m.held}${m.failed ? ` (${cell(m.failed)})` : ''} | ${fmtMiB(m.monitorPssKiB)} | ${fmtMiB(m.helperPssKiB)} | ${fmtMiB(m.initPssKiB)} | ${fmtMiB(m.perContainerPssKiB)} | ${fmtMiB(m.totalPssKiB)} | ${fmtMiB(m.monitorRssKiB)} |`;
  const n = f.many;
  const seconds = (ms: number | null) => (ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`);
  const running = n.failed ? `${n.running}/${n.containers}: ${cell(n.failed)}` : `yes (${n.running}/${n.containers})`;
  const left = n.leftBehind.length === 0 ? 'nothing' : cell(n.leftBehind.join(', '));
  return [
    "**Step 10: a container that outlives the command line**, through step 10's bundle, `--net none`, in the same rounds, each round on a container of its own",
    '',
    '| Command | Timed until | Median | Min | Max |',
    '| --- | --- | --: | --: | --: |',
    row('`start /bin/true`', 'it exited', f.start),
    row('`run -d sleep 600`', 'the id is printed: its command runs, its monitor stays', f.runDetached),
    row('`exec <id> /bin/true`', 'it exited', f.exec),
    row('`rm -f <id>`', 'killed, cleaned up, its record removed', f.remove),
    '',
    "**Step 10: memory of a detached container's own processes** (PSS, `/proc/<pid>/smaps_rollup`: shared pages divided among the processes that map them; means per container; `sleep` itself not counted)",
    '',
    '| Containers held | Monitor (node) | nsexec | Init, PID 1 (node) | Per container | All of them | Monitor RSS |',
    '| --: | --: | --: | --: | --: | --: | --: |',
    held(f.one),
    ...(n.memory ? [held(n.memory)] : []),
    '',
    `**Step 10: ${n.containers} containers held at once** (\`run -d --net none sleep 600\` × ${n.containers}, all spawned together on ${cores} cores; then one \`rm -f\` with every id)`,
    '',
    '| Containers | All running | Start all | PSS of all | `rm -f` of all | Their processes exited | Left behind |',
    '| --: | --- | --: | --: | --: | --: | --- |',
    `| ${n.containers} | ${running} | ${seconds(n.startAllMs)} | ${fmtMiB(n.memory?.totalPssKiB ?? null)} | ${n.removeFailed ? `failed: ${cell(n.removeFailed)}` : seconds(n.removeAllMs)} | ${n.processesGoneMs === null ? '–' : `${fmtMs(n.processesGoneMs)} after`} | ${left} |`,
    '',
  ];
}

/** The trace row beside the row it differs from only by `CTR_TRACE`. */
function traceCost(latency: readonly Timing[]): string[] {
  const traced = latency.find((t) => t.entry === TRACE_ENTRY);
  const plain = latency.find((t) => t.entry === 'bundle' && t.step === traced?.step && t.net === traced?.net);
  if (!traced || !plain) return [];
  return [
    `**The trace, on:** step ${traced.step}'s bundle with \`CTR_TRACE=/dev/null\`: ${fmtMs(traced.medianMs)} against ${fmtMs(plain.medianMs)} without, ${difference(change(traced.medianMs, plain.medianMs))}.`,
    '',
  ];
}

function comparison(c: Comparison): string[] {
  const out = [
    `**Compared with \`${c.ref}\`** (commit ${c.commit}): the same bundle rows of that commit's checkout, run in the same rounds as the ones above, each right after this checkout's (difference: now minus then; more than 0 is slower now)`,
    '',
    `| Step | Network | Now | ${cell(c.ref)} | Difference |`,
    '| --- | --- | --: | --: | --: |',
  ];
  for (const row of c.rows) {
    const diff = difference(row);
    const failed = row.failed ? ` (failed: ${cell(row.failed)})` : '';
    out.push(
      `| ${row.step} | ${row.net ?? '–'} | ${fmtMs(row.currentMs)} | ${fmtMs(row.otherMs)} | ${diff}${failed} |`,
    );
  }
  out.push('');
  return out;
}

/** `+3.2 ms (+2.1 %)`, or `–` where a median is missing. */
function difference({ diffMs, diffPercent }: ReturnType<typeof change>): string {
  if (diffMs === null || diffPercent === null) return '–';
  const sign = diffMs > 0 ? '+' : diffMs < 0 ? '-' : '±';
  return `${sign}${fmtMs(Math.abs(diffMs))} (${sign}${Math.abs(diffPercent).toFixed(1)} %)`;
}

function ratio(ms: number | null, reference: number | null): string {
  if (ms === null || reference === null || reference <= 0) return '–';
  const r = ms / reference;
  return `×${r >= 9.95 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(1) : r.toFixed(2)}`;
}

/** Text for a markdown table cell, safe for VitePress too (it reads `<x>` outside code as a Vue tag). */
function cell(text: string): string {
  return prose(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Escapes `<` and `>` outside code spans. */
function prose(text: string): string {
  return text
    .split('`')
    .map((part, i) => (i % 2 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('`');
}
