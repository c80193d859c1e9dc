import { RuntimeError, UsageError } from '@ctr/runtime';
import { REFERENCE } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { parseReference, registryUrl, shortRepository } from '../src/reference.js';
import {
  checkDescriptor,
  choosePlatform,
  hostPlatform,
  type ImageIndex,
  LAYER_MEDIA,
  parseWwwAuthenticate,
} from '../src/registry.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('image names, as docker reads them', REFERENCE, () => {
  it('fills in docker.io, library/ and latest', () => {
    expect(parseReference('alpine')).toEqual({
      registry: 'docker.io',
      repository: 'library/alpine',
      tag: 'latest',
      digest: null,
      name: 'docker.io/library/alpine:latest',
    });
    expect(parseReference('user/app:1.0').name).toBe('docker.io/user/app:1.0');
    expect(parseReference('index.docker.io/library/alpine:3').name).toBe('docker.io/library/alpine:3');
  });

  it('takes a first part with a dot, a colon or localhost as the registry', () => {
    const local = parseReference('127.0.0.1:5000/test/x:v1');
    expect(local).toMatchObject({
      registry: '127.0.0.1:5000',
      repository: 'test/x',
      tag: 'v1',
      name: '127.0.0.1:5000/test/x:v1',
    });
    expect(parseReference('localhost/x').registry).toBe('localhost');
    expect(parseReference('ghcr.io/o/r').registry).toBe('ghcr.io');
    expect(parseReference('[::1]:5000/x').registry).toBe('[::1]:5000');
    // Without a dot, colon or localhost the first part is a Docker Hub user.
    expect(parseReference('myuser/x').registry).toBe('docker.io');
  });

  it('names a digest reference by its digest, and keeps no tag unless one was given', () => {
    const ref = parseReference(`127.0.0.1:5000/x@${DIGEST}`);
    expect(ref).toMatchObject({ tag: null, digest: DIGEST, name: `127.0.0.1:5000/x@${DIGEST}` });
    expect(parseReference(`x:v1@${DIGEST}`).tag).toBe('v1');
  });

  it.each([
    ['', 'empty'],
    ['Alpine', 'uppercase'],
    ['alpine:', 'empty tag'],
    ['alpine:-x', 'tag starting with -'],
    ['alpine@sha256:1234', 'short digest'],
    [`alpine@md5:${'a'.repeat(32)}`, 'not sha256'],
    ['a//b', 'empty component'],
    ['a b', 'space'],
    ['127.0.0.1:5000/', 'no repository'],
  ])('refuses %j (%s) with a usage error that says what to type', (text) => {
    let thrown: unknown;
    try {
      parseReference(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toMatch(/^invalid image name .*: use NAME\[:TAG\] or NAME@sha256:DIGEST/);
    expect((thrown as Error).message).not.toContain('\n');
  });

  it("speaks plain HTTP to docker's insecure defaults only", () => {
    expect(registryUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryUrl('127.5.6.7')).toBe('http://127.5.6.7');
    expect(registryUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(registryUrl('[::1]:5000')).toBe('http://[::1]:5000');
    expect(registryUrl('128.0.0.1:5000')).toBe('https://128.0.0.1:5000');
    expect(registryUrl('localhost.example.com')).toBe('https://localhost.example.com');
    expect(registryUrl('docker.io')).toBe('https://registry-1.docker.io');
  });

  it('shows repositories as docker images does', () => {
    expect(shortRepository('docker.io', 'library/alpine')).toBe('alpine');
    expect(shortRepository('docker.io', 'user/x')).toBe('user/x');
    expect(shortRepository('127.0.0.1:5000', 'test/x')).toBe('127.0.0.1:5000/test/x');
  });
});

describe('registry answers, read', REFERENCE, () => {
  it("reads Docker Hub's bearer challenge", () => {
    const header =
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"';
    expect(parseWwwAuthenticate(header)).toEqual({
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/alpine:pull',
    });
    expect(parseWwwAuthenticate('Bearer realm=http://x/token, service="a,b"')).toEqual({
      realm: 'http://x/token',
      service: 'a,b',
    });
    expect(parseWwwAuthenticate('Basic realm="Registry"')).toBeNull();
  });

  it('maps Node architectures to GOARCH', () => {
    expect(hostPlatform('x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  });

  const entry = (architecture: string, variant?: string, os = 'linux') => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${architecture}${variant ?? ''}`,
    size: 1,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
  });

  it("picks this machine's platform from an index, variants included", () => {
    const index: ImageIndex = {
      manifests: [entry('arm', 'v7'), entry('arm64', 'v8'), entry('amd64'), entry('unknown', undefined, 'unknown')],
    };
    expect(choosePlatform(index, 'x', { os: 'linux', architecture: 'amd64' }).digest).toBe('sha256:amd64');
    expect(choosePlatform(index, 'x', { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest).toBe(
      'sha256:arm64v8',
    );
    // An arm64 entry without a variant is v8 too.
    expect(choosePlatform({ manifests: [entry('arm64')] }, 'x', hostPlatform('arm64')).digest).toBe('sha256:arm64');
  });

  it('says which platforms an index has when none is this one', () => {
    const index: ImageIndex = { manifests: [entry('arm64'), entry('unknown', undefined, 'unknown')] };
    expect(() => choosePlatform(index, '127.0.0.1:5000/x:v1', { os: 'linux', architecture: 'amd64' })).toThrow(
      new RuntimeError(
        'no manifest for linux/amd64 in the index of 127.0.0.1:5000/x:v1 (it has linux/arm64): pull an image built for this machine',
      ),
    );
  });

  it('knows the OCI and Docker layer types, and no foreign ones', () => {
    expect(LAYER_MEDIA['application/vnd.oci.image.layer.v1.tar+gzip']).toBe('gzip');
    expect(LAYER_MEDIA['application/vnd.docker.image.rootfs.diff.tar.gzip']).toBe('gzip');
    expect(LAYER_MEDIA['application/vnd.oci.image.layer.v1.tar+zstd']).toBe('zstd');
    expect(LAYER_MEDIA['application/vnd.oci.image.layer.v1.tar']).toBe('none');
    expect(LAYER_MEDIA['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip']).toBeUndefined();
  });
});

describe("a registry's descriptors, checked before a path is built from them", REFERENCE, () => {
  const good = { mediaType: 'x', digest: `sha256:${'a'.repeat(64)}`, size: 12 };
  it('takes a sha256 digest of 64 hex digits and a whole size', () => {
    expect(checkDescriptor(good, 'img')).toBe(good);
  });
  it.each([
    ['a path in the digest', { ...good, digest: 'sha256:../../../../etc' }],
    ['upper-case hex', { ...good, digest: `sha256:${'A'.repeat(64)}` }],
    ['another algorithm', { ...good, digest: `sha512:${'a'.repeat(128)}` }],
    ['no digest', { mediaType: 'x', size: 1 }],
  ])('refuses %s, in one line naming the registry as broken or hostile', (_what, descriptor) => {
    expect(() => checkDescriptor(descriptor, 'img')).toThrow(/img: the manifest names a malformed digest .*hostile/);
  });
  it.each([
    ['no size', { mediaType: 'x', digest: good.digest }],
    ['a negative size', { ...good, size: -1 }],
    ['a fractional size', { ...good, size: 1.5 }],
    ['a size as a string', { ...good, size: '12' }],
  ])('refuses %s', (_what, descriptor) => {
    expect(() => checkDescriptor(descriptor, 'img')).toThrow(RuntimeError);
  });
});
