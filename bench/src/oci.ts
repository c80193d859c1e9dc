/** runc and crun beside our runtime: installed if missing, one OCI bundle of the same rootfs, crun made to run here. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureLine, log, ok, REPO, run } from './common.js';
import type { MeasureSpec } from './latency.js';

/** crun 1.8 refuses a hybrid cgroup host whose cgroup2 mount has any controller: run it where that mount is gone. */
const HIDE_CGROUP2 = [
  'unshare',
  '--mount',
  '--propagation',
  'private',
  'sh',
  '-c',
  'umount -l /sys/fs/cgroup/unified && exec "$@"',
  'sh',
];

export interface OciRuntime {
  name: 'runc' | 'crun';
  version: string | null;
  skipped: string | null;
  /** Prefix that makes it run on this host (crun on a hybrid cgroup host), or []. */
  wrapper: string[];
}

export interface OciRuntimes {
  tools: OciRuntime[];
  /** The bundle directory; null when none could be made, and then every tool is skipped. */
  bundle: string | null;
  /** The namespaces the bundle's spec asks for. */
  namespaces: string[];
  notes: string[];
}

export function prepareOciRuntimes(rootfs: string): OciRuntimes {
  const tools = ensureOciRuntimes();
  const bundle = ociBundle(rootfs, tools);
  if ('error' in bundle) {
    for (const tool of tools) tool.skipped ??= `no OCI bundle: ${bundle.error}`;
    return { tools, bundle: null, namespaces: [], notes: [] };
  }
  const notes: string[] = [];
  const crun = tools.find((tool) => tool.name === 'crun' && !tool.skipped);
  const crunNote = crun ? prepareCrun(crun, bundle.dir) : null;
  if (crunNote) notes.push(crunNote);
  if (bundle.namespaces.length > 0) {
    notes.push(
      `runc and crun run runc's default spec (\`runc spec --rootless=false\`): namespaces ${bundle.namespaces.join(', ')} (so a network namespace with only lo, comparable with --net none), readonly rootfs, /bin/true, no terminal; each run has its own container id and is deleted (untimed) afterwards.`,
    );
  }
  return { tools, bundle: bundle.dir, namespaces: bundle.namespaces, notes };
}

/** The latency rows of runc and crun (and of crun's wrapper, when it needs one). */
export function ociLatencySpecs({ tools, bundle }: OciRuntimes): MeasureSpec[] {
  const specs: MeasureSpec[] = [];
  for (const tool of tools) {
    if (tool.skipped || bundle === null) {
      specs.push({
        group: 'reference',
        entry: tool.name,
        command: [],
        shown: `${tool.name} run`,
        cwd: REPO,
        skipped: `skipped: ${tool.skipped}`,
      });
      continue;
    }
    specs.push(ociSpec(tool, bundle));
    if (tool.wrapper.length > 0) {
      specs.push({
        group: 'reference',
        entry: `${tool.name}'s wrapper alone`,
        command: [...tool.wrapper, '/bin/true'],
        shown: `${tool.wrapper.slice(0, 6).join(' ')} 'umount -l /sys/fs/cgroup/unified && exec …'`,
        cwd: REPO,
      });
    }
  }
  return specs;
}

/** The command that runs `bundle` as container `id`, in the tool's wrapper if it has one. */
export function ociRun(tool: OciRuntime, bundle: string, id: string): string[] {
  return [...tool.wrapper, tool.name, 'run', '--bundle', bundle, id];
}

/** Untimed: whatever state the run left the container in. */
export function ociDelete(tool: OciRuntime, bundle: string, id: string): void {
  run([...tool.wrapper, tool.name, 'delete', '--force', id], bundle);
}

/** `1.1.5+ds1` of `runc version 1.1.5+ds1`. */
export function versionNumber(tool: OciRuntime): string | undefined {
  return tool.version?.replace(/^\S+ version /, '');
}

/** A copy of `bundle` in a directory of its own whose process is `sleep 5` (the rootfs path in it is absolute). */
export function makeSleepBundle(bundle: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-bench-oci-sleep-'));
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.args = ['sleep', '5'];
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

export function removeBundle(dir: string | null): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

function versionOf(tool: string): string | null {
  const result = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return ok(result) ? (result.stdout.split('\n')[0] ?? '').trim() : null;
}

function ensureOciRuntimes(): OciRuntime[] {
  const tools: OciRuntime[] = (['runc', 'crun'] as const).map((name) => ({
    name,
    version: versionOf(name),
    skipped: null,
    wrapper: [],
  }));
  const missing = tools.filter((tool) => tool.version === null);
  if (missing.length > 0) {
    log(`installing ${missing.map((t) => t.name).join(' and ')} with apt-get`);
    const install = spawnSync('apt-get', ['install', '-y', ...missing.map((t) => t.name)], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    for (const tool of missing) {
      tool.version = versionOf(tool.name);
      if (tool.version === null)
        tool.skipped = `not installed and "apt-get install -y ${tool.name}" failed: ${failureLine(install)}`;
    }
  }
  return tools;
}

/** An OCI bundle of the rootfs: runc's default spec (pid, network, ipc, uts, mount namespaces), running /bin/true. */
function ociBundle(rootfs: string, tools: OciRuntime[]): { dir: string; namespaces: string[] } | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-bench-oci-'));
  const maker = tools.find((t) => !t.skipped);
  if (!maker) return { error: 'neither runc nor crun is available' };
  const made = spawnSync(maker.name, ['spec', ...(maker.name === 'runc' ? ['--rootless=false'] : [])], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (!ok(made)) return { error: `${maker.name} spec: ${failureLine(made)}` };
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.root = { path: rootfs, readonly: true };
  config.process.args = ['/bin/true'];
  config.process.terminal = false;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const namespaces = (config.linux?.namespaces ?? []).map((ns: { type: string }) => ns.type);
  return { dir, namespaces };
}

function ociSpec(tool: OciRuntime, bundle: string): MeasureSpec {
  const id = (i: number) => `ctr-bench-${process.pid}-${tool.name}-${i + 1}`;
  const command = (i: number) => ociRun(tool, bundle, id(i));
  return {
    group: 'reference',
    entry: `${tool.version ? `${tool.name} ${versionNumber(tool)}` : tool.name}${tool.wrapper.length ? ' (in the wrapper below)' : ''}`,
    command: command(0),
    shown: `${tool.name} run --bundle <bundle> <id>`,
    cwd: bundle,
    commandFor: command,
    after: (i) => ociDelete(tool, bundle, id(i)),
  };
}

function cgroup2Controllers(): string {
  try {
    return readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim();
  } catch {
    return '';
  }
}

/** crun 1.8 on a hybrid host with a controller in cgroup2: retried in a mount namespace without that mount. */
function prepareCrun(tool: OciRuntime, bundle: string): string | null {
  const id = `ctr-bench-${process.pid}-crun-probe`;
  const attempt = () => {
    const result = run(ociRun(tool, bundle, id), bundle);
    ociDelete(tool, bundle, id);
    return result;
  };
  const direct = attempt();
  if (ok(direct)) return null;
  const reason = failureLine(direct);
  if (!/hybrid/.test(reason)) return null; // its latency row reports the failure as it is
  tool.wrapper = HIDE_CGROUP2;
  if (!ok(attempt())) tool.wrapper = [];
  return `crun refuses this host as it is ("${reason.replace(/ \(exit \d+\)$/, '')}": cgroup v1 hierarchies plus a cgroup2 mount with controllers: ${cgroup2Controllers() || 'none listed'}); it runs in a private mount namespace where \`/sys/fs/cgroup/unified\` is unmounted, so it uses cgroup v1 like runc. The wrapper's own cost is the "crun's wrapper alone" row.`;
}
