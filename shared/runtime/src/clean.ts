/**
 * `pnpm clean`: what a runtime could not remove because it was killed (SIGKILL leaves no chance
 * to clean up): per-container state under /run/ctr/containers whose runtime is gone, with any
 * mount left there (step 07's idmapped rootfs), and container cgroups with no process left
 * (step 04). Network leases and the bridge have their own command, `pnpm net clean`, which
 * `pnpm clean` runs first. Run it when no container is starting.
 */
import { readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MNT_DETACH, umount2 } from '@ctr/syscalls';
import { isAlive, readFileOr } from './host-tools.js';
import { containerStateDir } from './state.js';

const CONTAINERS = containerStateDir('');
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const mountPoints = (): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter(Boolean);

function cleanContainerState(): void {
  let ids: string[];
  try {
    ids = readdirSync(CONTAINERS);
  } catch {
    return;
  }
  for (const id of ids) {
    const dir = join(CONTAINERS, id);
    const owner = Number(readFileOr(join(dir, 'owner'), '0'));
    if (owner > 0 && isAlive(owner)) continue;
    for (const point of mountPoints()
      .filter((p) => p.startsWith(`${dir}/`))
      .reverse()) {
      umount2(point, MNT_DETACH);
      say(`unmounted ${point}`);
    }
    rmSync(dir, { recursive: true, force: true });
    say(`removed ${dir}`);
  }
}

/** Directories named ctr/<12 hex digits> in the cgroup mounts whose cgroup.procs is empty. */
function cleanCgroups(): void {
  const roots = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => / - cgroup2? /.test(line))
    .map((line) => line.split(' ')[4] as string);
  for (const root of roots) walk(root, 0);
}

function walk(dir: string, depth: number): void {
  if (depth > 8) return;
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((name) => statSync(join(dir, name)).isDirectory());
  } catch {
    return;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (dir.endsWith('/ctr') && /^[0-9a-f]{12}$/.test(name)) {
      if (readFileOr(join(path, 'cgroup.procs'), 'x').trim() === '') {
        try {
          rmdirSync(path);
          say(`removed the empty cgroup ${path}`);
        } catch {}
      }
    } else {
      walk(path, depth + 1);
    }
  }
}

if (process.getuid?.() !== 0) {
  process.stderr.write('clean: run as root (sudo pnpm clean)\n');
  process.exit(125);
}
cleanContainerState();
cleanCgroups();
