/**
 * `sudo pnpm docs:transcripts`: the "Try it by hand" transcripts of the step pages, from real runs
 * of the commands in transcript-definitions.ts, written to docs/transcripts/<step>/. The pages
 * import them (`<<< @/transcripts/04/oom.v1.txt{sh}`); docs/test/transcripts.test.ts runs the same
 * code (runTranscript) and compares, so a change of what the runtime prints fails `pnpm test`
 * until the files are regenerated.
 *
 * Each command runs as a student types it, in bash from the repository's top directory: the
 * real `pnpm --filter NN start`, the real host tools. `sudo` is a shell function that runs its
 * arguments (the generator runs as root; Debian's root has no sudo binary). What a second
 * terminal does is scripted: the first terminal's container starts in the background, the second
 * terminal's commands run once it is ready, then the first terminal's command must end. A
 * transcript that types Ctrl-C runs its commands under a pseudo-terminal (script(1)), which turns
 * it into SIGINT as a student's terminal does. A transcript's `cleanUp` runs after it either way,
 * so that a run that failed half-way leaves no user, file or queue behind.
 *
 * Files: <step>/<name>.<layout>.txt, and <step>/<name>.first.<layout>.txt for the first terminal
 * of a two-terminal transcript. <layout> is the cgroup layout of the machine that ran it: v1
 * (hybrid or legacy: the v1 controllers in use) or v2 (pure cgroup2). Every transcript has a v1
 * file, from this project's machine; a transcript with a `v2` part also has a v2 file once this
 * script ran on a pure cgroup v2 machine. A v2 file is never written by hand. The QEMU guest of
 * `pnpm vm` (test/vm/) is such a machine, with the checkout read-only, so there the runs go to
 * stdout and the host writes them:
 *
 *   pnpm vm -- env CTR_TEST_SLOWNESS=10 pnpm --silent docs:transcripts --stdout > /tmp/v2.txt
 *   pnpm docs:transcripts --from /tmp/v2.txt
 *
 * Rewritten in the files (what differs between two machines, nothing else):
 *   - the checkout's absolute path                  -> <repo>
 *   - the Node.js binary (process.execPath)          -> <node>
 *   - the runtime's own cgroup, a per-session or per-service group on some machines (it is `/`
 *     on most)                                        -> /<own cgroup>
 *   - a line that is exactly the host's hostname     -> <host's hostname>
 *   - a line that is exactly the name of the host's PID 1, when it is not systemd
 *                                                     -> <host's init>
 *   - pnpm's echo of the script it runs (`$ node --import tsx src/main.ts start ...`, and of the
 *     top directory's scripts, `$ pnpm --silent ...`, on stderr) is left out, as the pages say;
 *     so is the end of its report of a script that failed (`Error: ERR_PNPM_RECURSIVE_RUN_FIRST_FAIL`,
 *     a blank line, `× "pnpm recursive run" failed in ...`): its `[ELIFECYCLE] Command failed
 *     with exit code N.` stays, for the exit status.
 * Container ids, pids, byte counts and times stay as the run printed them. The comparison masks
 * them: VARIATIONS below, in one place, plus a transcript's own `varies`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TRANSCRIPTS, type Transcript, type Variation } from './transcript-definitions.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
export const TRANSCRIPTS_DIR = join(REPO, 'docs', 'transcripts');
export const REGENERATE = 'run: sudo pnpm docs:transcripts';

export type Layout = 'v1' | 'v2';

/** The machine's cgroup layout as the runtime sees it: pure cgroup2 has cgroup.controllers at the top. */
export function cgroupLayout(): Layout {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1';
}

/** The layouts a transcript has a file for: every one on v1, the ones with a `v2` part on v2 as well. */
export const layoutsOf = (transcript: Transcript): Layout[] => (transcript.v2 ? ['v1', 'v2'] : ['v1']);

/** The transcript as a student on that layout types it. */
export const onLayout = (transcript: Transcript, layout: Layout): Transcript =>
  layout === 'v2' && transcript.v2 ? { ...transcript, ...transcript.v2 } : transcript;

/** The files of a transcript on a layout, relative to docs/transcripts/. */
export function filesOf(transcript: Transcript, layout: Layout): { first?: string; commands: string } {
  const base = `${transcript.step}/${transcript.name}`;
  return {
    ...(transcript.firstTerminal ? { first: `${base}.first.${layout}.txt` } : {}),
    commands: `${base}.${layout}.txt`,
  };
}

// --- what differs between two equal runs --------------------------------------------------------

/**
 * Masked in every transcript when comparing. Each pattern's groups are the parts that vary; a
 * `tolerance` compares them as numbers within that fraction of the checked-in value, without one
 * any value matches.
 */
export const VARIATIONS: Variation[] = [
  { pattern: /\b([0-9a-f]{12})\b/g, why: 'a container id: random, 12 hex digits' },
  { pattern: /:\[(\d+)\]/g, why: 'a namespace inode number: the kernel picks it' },
  { pattern: /\b([A-Z][a-z]{2} [ \d]\d \d\d:\d\d)\b/g, why: 'a time `ls -l` shows' },
];

/** A line with every varying part replaced by `<>`, and those parts, in the order they were found. */
function varying(
  line: string,
  variations: readonly Variation[],
): { text: string; values: { value: string; variation: Variation }[] } {
  const values: { value: string; variation: Variation }[] = [];
  let text = line;
  for (const variation of variations) {
    text = text.replace(variation.pattern, (whole: string, ...groups: unknown[]) => {
      let replaced = whole;
      for (const value of groups.filter((group): group is string => typeof group === 'string')) {
        values.push({ value, variation });
        replaced = replaced.replace(value, '<>');
      }
      return replaced;
    });
  }
  return { text, values };
}

/** Whether two lines are the same but for what varies; if not, why not. */
export function lineDifference(
  checkedIn: string,
  regenerated: string,
  variations: readonly Variation[],
): string | null {
  const [a, b] = [varying(checkedIn, variations), varying(regenerated, variations)];
  if (a.text !== b.text) return 'the text differs';
  for (let i = 0; i < a.values.length; i++) {
    const [old, now] = [a.values[i], b.values[i]];
    if (!old || !now) return 'a varying part is missing';
    const tolerance = old.variation.tolerance;
    if (tolerance === undefined) continue;
    const [before, after] = [Number(old.value), Number(now.value)];
    if (Math.abs(after - before) > Math.abs(before) * tolerance) {
      return `${now.value} is not within ${tolerance * 100}% of ${old.value} (${old.variation.why})`;
    }
  }
  return null;
}

export interface Difference {
  /** 1-based. */
  line: number;
  checkedIn: string | null;
  regenerated: string | null;
  why: string;
}

/**
 * The first line where two outputs differ beyond what varies. A transcript's `interleaved`
 * messages (a fork bomb's shells, all failing at once) are left out of both, lines they filled
 * with them.
 */
export function firstDifference(
  checkedIn: readonly string[],
  regenerated: readonly string[],
  transcript: Transcript,
): Difference | null {
  const variations = [...VARIATIONS, ...(transcript.varies ?? [])];
  const interleaved = transcript.interleaved;
  const without = (lines: readonly string[]): string[] =>
    interleaved ? lines.map((line) => line.replace(interleaved, '')).filter((line) => line !== '') : [...lines];
  if (interleaved) {
    const has = (lines: readonly string[]): boolean => lines.some((line) => line.search(interleaved) >= 0);
    if (has(checkedIn) !== has(regenerated)) {
      const why = `only one side prints ${interleaved}`;
      return { line: 1, checkedIn: checkedIn[0] ?? null, regenerated: regenerated[0] ?? null, why };
    }
  }
  const [a, b] = [without(checkedIn), without(regenerated)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const [x, y] = [a[i], b[i]];
    const why =
      x === undefined || y === undefined ? 'one output ends before the other' : lineDifference(x, y, variations);
    if (why !== null) return { line: i + 1, checkedIn: x ?? null, regenerated: y ?? null, why };
  }
  return null;
}

// --- machine-specific parts ---------------------------------------------------------------------

export interface Machine {
  repo: string[];
  node: string;
  /** The runtime's own cgroup path in each v1 hierarchy where it is not `/`. */
  ownCgroups: string[];
  hostname: string;
  init: string;
}

export function readMachine(): Machine {
  const ownCgroups = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .flatMap((line) => {
      // every hierarchy, v1 and cgroup2 (`0::/...`): the runtime nests its cgroups under its own
      const [, , path = '/'] = line.split(/:(.*?):(.*)/s);
      return path !== '/' ? [path] : [];
    });
  return {
    repo: [...new Set([REPO, realpathSync(REPO)])],
    node: process.execPath,
    ownCgroups: [...new Set(ownCgroups)].sort((a, b) => b.length - a.length),
    hostname: hostname(),
    init: readFileSync('/proc/1/comm', 'utf8').trim(),
  };
}

/** pnpm's echo of a script: a step's CLI (`src/main.ts`, `src/net-cli.ts`) or a root script such as `pnpm net`. */
const PNPM_ECHO = /^\$ (?:node --import tsx src\/[\w-]+\.ts |pnpm --silent |tsx )/;

/** The end of pnpm's report of a failed script, after `[ELIFECYCLE] ... exit code N.`: three lines. */
const PNPM_FAILURE = ['Error: ERR_PNPM_RECURSIVE_RUN_FIRST_FAIL', '', /^\s+× "pnpm recursive run" failed in /] as const;

function withoutPnpmFailure(lines: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const matches = PNPM_FAILURE.every((expected, offset) => {
      const line = lines[i + offset];
      return line !== undefined && (typeof expected === 'string' ? line === expected : expected.test(line));
    });
    if (matches) {
      i += PNPM_FAILURE.length - 1;
      // pnpm wraps the path of a long checkout (CI's clone in /tmp) onto lines of its own.
      while (/^\s+│ /.test(lines[i + 1] ?? '')) i++;
    } else kept.push(lines[i] as string);
  }
  return kept;
}

export function normalize(lines: readonly string[], machine: Machine): string[] {
  return withoutPnpmFailure(lines)
    .filter((line) => !PNPM_ECHO.test(line))
    .map((raw) => {
      let line = raw;
      for (const own of machine.ownCgroups) line = line.replaceAll(`${own}/`, '/<own cgroup>/');
      for (const repo of machine.repo) line = line.replaceAll(repo, '<repo>');
      line = line.replaceAll(machine.node, '<node>');
      if (line === machine.hostname) line = "<host's hostname>";
      if (line === machine.init && machine.init !== 'systemd') line = "<host's init>";
      return line;
    });
}

// --- running -------------------------------------------------------------------------------------

const environment = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: process.env.HOME ?? '/root',
});

/** The script bash runs for one terminal: each command after a marker line, stderr with stdout. */
function terminalScript(commands: readonly string[]): string {
  return [
    // Root runs the pages' `sudo ...` as is; a root shell often has no sudo binary. `sudo VAR=value
    // command` passes VAR on, as sudo does (env, since bash takes no assignment from "$@").
    'sudo() { if [[ $1 == *=* ]]; then env "$@"; else "$@"; fi; }',
    'exec 2>&1',
    ...commands.flatMap((command, index) => [`printf '%s\\n' '${marker(index)}'`, command]),
    `printf '%s\\n' '${marker(commands.length)}'`,
  ].join('\n');
}

const marker = (index: number): string => `@@ctr-transcript ${index}@@`;

/** `$ command` and its output, for each command, from the terminal's raw output. */
function transcriptLines(commands: readonly string[], output: string): string[] {
  const lines: string[] = [];
  const pieces = output.split(/@@ctr-transcript (\d+)@@\n/);
  // pieces: [before the first marker, index, text, index, text, ...]
  for (let i = 1; i + 1 < pieces.length; i += 2) {
    const index = Number(pieces[i]);
    const command = commands[index];
    if (command === undefined) continue;
    const text = (pieces[i + 1] ?? '').replace(/\n+$/, '');
    lines.push(`$ ${command}`, ...(text === '' ? [] : text.split('\n')));
  }
  return lines;
}

interface Terminal {
  pid: number;
  output: () => string;
  ended: Promise<number | string>;
  /** Writes to the terminal's input: only a pseudo-terminal's input is open. */
  type: (text: string) => void;
}

/**
 * bash reads the script from the environment, not its arguments: `pgrep -f` in a transcript then
 * finds the commands a student's terminal runs, and not this terminal's script, which names them.
 */
const RUN_SCRIPT = 'eval "$CTR_TRANSCRIPT_SCRIPT"';

/**
 * A terminal, as a bash that runs `commands`. With `pty`, a pseudo-terminal (script(1), from
 * util-linux, as step 06's terminal test uses): its line discipline turns a typed Ctrl-C into
 * SIGINT for the foreground process group, and echoes it as ^C.
 */
function openTerminal(commands: readonly string[], cwd: string, options: { pty?: boolean } = {}): Terminal {
  const env = { ...environment(), CTR_TRANSCRIPT_SCRIPT: terminalScript(commands) };
  const child = options.pty
    ? spawn('script', ['--quiet', '--flush', '--command', `bash -c '${RUN_SCRIPT}'`, '/dev/null'], {
        cwd,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      })
    : spawn('bash', ['-c', RUN_SCRIPT], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const append = (chunk: Buffer): void => {
    // a terminal ends its lines with \r\n
    output += options.pty ? chunk.toString().replaceAll('\r', '') : chunk.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const ended = new Promise<number | string>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  // nothing is typed once it ended, and an open pipe would keep this process alive
  child.once('exit', () => child.stdin?.destroy());
  const type = (text: string): void => {
    child.stdin?.write(text);
  };
  return { pid: child.pid ?? -1, output: () => output, ended, type };
}

/** Kills a terminal's whole process group and what is below it; the container's PID 1 with it. */
async function closeTerminal(terminal: Terminal, killTree: (pid: number) => string[]): Promise<void> {
  killTree(terminal.pid);
  try {
    process.kill(-terminal.pid, 'SIGKILL');
  } catch {}
  await Promise.race([terminal.ended, sleep(5000)]);
}

async function ended(terminal: Terminal, timeoutMs: number): Promise<boolean> {
  return Promise.race([terminal.ended.then(() => true), sleep(timeoutMs).then(() => false)]);
}

export interface Run {
  transcript: Transcript;
  layout: Layout;
  /** By file, relative to docs/transcripts/: the normalized lines. */
  files: Map<string, string[]>;
}

/** Runs one transcript for real and returns its normalized files. */
export async function runTranscript(definition: Transcript, machine: Machine = readMachine()): Promise<Run> {
  // Loaded here: the test kit records every spawn from the moment it is loaded.
  const { killTree, scaled } = await import('@ctr/testkit');
  // Stretched by the test kit's factor for a slow machine: the QEMU guest of `pnpm vm` has no KVM.
  const READY_TIMEOUT_MS = scaled(30_000);
  const END_TIMEOUT_MS = scaled(30_000);
  const layout = cgroupLayout();
  const transcript = onLayout(definition, layout);
  const files = filesOf(transcript, layout);
  const result = new Map<string, string[]>();
  const label = `${transcript.step}/${transcript.name}`;
  const first = transcript.firstTerminal;
  /** Until `condition` (run by bash) succeeds, while `terminal` runs. */
  const waitFor = async (condition: string, terminal: Terminal, which: string): Promise<void> => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (spawnSync('bash', ['-c', condition], { cwd: REPO, env: environment(), stdio: 'ignore' }).status !== 0) {
      if (await ended(terminal, 0)) {
        throw new Error(`${label}: the ${which} ended before \`${condition}\` succeeded:\n${terminal.output()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${label}: \`${condition}\` did not succeed within ${READY_TIMEOUT_MS / 1000} s:\n${terminal.output()}`,
        );
      }
      await sleep(100);
    }
  };
  const firstTerminal = first ? openTerminal([first.command], join(REPO, first.cwd ?? '.')) : null;
  let second: Terminal | null = null;
  try {
    if (first && firstTerminal) await waitFor(first.readyWhen, firstTerminal, "first terminal's command");
    second = openTerminal(transcript.commands, join(REPO, transcript.cwd ?? '.'), { pty: !!transcript.ctrlC });
    for (const when of transcript.ctrlC ?? []) {
      await waitFor(when, second, 'commands');
      second.type('\x03');
    }
    if (!(await ended(second, END_TIMEOUT_MS * 2))) {
      await closeTerminal(second, killTree);
      throw new Error(
        `${label}: the commands did not end within ${(END_TIMEOUT_MS * 2) / 1000} s:\n${second.output()}`,
      );
    }
    if (first && firstTerminal) {
      if (!(await ended(firstTerminal, END_TIMEOUT_MS))) {
        throw new Error(
          `${label}: the first terminal's command did not end after the second terminal's commands:\n${firstTerminal.output()}`,
        );
      }
      result.set(files.first as string, normalize(transcriptLines([first.command], firstTerminal.output()), machine));
    }
    result.set(files.commands, normalize(transcriptLines(transcript.commands, second.output()), machine));
  } finally {
    if (second && !(await ended(second, 0))) await closeTerminal(second, killTree);
    if (firstTerminal && !(await ended(firstTerminal, 0))) await closeTerminal(firstTerminal, killTree);
    if (transcript.cleanUp) {
      spawnSync('bash', ['-c', transcript.cleanUp], { cwd: REPO, env: environment(), stdio: 'ignore' });
    }
  }
  return { transcript, layout, files: result };
}

// --- the files -----------------------------------------------------------------------------------

/** The lines of a checked-in file, or null when there is none. */
export function readTranscriptFile(path: string): string[] | null {
  try {
    return readFileSync(join(TRANSCRIPTS_DIR, path), 'utf8').replace(/\n$/, '').split('\n');
  } catch {
    return null;
  }
}

/** Every file under docs/transcripts/, relative to it. */
export function listTranscriptFiles(dir = TRANSCRIPTS_DIR, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listTranscriptFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}

/**
 * Writes a run's files. A file that differs from the new run only in what varies keeps its
 * content, so that regenerating changes nothing that did not change.
 */
export function writeRun(run: Run): string[] {
  const written: string[] = [];
  for (const [path, lines] of run.files) {
    const old = readTranscriptFile(path);
    if (old && firstDifference(old, lines, run.transcript) === null) continue;
    const target = join(TRANSCRIPTS_DIR, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, `${lines.join('\n')}\n`);
    written.push(path);
  }
  return written;
}

/** Files of this layout that no transcript makes any more (of the other layout, none is touched). */
export function staleFiles(layout: Layout): string[] {
  const made = new Set(
    TRANSCRIPTS.flatMap((transcript) =>
      layoutsOf(transcript).includes(layout) ? Object.values(filesOf(transcript, layout)) : [],
    ),
  );
  return listTranscriptFiles().filter((path) => path.endsWith(`.${layout}.txt`) && !made.has(path));
}

/** A run as one line of `--stdout`, and back: the guest of `pnpm vm` cannot write the checkout. */
const RUN_LINE = 'ctr-transcript-run ';
const runLine = (run: Run): string =>
  `${RUN_LINE}${JSON.stringify({ id: `${run.transcript.step}/${run.transcript.name}`, layout: run.layout, files: [...run.files] })}`;

function runsFrom(file: string): Run[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(RUN_LINE))
    .map((line) => {
      const { id, layout, files } = JSON.parse(line.slice(RUN_LINE.length)) as {
        id: string;
        layout: Layout;
        files: [string, string[]][];
      };
      const definition = TRANSCRIPTS.find((t) => `${t.step}/${t.name}` === id);
      if (!definition) throw new Error(`${file}: no transcript ${id} in transcript-definitions.ts`);
      return { transcript: onLayout(definition, layout), layout, files: new Map(files) };
    });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const say = (line: string): void => {
    process.stderr.write(`transcripts: ${line}\n`);
  };
  const started = Date.now();
  const args = process.argv.slice(2);
  const toStdout = args.includes('--stdout');
  const from = args.includes('--from') ? args[args.indexOf('--from') + 1] : undefined;
  const only = args.filter((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--from');
  try {
    if (from !== undefined) {
      for (const run of runsFrom(from)) {
        const paths = writeRun(run);
        say(
          `${run.transcript.step}/${run.transcript.name} (cgroup ${run.layout}): ${paths.length ? `written ${paths.join(', ')}` : 'unchanged'}`,
        );
      }
      process.exit(0);
    }
    if (process.getuid?.() !== 0) throw new Error(`the transcripts come from rootful runs: ${REGENERATE}`);
    const layout = cgroupLayout();
    const machine = readMachine();
    const chosen = TRANSCRIPTS.filter(
      (t) =>
        layoutsOf(t).includes(layout) && (only.length === 0 || only.some((o) => `${t.step}/${t.name}`.startsWith(o))),
    );
    say(`cgroup ${layout} machine: ${chosen.length} transcripts`);
    let written = 0;
    for (const transcript of chosen) {
      const began = Date.now();
      const run = await runTranscript(transcript, machine);
      const seconds = ((Date.now() - began) / 1000).toFixed(1);
      if (toStdout) {
        process.stdout.write(`${runLine(run)}\n`);
        say(`${transcript.step}/${transcript.name}: printed (${seconds} s)`);
        continue;
      }
      const paths = writeRun(run);
      written += paths.length;
      say(
        `${transcript.step}/${transcript.name}: ${paths.length ? `written ${paths.join(', ')}` : 'unchanged'} (${seconds} s)`,
      );
    }
    if (only.length === 0 && !toStdout) {
      for (const path of staleFiles(layout)) {
        rmSync(join(TRANSCRIPTS_DIR, path));
        say(`removed ${path}: no transcript makes it`);
      }
    }
    say(`${written} files written (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
