/**
 * The OCI distribution API, the part a pull needs: GET a manifest (or an index of them), GET a
 * blob, and the anonymous bearer token Docker Hub asks for. Node's own fetch does the HTTP.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RuntimeError } from '@ctr/runtime';
import { DIGEST, type ImageReference, registryUrl } from './reference.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;
const MANIFEST_TYPES = Object.values(MEDIA);

/** The layer types a pull unpacks, and how each is compressed. */
export const LAYER_MEDIA: Record<string, 'none' | 'gzip' | 'zstd'> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
};

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface Manifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  mediaType?: string;
  manifests: Descriptor[];
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** containerd's limit: a manifest or index larger than this is not one. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * A descriptor as the registry sent it, checked before anything is built from it: the digest
 * becomes a path in the store (`sha256:../../etc` would name the host's /etc) and the size bounds
 * the download. The registry is not trusted; only digests are.
 */
export function checkDescriptor(descriptor: unknown, name: string): Descriptor {
  const { digest, size } = (descriptor ?? {}) as Partial<Descriptor>;
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw new RuntimeError(
      `${name}: the manifest names a malformed digest ${JSON.stringify(digest)?.slice(0, 80)}: the registry is broken or hostile; nothing was kept`,
    );
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new RuntimeError(
      `${name}: the manifest gives ${digest} no valid size (${JSON.stringify(size)}): the registry is broken or hostile; nothing was kept`,
    );
  }
  return descriptor as Descriptor;
}

/** The body, refused past `limit` bytes, whatever Content-Length claimed. */
async function readLimited(response: Response, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > limit) {
      await response.body?.cancel();
      throw new RuntimeError(
        `${what} is larger than ${limit} bytes, which no manifest is: the registry is broken or hostile`,
      );
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

export const isIndex = (mediaType: string): boolean => mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;

// #region platform
/** This machine as an image index names platforms (Go's GOOS/GOARCH). */
export function hostPlatform(arch: string = process.arch): { os: string; architecture: string; variant?: string } {
  const goarch: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  const architecture = goarch[arch] ?? arch;
  return architecture === 'arm64' ? { os: 'linux', architecture, variant: 'v8' } : { os: 'linux', architecture };
}

/**
 * The index entry for `platform`: os and architecture must match; a variant, when the entry has
 * one, must too (arm64's is v8 or absent). Attestations (`unknown/unknown`) never match.
 */
export function choosePlatform(index: ImageIndex, name: string, platform = hostPlatform()): Descriptor {
  const candidates = index.manifests.filter(
    (m) => m.platform?.os === platform.os && m.platform.architecture === platform.architecture,
  );
  const chosen = candidates.find((m) => !m.platform?.variant || m.platform.variant === platform.variant) ?? null;
  if (!chosen) {
    const has = index.manifests
      .map((m) => m.platform)
      .filter((p) => p && p.os !== 'unknown')
      .map((p) => `${p?.os}/${p?.architecture}${p?.variant ? `/${p.variant}` : ''}`);
    throw new RuntimeError(
      `no manifest for ${platform.os}/${platform.architecture} in the index of ${name} (it has ${has.join(', ') || 'none'}): pull an image built for this machine`,
    );
  }
  return chosen;
}
// #endregion platform

// #region auth
/** `Bearer realm="...",service="...",scope="..."` as a map; null for any other scheme. */
export function parseWwwAuthenticate(header: string): Record<string, string> | null {
  const match = /^\s*Bearer\s+(.*)$/i.exec(header);
  if (!match) return null;
  const params: Record<string, string> = {};
  for (const [, key, quoted, bare] of (match[1] ?? '').matchAll(
    /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g,
  )) {
    if (key) params[key.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? '');
  }
  return params;
}
// #endregion auth

/** A registry's error body: `{"errors":[{"code":"MANIFEST_UNKNOWN",...}]}`; its first code. */
async function errorCode(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { errors?: { code?: string }[] };
    return body.errors?.[0]?.code ?? response.statusText;
  } catch {
    return response.statusText;
  }
}

export class RegistryClient {
  private readonly base: string;
  /** The token of this repository, for the rest of the pull once one was asked for. */
  private token: string | null = null;

  constructor(private readonly ref: ImageReference) {
    this.base = `${registryUrl(ref.registry)}/v2/${ref.repository}`;
  }

  // #region get
  /** GET with the token, asking for one when the registry answers 401 with a Bearer challenge. */
  private async get(path: string, accept?: string): Promise<Response> {
    const url = `${this.base}${path}`;
    const headers: Record<string, string> = {};
    if (accept) headers.Accept = accept;
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    // #task 09.1
    let response = await this.send(url, headers);
    if (response.status === 401 && !this.token) {
      const challenge = parseWwwAuthenticate(response.headers.get('www-authenticate') ?? '');
      if (challenge?.realm) {
        await response.body?.cancel();
        this.token = await this.fetchToken(challenge);
        response = await this.send(url, { ...headers, Authorization: `Bearer ${this.token}` });
      }
    }
    return response;
    // #end-task
  }
  // #endregion get

  private async send(url: string, headers: Record<string, string>): Promise<Response> {
    try {
      return await fetch(url, { headers, redirect: 'follow' });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new RuntimeError(`cannot reach registry ${this.ref.registry} (${why}): is it running? check the name`);
    }
  }

  private async fetchToken(challenge: Record<string, string>): Promise<string> {
    const url = new URL(challenge.realm as string);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    url.searchParams.set('scope', challenge.scope ?? `repository:${this.ref.repository}:pull`);
    const response = await this.send(url.toString(), {});
    if (!response.ok) {
      throw new RuntimeError(
        `${this.ref.name}: the registry's token service refused an anonymous token (${response.status}): the image may be private, which ctr cannot pull`,
      );
    }
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RuntimeError(`${this.ref.name}: the token service answered no token: check the registry`);
    return token;
  }

  private async fail(response: Response, what: string): Promise<never> {
    const code = await errorCode(response);
    const status = `${response.status} ${code}`;
    if (response.status === 404)
      throw new RuntimeError(`${what}: no such image or tag (${status}): check the name and tag`);
    if (response.status === 401 || response.status === 403) {
      throw new RuntimeError(`${what}: access denied (${status}): the image may be private, or the name is wrong`);
    }
    throw new RuntimeError(`${what}: registry ${this.ref.registry} answered ${status}: try again later`);
  }

  /** A manifest or an index, by tag or digest; a digest asked for is checked against the bytes. */
  async manifest(reference: string): Promise<FetchedManifest> {
    const accept = MANIFEST_TYPES.join(', ');
    const response = await this.get(`/manifests/${reference}`, accept);
    if (!response.ok) return this.fail(response, this.ref.name);
    const bytes = await readLimited(response, MAX_MANIFEST_BYTES, `${this.ref.name}: the manifest ${reference}`);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RuntimeError(
        `${this.ref.name}: the manifest ${reference} the registry sent has digest ${digest}: the registry is broken or tampered with; nothing was kept`,
      );
    }
    let parsed: { mediaType?: string };
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new RuntimeError(`${this.ref.name}: the manifest ${reference} is not JSON: the registry is broken`);
    }
    const declared = parsed?.mediaType;
    const header = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    const mediaType = declared ?? header;
    if (!MANIFEST_TYPES.includes(mediaType as never)) {
      throw new RuntimeError(
        `${this.ref.name}: unsupported manifest type ${mediaType || '(none)'}: pull an OCI or Docker v2 image`,
      );
    }
    return { bytes, mediaType, digest };
  }

  // #region blob
  /**
   * Streams blob `descriptor` into `file` through sha256; the size and digest are checked before
   * the caller may rename it (a registry serves a corrupted blob as is, with a 200). `file` is
   * removed when anything fails.
   */
  async blob(descriptor: Descriptor, file: string, onBytes: (count: number) => void): Promise<void> {
    const response = await this.get(`/blobs/${descriptor.digest}`);
    if (!response.ok || !response.body) return this.fail(response, `${this.ref.name}: blob ${descriptor.digest}`);
    // #task 09.2
    const name = this.ref.name;
    const hash = createHash('sha256');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        // A registry that sends more than the descriptor says is stopped here, not at a full disk.
        if (size > descriptor.size) {
          return done(
            new RuntimeError(
              `blob ${descriptor.digest} of ${name} is longer than the ${descriptor.size} bytes it should have: the registry's copy is corrupt; nothing was kept, pull again or repair the registry`,
            ),
          );
        }
        onBytes(chunk.length);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(response.body as never), count, createWriteStream(file, { flags: 'wx' }));
      const digest = `sha256:${hash.digest('hex')}`;
      if (size !== descriptor.size || digest !== descriptor.digest) {
        throw new RuntimeError(
          `blob ${descriptor.digest} of ${this.ref.name} does not match its digest (got ${size} bytes, ${digest}; expected ${descriptor.size} bytes): the registry's copy is corrupt; nothing was kept, pull again or repair the registry`,
        );
      }
    } catch (error) {
      rmSync(file, { force: true });
      if (error instanceof RuntimeError || (error as NodeJS.ErrnoException).code === 'ENOSPC') throw error;
      throw new RuntimeError(
        `${this.ref.name}: blob ${descriptor.digest} broke off (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): pull again`,
      );
    }
    // #end-task
  }
  // #endregion blob
}
