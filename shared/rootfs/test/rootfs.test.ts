import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultRootfsPath, ensureDefaultRootfs, isStaticElf, resolveRootfs, type Source } from '../src/index.js';

const quiet = (): void => {};

describe('resolveRootfs for --rootfs', () => {
  it('refuses a relative path and says how to make it absolute', async () => {
    await expect(resolveRootfs('my-rootfs', quiet)).rejects.toThrow(/relative: give an absolute path/);
  });

  it('refuses a path that does not exist, or is not a directory', async () => {
    await expect(resolveRootfs('/no/such/rootfs', quiet)).rejects.toThrow(/does not exist/);
    await expect(resolveRootfs('/etc/passwd', quiet)).rejects.toThrow(/not a directory/);
  });

  it('takes an existing directory as it is', async () => {
    await expect(resolveRootfs('/usr', quiet)).resolves.toBe('/usr');
  });
});

describe('the default rootfs', () => {
  let work: string;
  const saved = process.env.CTR_ROOTFS;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'ctr-rootfs-'));
    process.env.CTR_ROOTFS = join(work, 'rootfs');
  });
  afterEach(() => {
    rmSync(work, { recursive: true, force: true });
    if (saved === undefined) delete process.env.CTR_ROOTFS;
    else process.env.CTR_ROOTFS = saved;
  });

  const fake = (name: Source['name'], build: Source['build']): Source => ({ name, describe: name, build });
  const withShell = fake('host-busybox', async (dir) => {
    mkdirSync(join(dir, 'bin'));
    symlinkSync('/bin/busybox', join(dir, 'bin/sh')); // resolves only inside the rootfs
  });

  it('is made from the first source that works, world-readable, with no partial directory left', async () => {
    const broken = fake('alpine', async () => {
      throw new Error('cannot reach the mirror');
    });
    const path = await ensureDefaultRootfs(quiet, [broken, withShell]);
    expect(path).toBe(defaultRootfsPath());
    expect(statSync(path).mode & 0o777).toBe(0o755);
    expect(readdirSync(work)).toEqual(['rootfs']);
  });

  it('is reused once it exists, never rebuilt', async () => {
    await ensureDefaultRootfs(quiet, [withShell]);
    writeFileSync(join(defaultRootfsPath(), 'marker'), '');
    const never = fake('alpine', async () => {
      throw new Error('must not be called');
    });
    await ensureDefaultRootfs(quiet, [never]);
    expect(existsSync(join(defaultRootfsPath(), 'marker'))).toBe(true);
  });

  it('lists why each source failed when none works', async () => {
    const a = fake('alpine', async () => {
      throw new Error('offline');
    });
    const b = fake('debian-busybox', async () => {
      throw new Error('no apt-get');
    });
    await expect(ensureDefaultRootfs(quiet, [a, b])).rejects.toThrow(/alpine: offline; debian-busybox: no apt-get/);
    expect(readdirSync(work)).toEqual([]);
  });

  it('survives two first runs at once: one rootfs, no leftovers', async () => {
    const slow = fake('host-busybox', async (dir) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await withShell.build(dir, quiet);
    });
    const [a, b] = await Promise.all([ensureDefaultRootfs(quiet, [slow]), ensureDefaultRootfs(quiet, [slow])]);
    expect(a).toBe(b);
    expect(readdirSync(work)).toEqual(['rootfs']);
  });

  it('refuses a rootfs without /bin/sh instead of rebuilding it silently', async () => {
    mkdirSync(defaultRootfsPath());
    await expect(ensureDefaultRootfs(quiet, [withShell])).rejects.toThrow(/has no \/bin\/sh: remove it/);
  });
});

describe('isStaticElf', () => {
  it('tells a static busybox from a dynamically linked program', () => {
    expect(isStaticElf(process.execPath)).toBe(false);
    expect(isStaticElf('/etc/passwd')).toBe(false);
  });

  it("finds the default rootfs's busybox static when it came from busybox, dynamic (musl) when from Alpine", () => {
    const rootfs = defaultRootfsPath();
    const busybox = join(rootfs, 'bin/busybox');
    if (!existsSync(busybox)) throw new Error(`expected ${busybox}: the global setup makes the default rootfs`);
    const madeFromBusybox = readFileSync(join(rootfs, 'etc/os-release'), 'utf8').includes('ID=busybox');
    expect(isStaticElf(busybox)).toBe(madeFromBusybox);
  });
});
