import { REFERENCE } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import {
  containerFact,
  type Fact,
  isInitialNamespace,
  kernelFact,
  libseccompFact,
  overlayFact,
  renderFact,
  rootMount,
  TOOLS,
  toolFact,
  userNamespaceSysctls,
  verdict,
  wslFact,
} from '../src/facts.js';

const files =
  (contents: Record<string, string>) =>
  (path: string): string | null =>
    contents[path] ?? null;

describe('kernelFact', REFERENCE, () => {
  it('accepts 5.12 and later, and refuses older kernels for steps 03 on, with a fix', () => {
    expect(kernelFact('6.1.0-18-amd64').status).toBe('ok');
    expect(kernelFact('5.12.0').status).toBe('ok');
    const old = kernelFact('5.4.0-150-generic');
    expect(old.status).toBe('missing');
    expect(old.blocks).toEqual(['03', '04', '05', '06', '07', '08', '09']);
    expect(old.fix).toBeTruthy();
  });
});

describe('userNamespaceSysctls', REFERENCE, () => {
  const UBUNTU_24 = {
    '/proc/sys/kernel/unprivileged_userns_clone': '1\n',
    '/proc/sys/user/max_user_namespaces': '63324\n',
    '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1\n',
  };

  it("names Ubuntu's AppArmor restriction and its sysctl fix, blocking a rootless step 07 and step 08 on it", () => {
    const apparmor = userNamespaceSysctls(files(UBUNTU_24), true).find((f) => f.name.includes('apparmor')) as Fact;
    expect(apparmor.status).toBe('missing');
    expect(apparmor.fix).toContain('sysctl -w kernel.apparmor_restrict_unprivileged_userns=0');
    expect(apparmor.blocks).toEqual(['07', '08', '09']);
  });

  it('as root the same restriction blocks nothing: root makes user namespaces anyway', () => {
    const apparmor = userNamespaceSysctls(files(UBUNTU_24), false).find((f) => f.name.includes('apparmor'));
    expect(apparmor?.status).toBe('warn');
    expect(apparmor?.blocks).toEqual([]);
  });

  it('says a switch this kernel does not have is absent, not off (Fedora: no Debian patch, no AppArmor)', () => {
    const facts = userNamespaceSysctls(files({ '/proc/sys/user/max_user_namespaces': '15000\n' }), true);
    expect(facts.map((f) => f.status)).toEqual(['info', 'ok', 'info']);
  });

  it('max_user_namespaces 0 stops step 07 even as root', () => {
    const max = userNamespaceSysctls(files({ '/proc/sys/user/max_user_namespaces': '0' }), false)[1];
    expect(max?.status).toBe('missing');
    expect(max?.fix).toContain('user.max_user_namespaces');
  });

  it('unprivileged_userns_clone 0 blocks a rootless step 07', () => {
    const clone = userNamespaceSysctls(
      files({ '/proc/sys/kernel/unprivileged_userns_clone': '0', '/proc/sys/user/max_user_namespaces': '1' }),
      true,
    )[0];
    expect(clone?.status).toBe('missing');
    expect(clone?.fix).toBe('sudo sysctl -w kernel.unprivileged_userns_clone=1');
  });
});

describe('containerFact', REFERENCE, () => {
  const none = { containerenv: false, pid1Container: null, dockerenv: false, notInitial: [] };
  it('sees our own container: its / is a bind of the rootfs directory', () => {
    const mountinfo = '85 44 254:0 /work/main/rootfs / rw,relatime - ext4 /dev/vda rw\n';
    const fact = containerFact({ ...none, rootMount: rootMount(mountinfo) });
    expect(fact.status).toBe('warn');
    expect(fact.detail).toContain('/ is a bind of /work/main/rootfs');
  });

  it("sees docker's through its namespaces, and does not take an overlay root alone for one (a live system, test/vm)", () => {
    const mountinfo = '600 540 0:52 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/a,upperdir=/b\n';
    const docker = containerFact({ ...none, notInitial: ['pid'], rootMount: rootMount(mountinfo) });
    expect(docker.detail).toContain("not the host's pid namespace, / is an overlay filesystem");
    expect(containerFact({ ...none, rootMount: rootMount(mountinfo) }).status).toBe('ok');
  });

  it('does not call a VM booted from a docker-built image a container for its /.dockerenv alone', () => {
    const mountinfo = '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n';
    const fact = containerFact({ ...none, dockerenv: true, rootMount: rootMount(mountinfo) });
    expect(fact.status).toBe('ok');
    expect(fact.detail).toMatch(/^no \(in the host's namespaces; \/ is ext4 on \/dev\/vda; \/\.dockerenv is there/);
  });

  it("sees a container whose / is a bind of the host's own: its PID namespace is not the initial one", () => {
    const mountinfo = '85 44 254:0 / / rw,relatime - ext4 /dev/vda rw\n';
    const fact = containerFact({ ...none, notInitial: ['pid', 'uts'], rootMount: rootMount(mountinfo) });
    expect(fact.detail).toContain("not the host's pid, uts namespace");
    expect(isInitialNamespace('pid:[4026531836]')).toBe(true);
    expect(isInitialNamespace('pid:[4026532301]')).toBe(false);
    expect(isInitialNamespace('cgroup:[4026531835]')).toBe(true);
  });

  it("believes PID 1's container= variable", () => {
    expect(containerFact({ ...none, pid1Container: 'podman', rootMount: null }).detail).toContain('container=podman');
  });
});

describe('the other facts and the verdict', REFERENCE, () => {
  it('WSL2 shows in the kernel release', () => {
    expect(wslFact('5.15.153.1-microsoft-standard-WSL2\n').detail).toMatch(/^yes/);
    expect(wslFact('6.1.0-18-amd64\n').detail).toBe('no');
  });

  it('a missing tool a step needs blocks that step, an optional one only warns, each with its package', () => {
    const nft = TOOLS.find((t) => t.tool === 'nft');
    const slirp = TOOLS.find((t) => t.tool === 'slirp4netns');
    if (!nft || !slirp) throw new Error('TOOLS lost nft or slirp4netns');
    expect(toolFact(nft, false)).toMatchObject({ status: 'missing', blocks: ['05', '06', '07', '08', '09'] });
    expect(toolFact(nft, false).fix).toContain('apt-get install nftables');
    expect(toolFact(slirp, false)).toMatchObject({ status: 'warn', blocks: [] });
  });

  it("the C compiler blocks steps 07 and 08 (08 starts its init through 07's helper)", () => {
    const cc = TOOLS.find((t) => t.tool === 'cc');
    if (!cc) throw new Error('TOOLS lost cc');
    expect(toolFact(cc, false)).toMatchObject({ status: 'missing', blocks: ['07', '08', '09'] });
  });

  it('libseccomp that does not load blocks step 08 only, with the package that brings it', () => {
    expect(libseccompFact({ version: '2.5.4' })).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('2.5.4'),
    });
    const missing = libseccompFact({
      error: 'Failed to load shared library: libseccomp.so.2: cannot open shared object file',
    });
    expect(missing).toMatchObject({ status: 'missing', blocks: ['08', '09'] });
    expect(missing.fix).toContain('apt-get install libseccomp2');
    expect(verdict([missing]).line).toBe(
      'steps: 01 02 03 04 05 06 07 can run here; cannot: 08 (libseccomp), 09 (libseccomp)',
    );
  });

  it('renders one line per fact, and names the first blocker of each step that cannot run', () => {
    const facts: Fact[] = [
      { status: 'ok', name: 'kernel', detail: '6.1' },
      { status: 'missing', name: 'nft', detail: 'not on PATH', fix: 'apt-get install nftables', blocks: ['05', '06'] },
      { status: 'missing', name: 'cc', detail: 'not on PATH', blocks: ['07', '08', '09'] },
    ];
    expect(renderFact(facts[1] as Fact)).toBe('missing nft: not on PATH; fix: apt-get install nftables');
    expect(verdict(facts)).toEqual({
      line: 'steps: 01 02 03 04 can run here; cannot: 05 (nft), 06 (nft), 07 (cc), 08 (cc), 09 (cc)',
      allCanRun: false,
    });
    expect(verdict(facts.slice(0, 1))).toEqual({
      line: 'steps: 01 02 03 04 05 06 07 08 09 can run here',
      allCanRun: true,
    });
  });
});

describe('overlayFact', REFERENCE, () => {
  const FILESYSTEMS = 'nodev\tsysfs\nnodev\ttmpfs\n\text4\nnodev\toverlay\n';

  it('finds overlay in /proc/filesystems', () => {
    expect(overlayFact(FILESYSTEMS, false).status).toBe('ok');
  });

  it('is content with an installed module the first mount loads, and blocks step 09 without either', () => {
    const without = FILESYSTEMS.replace('nodev\toverlay\n', '');
    expect(overlayFact(without, true).status).toBe('ok');
    const missing = overlayFact(without, false);
    expect(missing).toMatchObject({ status: 'missing', blocks: ['09'] });
    expect(missing.fix).toContain('modprobe overlay');
  });

  it('does not take another filesystem whose name ends in overlay for it', () => {
    expect(overlayFact('nodev\tfuse.fuse-overlayfs\nnodev\tnotoverlay\n', false).status).toBe('missing');
  });
});
