/**
 * Start-up speed, and nothing else: a student never needs to read this file. The runtime works
 * the same without it, only slower (docs/benchmarks.md, "Where the time goes").
 *
 *  1. The init is started early, by the entry point, before the CLI is loaded and the flags are
 *     parsed (startInitEarly): its Node.js start-up overlaps the host's. `start` takes it over.
 *  2. The init runs a bundle, not TypeScript (initProgram). Compiled JavaScript runs as it is.
 *     TypeScript run through tsx (`node --import tsx`, the student's path) is first bundled into
 *     one plain JavaScript file with esbuild, and the init runs that: tsx in the init would add a
 *     loader thread (pids.max counts threads), tens of megabytes (counted by --memory once the
 *     init is born in the cgroup, step 07), a second of start-up on a cold cache, and an esbuild
 *     process inside the container. The bundle is rebuilt only when one of its source files
 *     changed (sizes and times are compared), so an edited step takes effect on the next start.
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Step } from './feature.js';

// #region early-init
/**
 * The init's start-up, a second Node.js, is the longest wait of a start. It begins here, while
 * the entry point loads its CLI and parses the flags (~10 ms); `start` takes the init over, and
 * whatever does not start a container (--help, a usage error) stops it.
 *
 * Only a guess, good for the common case: `start` that will not stop at --help, run by root (or a
 * step that runs rootless). A wrong guess costs a little time, never correctness: an init started
 * for nothing is stopped, and `start` spawns one itself when none was started here (and reports
 * why, if it cannot).
 */
export async function startInitEarly(step: Step, argv: readonly string[]): Promise<ChildProcess | null> {
  const asksForHelp = argv.includes('-h') || argv.includes('--help');
  // `start`, or a step's command that runs a container (step 10's monitor, whose command writes to pipes).
  const stdio =
    argv[2] === 'start' ? 'inherit' : step.commands.find((c) => c.usage.split(' ')[0] === argv[2])?.startsInit;
  if (!stdio || asksForHelp || (process.getuid?.() !== 0 && !step.rootless)) return null;
  try {
    const { spawnInit } = await import('./spawn.js');
    const init = await spawnInit(step, argv[1] as string, stdio);
    if (init.pid !== undefined) return init;
    init.once('error', () => {}); // spawn() failed; the error event would otherwise crash us
  } catch {}
  return null;
}
// #endregion early-init

/** In the checkout; for a rootless user who may not write there (step 07), in ~/.cache. */
const CACHES = [
  fileURLToPath(new URL('../../../node_modules/.cache/ctr-init/', import.meta.url)),
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ctr-init'),
];

interface Manifest {
  /** The entry it was built from: two checkouts (an exercise and its reference) share a name. */
  entry: string;
  inputs: Record<string, { size: number; mtimeMs: number }>;
}

export async function initProgram(entry: string): Promise<string[]> {
  const underTsx = process.execArgv.some((arg) => /tsx/.test(arg));
  if (!underTsx) return [process.execPath, '--v8-pool-size=0', entry];
  return [process.execPath, '--v8-pool-size=0', await bundleOf(entry)];
}

/**
 * The bundle of the TypeScript program `entry` (<its directory's name>.cjs in the cache): the one
 * there if none of its sources changed since, else built now. Also what `pnpm exercises:verify`
 * runs as the CLI of each exercise it proves (a start of it skips tsx's).
 */
export async function bundleOf(entry: string): Promise<string> {
  const name = `${basename(dirname(dirname(entry)))}.cjs`;
  const fresh = CACHES.map((dir) => join(dir, name)).find((bundle) => isFresh(`${bundle}.json`, entry));
  if (fresh) return fresh;
  const bundle = join(writableCache(), name);
  await build(entry, bundle);
  return bundle;
}

function writableCache(): string {
  for (const dir of CACHES) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
      return dir;
    } catch {}
  }
  throw new Error(`no writable cache for the init bundle: tried ${CACHES.join(', ')}`);
}

function isFresh(manifestPath: string, entry: string): boolean {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (manifest.entry !== entry) return false;
    return Object.entries(manifest.inputs).every(([path, seen]) => {
      const now = statSync(path);
      return now.size === seen.size && now.mtimeMs === seen.mtimeMs;
    });
  } catch {
    return false;
  }
}

async function build(entry: string, bundle: string): Promise<void> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    // CommonJS: Node loads it synchronously, without the ES module loader (~6 ms less per start,
    // and no thread-pool threads, which the init's pids.max would count).
    format: 'cjs',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        // koffi loads a native .node file from its own package; tar (building a rootfs), esbuild
        // (building this bundle) and cli-progress (step 09's pull on a terminal) are needed only
        // now and then. They stay outside the bundle, required from their absolute paths: neither
        // process compiles what it does not use. (commander stays in: the host always needs it, and a file of its own costs the host
        // more, ~8 ms, than it would save the init, ~2 ms.)
        name: 'external-at-path',
        setup: (b) =>
          b.onResolve({ filter: /^(koffi|tar|esbuild|cli-progress)$/ }, async (args) => {
            if (args.pluginData === 'external-at-path') return undefined;
            // As require() sees it: koffi's ES module entry would bring the ES module loader back.
            const { path, errors } = await b.resolve(args.path, {
              kind: 'require-call',
              resolveDir: args.resolveDir,
              pluginData: 'external-at-path',
            });
            return errors.length > 0 ? { errors } : { path, external: true };
          }),
      },
      {
        // In one bundle every module would share the bundle's import.meta.url; each keeps its own
        // source file's, so paths next to the sources (native/nsexec.c, the rootfs) still resolve.
        name: 'import-meta-url',
        setup: (b) =>
          b.onLoad({ filter: /\.ts$/ }, (args) => ({
            contents: readFileSync(args.path, 'utf8').replace(
              /\bimport\.meta\.url\b/g,
              JSON.stringify(pathToFileURL(args.path).href),
            ),
            loader: 'ts',
          })),
      },
    ],
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild produced nothing for ${entry}`);
  const inputs: Manifest['inputs'] = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const path = join(process.cwd(), input);
    const { size, mtimeMs } = statSync(path);
    inputs[path] = { size, mtimeMs };
  }
  // Written under a temporary name and renamed: a parallel start sees the old bundle or the new.
  writeFileSync(`${bundle}.${process.pid}`, output.contents);
  renameSync(`${bundle}.${process.pid}`, bundle);
  writeFileSync(`${bundle}.json.${process.pid}`, JSON.stringify({ entry, inputs } satisfies Manifest));
  renameSync(`${bundle}.json.${process.pid}`, `${bundle}.json`);
}
