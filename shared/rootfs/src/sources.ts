/**
 * Where a rootfs can come from, best first. The same recipes exist as plain shell scripts in
 * rootfs-scripts/ for students who want to run them by hand.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxRootfs } from './busybox.js';
import { isStaticElf } from './elf.js';

export type Log = (line: string) => void;

export interface Source {
  readonly name: 'alpine' | 'debian-busybox' | 'host-busybox';
  readonly describe: string;
  /** Fills `dir` (empty, exists) or throws an Error whose message says why this source can't. */
  build(dir: string, log: Log): Promise<void>;
}

/** Alpine's minirootfs, checksums from Alpine's own .sha256 files for this release. */
const ALPINE = {
  version: '3.20.3',
  x64: { arch: 'x86_64', sha256: 'd4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c' },
  arm64: { arch: 'aarch64', sha256: '041fa34a81788242df9e78fa69b97ab45b8ec47ddbf88864755610414a7bf3de' },
} as const;

export const alpine: Source = {
  name: 'alpine',
  describe: `Alpine Linux ${ALPINE.version} minirootfs, downloaded and checked against a pinned sha256`,
  async build(dir, log) {
    const target = ALPINE[process.arch as 'x64' | 'arm64'];
    if (!target) throw new Error(`no pinned Alpine minirootfs for ${process.arch}`);
    const minor = ALPINE.version.split('.').slice(0, 2).join('.');
    const file = `alpine-minirootfs-${ALPINE.version}-${target.arch}.tar.gz`;
    const url = `https://dl-cdn.alpinelinux.org/alpine/v${minor}/releases/${target.arch}/${file}`;
    const work = mkdtempSync(join(tmpdir(), 'ctr-alpine-'));
    try {
      const tarball = join(work, file);
      await download(url, tarball, target.sha256, log);
      const { x } = await import('tar');
      await x({ file: tarball, cwd: dir, preserveOwner: true });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};

async function download(url: string, to: string, sha256: string, log: Log): Promise<void> {
  // A host with no route answers at once; one that drops packets would hang: give up after 10 s.
  const connecting = AbortSignal.timeout(10_000);
  let response: Response;
  try {
    response = await fetch(url, { signal: connecting });
  } catch (error) {
    const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new Error(`cannot reach ${new URL(url).host} (${reason})`);
  }
  if (!response.ok || !response.body) throw new Error(`${url} answered HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length') ?? 0);
  const hash = createHash('sha256');
  const out = createWriteStream(to);
  let received = 0;
  let shown = -1;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    received += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    const percent = total ? Math.floor((received / total) * 100) : 0;
    if (total && percent >= shown + 10) {
      shown = percent - (percent % 10);
      log(`downloading ${url.split('/').pop()}: ${shown}% of ${(total / 1e6).toFixed(1)} MB`);
    }
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  const actual = hash.digest('hex');
  if (actual !== sha256) throw new Error(`checksum mismatch for ${url}: expected ${sha256}, got ${actual}`);
}

export const debianBusybox: Source = {
  name: 'debian-busybox',
  describe: "a static busybox from Debian's busybox-static package (apt-get download; nothing is installed)",
  async build(dir, log) {
    if (!commandExists('apt-get') || !commandExists('dpkg-deb')) throw new Error('apt-get and dpkg-deb are not here (not a Debian-family host)');
    const work = mkdtempSync(join(tmpdir(), 'ctr-busybox-'));
    try {
      let fetched = spawnSync('apt-get', ['download', 'busybox-static'], { cwd: work, encoding: 'utf8' });
      if (fetched.status !== 0 && /Unable to locate|has no installation candidate/.test(fetched.stderr)) {
        log("apt's package lists do not know busybox-static yet: running apt-get update");
        spawnSync('apt-get', ['update'], { encoding: 'utf8' });
        fetched = spawnSync('apt-get', ['download', 'busybox-static'], { cwd: work, encoding: 'utf8' });
      }
      const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
      if (fetched.status !== 0 || !deb) {
        throw new Error(`apt-get download busybox-static failed: ${lastLine(fetched.stderr)}`);
      }
      execFileSync('dpkg-deb', ['-x', join(work, deb), join(work, 'pkg')]);
      buildBusyboxRootfs(join(work, 'pkg/bin/busybox'), dir);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};

const HOST_BUSYBOX = ['/bin/busybox', '/usr/bin/busybox', '/sbin/busybox', '/usr/sbin/busybox'];

export const hostBusybox: Source = {
  name: 'host-busybox',
  describe: "the host's own busybox, when it is a static binary",
  async build(dir) {
    const found = HOST_BUSYBOX.find((path) => existsSync(path));
    if (!found) throw new Error('no busybox on this host');
    if (!isStaticElf(found)) throw new Error(`${found} is dynamically linked and would not run alone in a rootfs`);
    buildBusyboxRootfs(found, dir);
  },
};

export const SOURCES: readonly Source[] = [alpine, debianBusybox, hostBusybox];

function commandExists(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => !l.startsWith('W:')).pop() ?? 'no output';
}
