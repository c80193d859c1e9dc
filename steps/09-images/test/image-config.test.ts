/**
 * The image's config applied as docker does (Env, User), on layers made on the spot; and the
 * User lookup, which reads the image's files as root on the host, kept inside the image.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PATH } from '@ctr/runtime';
import { lsetxattr } from '@ctr/syscalls';
import { REFERENCE } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeEnv, resolveUser } from '../src/image.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ctr-image-config-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function layer(name: string, files: Record<string, string>): string {
  const dir = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe("the image's Env", REFERENCE, () => {
  it("replaces the runtime's defaults, and -e replaces both", () => {
    const env = [`PATH=${DEFAULT_PATH}`, 'HOME=/root', 'GREETING=from -e'];
    expect(mergeEnv(env, ['PATH=/opt/bin:/bin', 'GREETING=from image', 'LANG=C.UTF-8'])).toEqual([
      'PATH=/opt/bin:/bin',
      'HOME=/root',
      'GREETING=from -e',
      'LANG=C.UTF-8',
    ]);
  });
});

describe("the image's User", REFERENCE, () => {
  it('is looked up in the topmost layer that has /etc/passwd and /etc/group', () => {
    const lower = layer('lower', { 'etc/passwd': 'app:x:1:1::/:/bin/sh\n' });
    const upper = layer('upper', {
      'etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1234:4321::/app:/bin/sh\n',
      'etc/group': 'staff:x:50:\n',
    });
    expect(resolveUser('app', [lower, upper])).toEqual({ uid: 1234, gid: 4321 });
    expect(resolveUser('app:staff', [lower, upper])).toEqual({ uid: 1234, gid: 50 });
    expect(resolveUser('77', [lower, upper])).toEqual({ uid: 77, gid: null });
  });

  it('sees /etc/passwd as the overlay will: hidden by a whiteout, an opaque /etc, an opaque layer root', () => {
    const base = layer('hidden-base', { 'etc/passwd': 'app:x:1234:4321::/app:/bin/sh\n' });
    // The probe: with nothing above, the base's entry is found.
    expect(resolveUser('app', [base])).toEqual({ uid: 1234, gid: 4321 });
    const whiteout = layer('hidden-whiteout', {});
    mkdirSync(join(whiteout, 'etc'));
    execFileSync('mknod', [join(whiteout, 'etc', 'passwd'), 'c', '0', '0']);
    expect(() => resolveUser('app', [base, whiteout])).toThrow(/no "app" in its \/etc\/passwd/);
    const opaqueEtc = layer('hidden-opaque-etc', { 'etc/hostname': 'x\n' });
    lsetxattr(join(opaqueEtc, 'etc'), 'trusted.overlay.opaque', 'y');
    expect(() => resolveUser('app', [base, opaqueEtc])).toThrow(/no "app"/);
    const opaqueRoot = layer('hidden-opaque-root', { 'bin/sh': '' });
    lsetxattr(opaqueRoot, 'trusted.overlay.opaque', 'y');
    expect(() => resolveUser('app', [base, opaqueRoot])).toThrow(/no "app"/);
  });

  it("never reads the host's files through the image's symlinks", () => {
    const hostFile = join(work, 'host-passwd');
    writeFileSync(hostFile, 'hostonly:x:4242:4343::/:/bin/sh\n');
    const absolute = layer('abs', {});
    mkdirSync(join(absolute, 'etc'));
    symlinkSync(hostFile, join(absolute, 'etc', 'passwd'));
    // The probe: followed naively, the link gives the host's entry.
    expect(readFileSync(join(absolute, 'etc', 'passwd'), 'utf8')).toContain('hostonly');
    expect(() => resolveUser('hostonly', [absolute])).toThrow(/no "hostonly" in its \/etc\/passwd/);
    const viaDir = layer('via-dir', {});
    mkdirSync(join(work, 'host-etc'));
    writeFileSync(join(work, 'host-etc', 'passwd'), 'hostonly:x:4242:4343::/:/bin/sh\n');
    symlinkSync(join(work, 'host-etc'), join(viaDir, 'etc'));
    expect(readFileSync(join(viaDir, 'etc', 'passwd'), 'utf8')).toContain('hostonly');
    expect(() => resolveUser('hostonly', [viaDir])).toThrow(/no "hostonly"/);
  });

  it('reads no device or FIFO (a /dev/zero would never end)', () => {
    const dir = layer('dev', {});
    mkdirSync(join(dir, 'etc'));
    symlinkSync('../../../../../../dev/zero', join(dir, 'etc', 'passwd'));
    expect(() => resolveUser('x', [dir])).toThrow(/no "x"/);
  });
});
