/**
 * `pnpm run doctor` on this machine (or the v2 guest of test/vm), as root and as a throwaway
 * ordinary user: each line it prints is checked against the same fact measured here another way
 * (`uname`, `stat -f`, /proc/self/ns, `command -v`, /etc/subuid read by hand), so that a doctor
 * that guessed would be caught on a machine where the guess is wrong.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REFERENCE } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DOCTOR = fileURLToPath(new URL('..', import.meta.url));
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

interface Report {
  status: number | null;
  lines: Map<string, { status: string; detail: string }>;
  last: string;
  stderr: string;
}

function runDoctor(options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}): Report {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts'], {
    cwd: DOCTOR,
    encoding: 'utf8',
    timeout: 60_000,
    ...options,
  });
  const all = result.stdout.trim().split('\n');
  const lines = new Map<string, { status: string; detail: string }>();
  for (const line of all.slice(0, -1)) {
    const match = /^(ok|missing|warn|info)\s+([^:]+): (.*)$/.exec(line);
    if (!match) throw new Error(`not a fact line: ${line}\n${result.stdout}${result.stderr}`);
    lines.set(match[2] as string, { status: match[1] as string, detail: match[3] as string });
  }
  return { status: result.status, lines, last: all.at(-1) ?? '', stderr: result.stderr };
}

const sh = (script: string, options: { uid?: number; gid?: number } = {}) =>
  spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', ...options });

/** The layout word from the filesystem types, not from mountinfo parsing. */
function measuredLayout(): string {
  const type = (path: string) => sh(`stat -f -c %T ${path} 2>/dev/null`).stdout.trim();
  if (type('/sys/fs/cgroup') === 'cgroup2fs') return 'v2';
  return type('/sys/fs/cgroup/unified') === 'cgroup2fs' ? 'hybrid' : 'v1';
}

const fact = (report: Report, name: string) => {
  const line = report.lines.get(name);
  if (!line) throw new Error(`the doctor printed no "${name}" line:\n${[...report.lines.keys()].join('\n')}`);
  return line;
};

describe('pnpm run doctor, as root, on this machine', REFERENCE, () => {
  let report: Report;
  beforeAll(() => {
    if (process.getuid?.() !== 0)
      throw new Error('these tests run as root (sudo pnpm test): the doctor probes as root');
    report = runDoctor();
  });

  it('prints one fact a line and ends with which steps can run; exits 1 exactly when one cannot', () => {
    expect(report.stderr).toBe('');
    expect(report.last).toMatch(/^steps: /);
    const blocked = [...report.lines.values()].some((line) => line.status === 'missing');
    expect(report.status).toBe(blocked ? 1 : 0);
    expect(report.last.includes('cannot:')).toBe(blocked);
  });

  it('gives the kernel release uname gives', () => {
    expect(fact(report, 'kernel').detail.split(' ')[0]).toBe(
      execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
    );
  });

  it('can make each namespace this kernel has (by /proc/self/ns)', () => {
    const files = { pid: 'pid', uts: 'uts', ipc: 'ipc', mount: 'mnt', cgroup: 'cgroup', network: 'net', user: 'user' };
    for (const [name, file] of Object.entries(files)) {
      expect(fact(report, `${name} namespace`).status, name).toBe(
        existsSync(`/proc/self/ns/${file}`) ? 'ok' : 'missing',
      );
    }
  });

  it('names the cgroup layout stat -f finds, and a writable cgroup, leaving no probe cgroup behind', () => {
    expect(fact(report, 'cgroup layout').detail.split(' ')[0]).toBe(measuredLayout());
    expect(fact(report, 'writable cgroup').status).toBe('ok');
    const left = sh("find /sys/fs/cgroup -maxdepth 6 -type d -name 'ctr-doctor-*' 2>/dev/null").stdout.trim();
    expect(left).toBe('');
  });

  it('finds each tool where command -v finds it', () => {
    for (const tool of ['unshare', 'ip', 'nft', 'nsenter', 'cc', 'slirp4netns', 'newuidmap', 'newgidmap']) {
      const there = sh(`command -v ${tool}`).status === 0;
      expect(fact(report, tool).status === 'ok', tool).toBe(there);
    }
  });

  it("loads libseccomp exactly when the dynamic linker's cache has it, and gives the version its file is named with", () => {
    // ldconfig -p lists the cache dlopen() searches; the file behind libseccomp.so.2 is named
    // after the full version (libseccomp.so.2.5.4), which seccomp_version() reports in the doctor.
    const path = sh("ldconfig -p | awk '/libseccomp\\.so\\.2 / { print $NF; exit }'").stdout.trim();
    const line = fact(report, 'libseccomp');
    expect(line.status).toBe(path ? 'ok' : 'missing');
    if (path) {
      const file = sh(`readlink -f ${path}`).stdout.trim();
      const version = /libseccomp\.so\.(\d+\.\d+\.\d+)$/.exec(file)?.[1];
      expect(version, `the file behind ${path}: ${file}`).toBeTruthy();
      expect(line.detail).toContain(`libseccomp.so.2 ${version} loads`);
    } else {
      expect(report.last).toMatch(/08 \(libseccomp\)/);
    }
  });

  it("reads root's /etc/subuid and /etc/subgid lines, and the default rootfs", () => {
    const has = (file: string) => existsSync(file) && /^root:\d+:\d+$/m.test(readFileSync(file, 'utf8'));
    expect(fact(report, '/etc/subuid').status === 'ok').toBe(has('/etc/subuid') && has('/etc/subgid'));
    let shell = false;
    try {
      lstatSync(join(REPO, 'rootfs/bin/sh'));
      shell = true;
    } catch {}
    expect(fact(report, 'rootfs').status).toBe(shell ? 'ok' : 'missing');
  });
});

describe('pnpm run doctor, as an ordinary user', REFERENCE, () => {
  // A user of our own, removed afterwards.
  const user = `ctr-dr-${process.pid % 100000}`;
  let uid = 0;
  let home = '';
  let report: Report;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'ctr-doctor-home-'));
    execFileSync('useradd', ['--home-dir', home, '--no-create-home', '--shell', '/bin/sh', user]);
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    execFileSync('chown', [`${uid}:${uid}`, home]);
    report = runDoctor({ uid, gid: uid, env: { PATH: process.env.PATH, HOME: home, USER: user } });
  });
  afterAll(() => {
    execFileSync('userdel', [user]);
    rmSync(home, { recursive: true, force: true });
    for (const entry of readdirSync(tmpdir()))
      if (entry === `tsx-${uid}`) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  });

  it('says steps 01-06 need root, and exits 1', () => {
    expect(fact(report, 'privilege').status).toBe('missing');
    expect(report.last).toMatch(/cannot: 01 \(privilege\), 02 \(privilege\).*06 \(privilege\)/);
    expect(report.status).toBe(1);
  });

  it('says a rootless step 07 can run exactly when the user can make a user namespace and mount in it', () => {
    const measured =
      sh('unshare --user --map-root-user --mount sh -c "mount -t tmpfs none /mnt"', { uid, gid: uid }).status === 0;
    expect(fact(report, 'rootless namespaces').status).toBe(measured ? 'ok' : 'missing');
    expect(report.last.includes('07 (')).toBe(!measured);
  });

  it('reports no cgroup delegation or one owned by the user, never a writable-cgroup probe', () => {
    expect(report.lines.has('writable cgroup')).toBe(false);
    const delegated = fact(report, 'cgroup delegation').detail;
    const dir = `/sys/fs/cgroup/user.slice/user-${uid}.slice/user@${uid}.service`;
    expect(delegated.includes(`${dir} belongs to uid ${uid}`)).toBe(existsSync(dir) && statSync(dir).uid === uid);
  });
});

describe('pnpm run doctor, as root inside one of our own containers (step 04)', REFERENCE, () => {
  it('says it is in a container, and that no cgroup can be made there (/sys/fs/cgroup is read-only)', () => {
    if (process.getuid?.() !== 0) throw new Error('this test runs as root (sudo pnpm test): it starts a container');
    // The container's root is a bind of the host's / (node and this checkout are there), made in a
    // mount namespace of the test's own, so it is gone with it; the directory is removed after.
    const inside = `cd ${DOCTOR} && node --import tsx src/cli.ts; echo "doctor exit $?"; mkdir /sys/fs/cgroup/*/doctor-probe /sys/fs/cgroup/doctor-probe 2>/dev/null; echo "mkdir exit $?"`;
    const script = [
      'root=$(mktemp -d /tmp/ctr-doctor-root.XXXXXX)',
      'mount --bind / "$root"',
      `cd ${join(REPO, 'steps/04-cgroups')}`,
      `node --import tsx src/main.ts start --rootfs "$root" -- /bin/sh -c '${inside}'`,
      'umount "$root"; rmdir "$root"',
    ].join('; ');
    const result = spawnSync('unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    const lines = result.stdout.trim().split('\n');
    const line = (name: string) =>
      lines.find((l) => l.includes(` ${name}: `)) ?? `(no ${name} line)\n${result.stdout}${result.stderr}`;
    // Measured inside the same container by the test's own mkdir: refused.
    expect(lines.at(-1)).not.toBe('mkdir exit 0');
    expect(line('inside a container')).toMatch(
      /^warn\s+inside a container: yes \(not the host's pid, uts, ipc, cgroup namespace/,
    );
    expect(line('writable cgroup')).toMatch(
      /^missing\s+writable cgroup: mkdir \S+: EROFS; fix: the cgroup filesystem is read-only/,
    );
    expect(lines).toContain('doctor exit 1');
    expect(lines.find((l) => l.startsWith('steps: '))).toMatch(/cannot: 04 \(writable cgroup\)/);
  });
});
