/**
 * Layers made with GNU tar on the spot, unpacked on the real filesystem: owners, modes, links,
 * whiteouts in overlay's format, and the members a hostile layer could use to write outside.
 * Root is needed (owners, mknod, trusted.* xattrs), as for every test of this step.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuntimeError } from '@ctr/runtime';
import { lgetxattr } from '@ctr/syscalls';
import { REFERENCE } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressionOf, unpackLayer } from '../src/unpack.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ctr-unpack-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const tar = (...args: string[]): void => {
  execFileSync('tar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

/** A fresh directory under the test's own. */
let counter = 0;
const fresh = (name: string): string => {
  const dir = join(work, `${counter++}-${name}`);
  mkdirSync(dir);
  return dir;
};

describe('a layer, unpacked', REFERENCE, () => {
  it('keeps owners, modes, setuid, absolute symlinks and hard links (gzip detected by itself)', () => {
    const source = fresh('src');
    mkdirSync(join(source, 'bin'));
    writeFileSync(join(source, 'bin', 'su'), 'setuid');
    chmodSync(join(source, 'bin', 'su'), 0o4755);
    writeFileSync(join(source, 'owned'), 'x');
    chownSync(join(source, 'owned'), 1234, 5678);
    symlinkSync('/etc/passwd', join(source, 'abs-link'));
    linkSync(join(source, 'bin', 'su'), join(source, 'hard'));
    const blob = join(work, 'plain.tar.gz');
    tar('--create', '--gzip', '--numeric-owner', '--file', blob, '--directory', source, '.');
    expect(compressionOf(blob)).toBe('gzip');

    const dir = fresh('out');
    const { size, unlisted } = unpackLayer(blob, dir, 'sha256:plain');
    expect(lstatSync(join(dir, 'bin', 'su')).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(join(dir, 'owned'))).toMatchObject({ uid: 1234, gid: 5678 });
    expect(readlinkSync(join(dir, 'abs-link'))).toBe('/etc/passwd');
    expect(lstatSync(join(dir, 'hard')).ino).toBe(lstatSync(join(dir, 'bin', 'su')).ino);
    expect(size).toBe('setuid'.length * 2 + 1);
    expect(unlisted, 'tar listed every directory').toEqual([]);
  });

  it("turns .wh.NAME into a 0/0 char device and .wh..wh..opq into overlay's opaque xattr", () => {
    const source = fresh('src');
    mkdirSync(join(source, 'etc', 'cleared'), { recursive: true });
    writeFileSync(join(source, 'etc', '.wh.deleted'), '');
    writeFileSync(join(source, 'etc', 'cleared', '.wh..wh..opq'), '');
    writeFileSync(join(source, 'etc', 'cleared', 'kept'), 'k');
    const blob = join(work, 'whiteouts.tar');
    tar('--create', '--numeric-owner', '--file', blob, '--directory', source, '.');
    expect(compressionOf(blob)).toBe('none');

    const dir = fresh('out');
    unpackLayer(blob, dir, 'sha256:whiteouts');
    const device = lstatSync(join(dir, 'etc', 'deleted'));
    expect(device.isCharacterDevice()).toBe(true);
    expect(device.rdev).toBe(0);
    expect(existsSync(join(dir, 'etc', '.wh.deleted'))).toBe(false);
    expect(existsSync(join(dir, 'etc', 'cleared', '.wh..wh..opq'))).toBe(false);
    expect(existsSync(join(dir, 'etc', 'cleared', 'kept'))).toBe(true);
    expect(lgetxattr(join(dir, 'etc', 'cleared'), 'trusted.overlay.opaque')).toBe('y');
    expect(lgetxattr(join(dir, 'etc'), 'trusted.overlay.opaque')).toBeNull();
  });

  it('unpacks a zstd layer', () => {
    const source = fresh('src');
    writeFileSync(join(source, 'z'), 'zstd');
    const blob = join(work, 'z.tar.zst');
    tar('--create', '--zstd', '--file', blob, '--directory', source, '.');
    expect(compressionOf(blob)).toBe('zstd');
    const dir = fresh('out');
    unpackLayer(blob, dir, 'sha256:z');
    expect(existsSync(join(dir, 'z'))).toBe(true);
  });
});

// The OCI spec's own example layer lists ./etc/my-app.d/default.cfg and no parent of it.
describe('directories a layer holds but does not list', REFERENCE, () => {
  /** The layer below, unpacked: /tmp 1777, /data 0711, /data/owned 0750 of 1234:5678, /link -> a host dir. */
  const unpackedBase = (): { base: string; hostDir: string } => {
    const source = fresh('base-src');
    mkdirSync(join(source, 'tmp'));
    chmodSync(join(source, 'tmp'), 0o1777);
    mkdirSync(join(source, 'data', 'owned'), { recursive: true });
    chmodSync(join(source, 'data'), 0o711);
    chownSync(join(source, 'data', 'owned'), 1234, 5678);
    chmodSync(join(source, 'data', 'owned'), 0o750);
    const hostDir = fresh('host-dir');
    chownSync(hostDir, 4321, 4321);
    chmodSync(hostDir, 0o700);
    symlinkSync(hostDir, join(source, 'link'));
    const blob = join(work, 'parents-base.tar');
    tar('--create', '--numeric-owner', '--file', blob, '--directory', source, '.');
    const base = fresh('base');
    unpackLayer(blob, base, 'sha256:base');
    return { base, hostDir };
  };
  /** A layer of ./tmp/foo, ./data/owned/file and ./link/file only: tar names no parent of them. */
  const parentless = (): string => {
    const source = fresh('upper-src');
    for (const parent of ['tmp', 'data/owned', 'link']) {
      mkdirSync(join(source, parent), { recursive: true });
      writeFileSync(join(source, parent, parent === 'tmp' ? 'foo' : 'file'), 'x');
    }
    const blob = join(work, 'parentless.tar');
    tar('--create', '--file', blob, '--directory', source, './tmp/foo', './data/owned/file', './link/file');
    return blob;
  };

  it('gives them the owner and mode they have in the layers below, as containerd does', () => {
    const { base } = unpackedBase();
    const dir = fresh('upper');
    const { unlisted } = unpackLayer(parentless(), dir, 'sha256:upper', [fresh('empty'), base]);
    expect(unlisted.sort()).toEqual(['data', 'data/owned', 'link', 'tmp']);
    const modeOf = (path: string): string => (lstatSync(join(dir, path)).mode & 0o7777).toString(8);
    expect(modeOf('tmp'), "tar would make it 0755: a base's sticky 1777 /tmp must stay").toBe('1777');
    expect(modeOf('data')).toBe('711');
    expect(modeOf('data/owned')).toBe('750');
    expect(lstatSync(join(dir, 'data', 'owned'))).toMatchObject({ uid: 1234, gid: 5678 });
  });

  it('takes nothing through a symlink of a layer below (it may point at a host directory)', () => {
    const { base } = unpackedBase();
    const dir = fresh('upper');
    unpackLayer(parentless(), dir, 'sha256:upper', [base]);
    expect(lstatSync(join(dir, 'link'))).toMatchObject({ uid: 0, gid: 0 });
    expect(lstatSync(join(dir, 'link')).mode & 0o7777).toBe(0o755);
  });

  it('takes nothing from below a whiteout or an opaque root of a higher layer below', () => {
    const { base } = unpackedBase();
    const hides = (build: (source: string) => void): string => {
      const source = fresh('hider-src');
      build(source);
      const blob = join(work, 'hider.tar');
      tar('--create', '--file', blob, '--directory', source, '.');
      const hider = fresh('hider');
      unpackLayer(blob, hider, 'sha256:hider');
      return hider;
    };
    const whiteout = hides((source) => writeFileSync(join(source, '.wh.tmp'), ''));
    const opaqueRoot = hides((source) => writeFileSync(join(source, '.wh..wh..opq'), ''));
    for (const hider of [whiteout, opaqueRoot]) {
      const dir = fresh('upper');
      unpackLayer(parentless(), dir, 'sha256:upper', [base, hider]);
      expect(lstatSync(join(dir, 'tmp')).mode & 0o7777).toBe(0o755);
    }
  });

  it("reads tar's list whatever the names hold (a newline, a backslash, UTF-8)", () => {
    const source = fresh('odd-src');
    const odd = 'a\\b\nc é';
    mkdirSync(join(source, odd));
    writeFileSync(join(source, odd, 'f'), 'x');
    const blob = join(work, 'odd.tar');
    tar('--create', '--file', blob, '--directory', source, '.');
    expect(unpackLayer(blob, fresh('odd'), 'sha256:odd').unlisted).toEqual([]);
  });
});

describe('whiteouts of the same layer (OCI: they hide the layers below only)', REFERENCE, () => {
  it("keeps the layer's own directory of that name, made opaque, and its own file", () => {
    const source = fresh('same-src');
    mkdirSync(join(source, 'a', 'foo'), { recursive: true });
    writeFileSync(join(source, 'a', 'foo', 'keep'), 'mine');
    writeFileSync(join(source, 'a', '.wh.foo'), '');
    writeFileSync(join(source, 'a', 'bar'), 'new bar');
    writeFileSync(join(source, 'a', '.wh.bar'), '');
    const blob = join(work, 'same.tar');
    tar('--create', '--file', blob, '--directory', source, '.');
    const dir = fresh('same-out');
    unpackLayer(blob, dir, 'sha256:same');
    expect(lstatSync(join(dir, 'a', 'foo')).isDirectory()).toBe(true);
    expect(existsSync(join(dir, 'a', 'foo', 'keep'))).toBe(true);
    expect(lgetxattr(join(dir, 'a', 'foo'), 'trusted.overlay.opaque')).toBe('y');
    expect(lstatSync(join(dir, 'a', 'bar')).isFile()).toBe(true);
    expect(existsSync(join(dir, 'a', '.wh.foo')) || existsSync(join(dir, 'a', '.wh.bar'))).toBe(false);
  });

  it('refuses a whiteout that is a directory, in one line', () => {
    const source = fresh('whdir-src');
    mkdirSync(join(source, '.wh..wh..opq'));
    const blob = join(work, 'whdir.tar');
    tar('--create', '--file', blob, '--directory', source, '.');
    expect(() => unpackLayer(blob, fresh('whdir-out'), 'sha256:whdir')).toThrow(
      /as something other than an empty file/,
    );
  });
});

describe('a hostile layer', REFERENCE, () => {
  /** Where an escape would land: beside the layer's directory, outside it. */
  const outside = (name: string): string => join(work, name);

  it('cannot write through an absolute name: GNU tar strips the leading /', () => {
    const target = outside('abs-escape');
    writeFileSync(target, 'before');
    const blob = join(work, 'abs.tar');
    // --absolute-names keeps the / in the archive, as a hostile layer would.
    tar('--create', '--absolute-names', '--file', blob, target);
    writeFileSync(target, 'original');
    const dir = fresh('out');
    unpackLayer(blob, dir, 'sha256:abs');
    expect(readFileSync(target, 'utf8')).toBe('original');
    expect(existsSync(join(dir, target))).toBe(true);
  });

  it('cannot write through a .. member: the pull fails naming the layer', () => {
    const parent = fresh('dotdot');
    const inner = join(parent, 'inner');
    mkdirSync(inner);
    writeFileSync(join(parent, 'escape'), 'payload');
    const blob = join(work, 'dotdot.tar');
    tar('--create', '--absolute-names', '--file', blob, '--directory', inner, '../escape');
    rmSync(join(parent, 'escape'));
    let error: unknown;
    try {
      unpackLayer(blob, fresh('out'), 'sha256:dotdot');
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(RuntimeError);
    expect((error as Error).message).toMatch(/layer sha256:dotdot does not unpack \(tar: .*'\.\.'/);
    expect(existsSync(join(parent, 'escape'))).toBe(false);
  });

  it('cannot write through a symlink it made first (link -> outside, then link/file)', () => {
    const target = fresh('symlink-target');
    const first = fresh('first');
    symlinkSync(target, join(first, 'link'));
    const second = fresh('second');
    mkdirSync(join(second, 'link'));
    writeFileSync(join(second, 'link', 'planted'), 'payload');
    const blob = join(work, 'symlink.tar');
    tar('--create', '--file', blob, '--directory', first, 'link');
    tar('--append', '--file', blob, '--directory', second, 'link/planted');
    const dir = fresh('out');
    expect(() => unpackLayer(blob, dir, 'sha256:symlink')).toThrow(/layer sha256:symlink does not unpack/);
    expect(existsSync(join(target, 'planted'))).toBe(false);
  });

  it('cannot whiteout the layer or its parent (.wh.., .wh...): the pull fails, nothing outside removed', () => {
    for (const name of ['.wh..', '.wh...']) {
      const source = fresh('wh-src');
      mkdirSync(join(source, 'a'));
      writeFileSync(join(source, 'a', name), '');
      const blob = join(work, 'wh.tar');
      tar('--create', '--file', blob, '--directory', source, '.');
      const parent = fresh('wh-parent');
      writeFileSync(join(parent, 'kept'), 'x');
      const dir = join(parent, 'out');
      mkdirSync(dir);
      expect(() => unpackLayer(blob, dir, 'sha256:wh')).toThrow(/names no file/);
      expect(existsSync(join(parent, 'kept'))).toBe(true);
      expect(existsSync(join(dir, 'a'))).toBe(true);
    }
  });

  it('cannot hard-link a file outside into the layer', () => {
    const secret = outside('secret');
    writeFileSync(secret, 'secret');
    const source = fresh('src');
    linkSync(secret, join(source, 'stolen'));
    const blob = join(work, 'hard.tar');
    // The first member is the file itself; the second, a hard link to it by its absolute name.
    tar('--create', '--absolute-names', '--file', blob, secret, '--directory', source, 'stolen');
    rmSync(secret);
    writeFileSync(secret, 'changed');
    const dir = fresh('out');
    unpackLayer(blob, dir, 'sha256:hard');
    expect(lstatSync(join(dir, 'stolen')).ino).not.toBe(lstatSync(secret).ino);
    expect(lstatSync(secret).nlink).toBe(1);
  });
});
