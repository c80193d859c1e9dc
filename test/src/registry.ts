/**
 * A real OCI registry for the image tests, with images made on the spot.
 *
 *  - `startRegistry()`: Debian's `docker-registry` (the CNCF distribution registry, 2.8) on
 *    127.0.0.1 with a root directory of its own, and in front of it a small HTTP proxy that the
 *    CLI under test pulls from. The proxy counts what is asked (a second pull must fetch no blob),
 *    asks for Docker Hub's anonymous bearer token, answers 500, or cuts or throttles one blob, so
 *    the failures a pull meets on the internet happen here on purpose.
 *  - `stageLayer()`, `buildImage()`, `buildIndex()`: layers packed by GNU tar from a directory
 *    staged as root (owners, setuid, links and whiteout files as a real image has them), configs,
 *    manifests in OCI or Docker v2 media types and two-platform indexes, pushed through the
 *    registry's own HTTP API as `docker push` does.
 *
 * Nothing here knows the runtime under test: it only serves images, as a registry would.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { REPO } from './paths.js';

const MEDIA_TYPES = {
  oci: {
    index: 'application/vnd.oci.image.index.v1+json',
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

export type ManifestFormat = keyof typeof MEDIA_TYPES;

const sha256 = (bytes: Buffer | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

// ---------------------------------------------------------------------------------------------
// Layers, configs, manifests

export interface Layer {
  /** Digest of the compressed blob, as the manifest names it. */
  digest: string;
  size: number;
  /** Digest of the uncompressed tar: the config's rootfs.diff_ids. */
  diffId: string;
  bytes: Buffer;
}

/**
 * Packs a directory as a layer with GNU tar, as image builders do: numeric owners (a layer's ids
 * are the image's, not this host's names), members sorted so that the same tree gives the same
 * digest, gzip on top.
 */
function packLayer(dir: string): Layer {
  const tar = spawnSync('tar', ['--create', '--file=-', '--numeric-owner', '--sort=name', `--directory=${dir}`, '.'], {
    maxBuffer: 1024 ** 3,
  });
  if (tar.error || tar.status !== 0) {
    throw new Error(`tar could not pack ${dir}: ${tar.error?.message ?? tar.stderr.toString().trim()}`);
  }
  const bytes = gzipSync(tar.stdout);
  return { digest: sha256(bytes), size: bytes.length, diffId: sha256(tar.stdout), bytes };
}

/**
 * A layer made from a directory that `build` fills (it runs as root: chown, setuid and mknod work);
 * the directory is removed afterwards. Whiteouts are staged as the files an image carries:
 * `.wh.NAME` deletes NAME of the layers below, `.wh..wh..opq` makes its directory opaque.
 */
export function stageLayer(build: (dir: string) => void): Layer {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-layer-'));
  // The layer's `./` entry sets the mode of the container's `/` when it is the top layer: not
  // mkdtemp's 0700, or no user but root could walk its own root directory.
  chmodSync(dir, 0o755);
  try {
    build(dir);
    return packLayer(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A layer holding one file of `bytes` random (incompressible) bytes: a blob big enough to interrupt. */
export function randomLayer(path: string, bytes: number): Layer {
  return stageLayer((dir) => writeFileSync(join(dir, path), randomBytes(bytes)));
}

let base: Layer | undefined;
/**
 * The repository's rootfs (`rootfs/`, busybox: a shell and coreutils) as a layer, so that every
 * test image can run commands. Packed once per test file.
 */
export function baseLayer(): Layer {
  const rootfs = `${REPO}rootfs`;
  if (!existsSync(`${rootfs}/bin/sh`)) {
    throw new Error(`${rootfs} has no /bin/sh: make the default rootfs first (any step's start makes it)`);
  }
  base ??= packLayer(rootfs);
  return base;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** This machine's platform in the OCI (GOARCH) words an index uses. */
export function hostPlatform(): Platform {
  const architecture = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', s390x: 's390x', ppc64: 'ppc64le' }[
    process.arch as string
  ];
  return { os: 'linux', architecture: architecture ?? process.arch };
}

/** The image config's `config` part: what the runtime must honour. */
export interface ImageConfig {
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
}

export interface ImageSpec {
  layers: Layer[];
  config?: ImageConfig;
  format?: ManifestFormat;
  platform?: Platform;
}

export interface BuiltImage {
  format: ManifestFormat;
  platform: Platform;
  mediaType: string;
  manifest: Buffer;
  /** The manifest's digest: what `NAME@DIGEST` names. */
  digest: string;
  config: Buffer;
  /** The config's digest: docker's IMAGE ID is its first 12 hex digits. */
  configDigest: string;
  layers: Layer[];
}

export function buildImage({ layers, config = {}, format = 'oci', platform = hostPlatform() }: ImageSpec): BuiltImage {
  const types = MEDIA_TYPES[format];
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      created: '2026-01-01T00:00:00Z',
      config,
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    }),
  );
  const configDigest = sha256(configBytes);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: configDigest, size: configBytes.length },
      layers: layers.map((layer) => ({ mediaType: types.layer, digest: layer.digest, size: layer.size })),
    }),
  );
  return {
    format,
    platform,
    mediaType: types.manifest,
    manifest,
    digest: sha256(manifest),
    config: configBytes,
    configDigest,
    layers,
  };
}

export interface BuiltIndex {
  mediaType: string;
  index: Buffer;
  digest: string;
  images: BuiltImage[];
  /** The attestation manifests the index lists too (OCI indexes only): pushed, never pulled. */
  attestations: BuiltImage[];
}

const ATTESTATION_PLATFORM: Platform = { os: 'unknown', architecture: 'unknown' };

/**
 * The attestation manifest BuildKit pushes next to `image`, as Docker Hub's indexes (alpine's)
 * carry them: an OCI manifest whose one layer is an in-toto statement (SLSA provenance), not a
 * tar. A runtime that unpacks it has no file system to run.
 */
function attestationOf(image: BuiltImage): BuiltImage {
  const statement = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://slsa.dev/provenance/v0.2',
      subject: [{ name: 'ctr-test-image', digest: { sha256: image.digest.replace(/^sha256:/, '') } }],
      predicate: { buildType: 'https://mobyproject.org/buildkit@v1' },
    }),
  );
  const layer: Layer = {
    digest: sha256(statement),
    size: statement.length,
    diffId: sha256(statement),
    bytes: statement,
  };
  const config = Buffer.from(
    JSON.stringify({ ...ATTESTATION_PLATFORM, config: {}, rootfs: { type: 'layers', diff_ids: [layer.diffId] } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.oci.manifest,
      config: { mediaType: MEDIA_TYPES.oci.config, digest: sha256(config), size: config.length },
      layers: [
        {
          mediaType: 'application/vnd.in-toto+json',
          digest: layer.digest,
          size: layer.size,
          annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' },
        },
      ],
    }),
  );
  return {
    format: 'oci',
    platform: ATTESTATION_PLATFORM,
    mediaType: MEDIA_TYPES.oci.manifest,
    manifest,
    digest: sha256(manifest),
    config,
    configDigest: sha256(config),
    layers: [layer],
  };
}

/**
 * An index (a manifest list) over images of different platforms. An OCI index also lists, first,
 * an attestation manifest per image as Docker Hub's do: platform `unknown/unknown`, annotated
 * with the image manifest it describes. A runtime that takes the first entry, or any entry whose
 * platform it does not check, takes one of those.
 */
export function buildIndex(images: BuiltImage[], format: ManifestFormat = 'oci'): BuiltIndex {
  const types = MEDIA_TYPES[format];
  const attestations = format === 'oci' ? images.map(attestationOf) : [];
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.index,
      manifests: [
        ...attestations.map((attestation, i) => ({
          mediaType: attestation.mediaType,
          digest: attestation.digest,
          size: attestation.manifest.length,
          annotations: {
            'vnd.docker.reference.digest': (images[i] as BuiltImage).digest,
            'vnd.docker.reference.type': 'attestation-manifest',
          },
          platform: attestation.platform,
        })),
        ...images.map((image) => ({
          mediaType: image.mediaType,
          digest: image.digest,
          size: image.manifest.length,
          platform: image.platform,
        })),
      ],
    }),
  );
  return { mediaType: types.index, index, digest: sha256(index), images, attestations };
}

// ---------------------------------------------------------------------------------------------
// The proxy in front of the registry

/** What the proxy does to the requests it passes on. Each field off unless set. */
export interface ProxyBehaviour {
  /** `bearer`: demand Docker Hub's anonymous token; `refuse`: issue tokens and accept none. */
  auth?: 'none' | 'bearer' | 'refuse';
  /**
   * Docker Hub's shape, on top of `auth: 'bearer'` (implied): the token realm on another origin
   * (as `https://auth.docker.io/token`; the proxy's own /token answers 404), and every blob GET
   * answered `307` to a presigned URL on that origin (as Docker Hub's CDN,
   * production.cloudflare.docker.com), which answers 400 to a request that also carries an
   * `Authorization` header, as S3 and R2 do. The other origin is `localhost:PORT`: another host
   * name than the registry's 127.0.0.1, not only another port, as auth.docker.io and the CDN
   * are, for a client whose redirect rule compares host names alone.
   */
  dockerHub?: boolean;
  /** Answer every request under /v2/ with this status and a registry error body (500). */
  status?: number;
  /** Send this blob's headers (its full length) and only `afterBytes` of it, then cut the connection. */
  cut?: { digest: string; afterBytes: number };
  /** Send this blob at `bytesPerSecond`. */
  throttle?: { digest: string; bytesPerSecond: number };
  /**
   * Answer the manifest `name:reference` with these bytes (and their digest) instead of the
   * registry's: a manifest a registry would refuse on push (a digest that is a path, a descriptor
   * without size), as a broken or hostile registry sends it.
   */
  manifest?: { name: string; reference: string; mediaType: string; body: Buffer };
}

/** `cdn`: a blob GET of the redirect's presigned URL (`dockerHub` only). */
export type RequestKind = 'ping' | 'manifest' | 'blob' | 'cdn' | 'token' | 'other';

export interface ProxiedRequest {
  method: string;
  /** `http://HOST:PORT` of the server that got it: the registry's, or the other origin's (`dockerHub`). */
  origin: string;
  path: string;
  kind: RequestKind;
  /** For manifests, blobs and CDN requests: the tag or digest asked for. */
  reference: string | null;
  /** Registry requests: a valid token (when one is asked for). CDN requests: a valid signature and no Authorization header. */
  authorized: boolean;
  /** Whether the request carried an `Authorization` header. */
  withAuthorization: boolean;
}

export interface RegistryProxy {
  /** Every request since the last `reset()`, in order. */
  readonly requests: ProxiedRequest[];
  /**
   * GET requests of blobs (layers and configs) that the registry accepted, optionally of one
   * digest: what a client asked for. With `dockerHub` each was answered by a redirect, and the
   * bytes went out on the `cdn` requests that follow.
   */
  blobGets(digest?: string): number;
  /** Bytes of `digest` sent so far (throttled or cut blobs only). */
  sentBytes(digest: string): number;
  behave(behaviour: ProxyBehaviour): void;
  /** Back to passing everything on, counters cleared. */
  reset(): void;
}

const SERVICE = 'ctr-test-registry';
/** Lines of the registry's log kept for an error message at start (the last ones). */
const LOG_LINES_KEPT = 20;
/** S3's answer to a presigned URL that also carries an Authorization header (R2 says the same). */
const ONE_AUTH_MECHANISM = [
  '<?xml version="1.0" encoding="UTF-8"?>',
  '<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message><ArgumentName>Authorization</ArgumentName></Error>',
].join('\n');

function classify(path: string): { kind: RequestKind; name: string | null; reference: string | null } {
  if (path === '/v2/' || path === '/v2') return { kind: 'ping', name: null, reference: null };
  if (path.startsWith('/token')) return { kind: 'token', name: null, reference: null };
  const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/?]+)$/.exec(path.split('?')[0] as string);
  if (!match) return { kind: 'other', name: null, reference: null };
  return {
    kind: match[2] === 'manifests' ? 'manifest' : 'blob',
    name: match[1] as string,
    reference: decodeURIComponent(match[3] as string),
  };
}

const listen = (server: ReturnType<typeof createHttpServer>): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });

function startProxy(upstreamPort: number): Promise<{ port: number; proxy: RegistryProxy; close(): Promise<void> }> {
  let behaviour: ProxyBehaviour = {};
  const requests: ProxiedRequest[] = [];
  const sent = new Map<string, number>();
  const tokens = new Set<string>();
  // Signs the CDN's URLs, as the registry's S3 credentials sign Docker Hub's.
  const signingKey = randomBytes(16);
  let port = 0;
  let otherPort = 0;
  const registryOrigin = (): string => `http://127.0.0.1:${port}`;
  const otherOrigin = (): string => `http://localhost:${otherPort}`;
  const sign = (path: string): string => createHmac('sha256', signingKey).update(path).digest('hex');

  const errorBody = (code: string, message: string): string =>
    JSON.stringify({ errors: [{ code, message, detail: null }] });
  const answer = (res: ServerResponse, status: number, headers: Record<string, string>, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };
  const issueToken = (res: ServerResponse): void => {
    // Docker Hub's token service: GET /token?service=...&scope=repository:NAME:pull -> {token}.
    const issued = randomBytes(16).toString('hex');
    tokens.add(issued);
    answer(res, 200, {}, JSON.stringify({ token: issued, access_token: issued, expires_in: 300 }));
  };

  /** Passes `req` on to the registry as `path`, cutting or throttling the blob `reference` if asked. */
  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    kind: RequestKind,
    reference: string | null,
  ) => {
    const headers = { ...req.headers, host: `127.0.0.1:${upstreamPort}` };
    delete headers.authorization;
    const upstream = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path, headers }, (up) => {
      const blobGet = (kind === 'blob' || kind === 'cdn') && req.method === 'GET';
      const cut = blobGet && behaviour.cut?.digest === reference ? behaviour.cut : undefined;
      const throttle = blobGet && behaviour.throttle?.digest === reference ? behaviour.throttle : undefined;
      if (!cut && !throttle) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (chunk: Buffer) => chunks.push(chunk));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (cut) {
          res.write(body.subarray(0, cut.afterBytes), () => {
            sent.set(reference as string, cut.afterBytes);
            // Mid-body: the client has the headers and a Content-Length it will never see.
            res.socket?.destroy();
          });
          return;
        }
        void stream(res, body, reference as string, (throttle as { bytesPerSecond: number }).bytesPerSecond);
      });
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) answer(res, 502, {}, errorBody('UNKNOWN', `the test registry is gone: ${error.message}`));
      else res.socket?.destroy();
    });
    req.pipe(upstream);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    const { kind, name, reference } = classify(path);
    const authHeader = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(authHeader)?.[1];
    const auth = behaviour.dockerHub ? 'bearer' : behaviour.auth;
    const authorized = auth === 'bearer' ? token !== undefined && tokens.has(token) : auth !== 'refuse';
    const method = req.method ?? 'GET';
    requests.push({
      method,
      origin: registryOrigin(),
      path,
      kind,
      reference,
      authorized,
      withAuthorization: authHeader !== '',
    });

    if (kind === 'token') {
      if (behaviour.dockerHub) answer(res, 404, {}, errorBody('NOT_FOUND', `the token service is at ${otherOrigin()}`));
      else issueToken(res);
      return;
    }
    if (!authorized) {
      const scope = name ? `,scope="repository:${name}:pull"` : '';
      const realm = behaviour.dockerHub ? `${otherOrigin()}/token` : `${registryOrigin()}/token`;
      answer(
        res,
        401,
        { 'www-authenticate': `Bearer realm="${realm}",service="${SERVICE}"${scope}` },
        errorBody('UNAUTHORIZED', 'authentication required'),
      );
      return;
    }
    const crafted = behaviour.manifest;
    if (crafted && kind === 'manifest' && name === crafted.name && reference === crafted.reference) {
      res.writeHead(200, {
        'content-type': crafted.mediaType,
        'content-length': String(crafted.body.length),
        'docker-content-digest': sha256(crafted.body),
      });
      res.end(method === 'HEAD' ? undefined : crafted.body);
      return;
    }
    if (behaviour.status !== undefined && path.startsWith('/v2/')) {
      answer(res, behaviour.status, {}, errorBody('UNKNOWN', 'unknown error (the test proxy answers this on purpose)'));
      return;
    }
    if (behaviour.dockerHub && kind === 'blob' && method === 'GET') {
      const target = `/blobs/${name}/${reference}`;
      const query = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=1200&X-Amz-Signature=${sign(target)}`;
      res.writeHead(307, { location: `${otherOrigin()}${target}?${query}`, 'content-length': '0' });
      res.end();
      return;
    }
    forward(req, res, path, kind, reference);
  };

  /** The other origin of `dockerHub`: the token service and the CDN. */
  const handleOther = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    const url = new URL(path, otherOrigin());
    const withAuthorization = req.headers.authorization !== undefined;
    const method = req.method ?? 'GET';
    if (url.pathname === '/token') {
      requests.push({
        method,
        origin: otherOrigin(),
        path,
        kind: 'token',
        reference: null,
        authorized: true,
        withAuthorization,
      });
      issueToken(res);
      return;
    }
    const match = /^\/blobs\/(.+)\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    const signed = match !== null && url.searchParams.get('X-Amz-Signature') === sign(url.pathname);
    const reference = match?.[2] ?? null;
    requests.push({
      method,
      origin: otherOrigin(),
      path,
      kind: 'cdn',
      reference,
      authorized: signed && !withAuthorization,
      withAuthorization,
    });
    const xml = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(body);
    };
    if (!signed) {
      xml(
        403,
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
      );
      return;
    }
    if (withAuthorization) {
      xml(400, ONE_AUTH_MECHANISM);
      return;
    }
    forward(req, res, `/v2/${match?.[1]}/blobs/${reference}`, 'cdn', reference);
  };

  const stream = async (res: ServerResponse, body: Buffer, digest: string, bytesPerSecond: number): Promise<void> => {
    const tick = 50;
    const slice = Math.max(1, Math.floor((bytesPerSecond * tick) / 1000));
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    for (let offset = 0; offset < body.length && !closed; offset += slice) {
      res.write(body.subarray(offset, offset + slice));
      sent.set(digest, Math.min(body.length, offset + slice));
      await sleep(tick);
    }
    if (!closed) res.end();
  };

  const server = createHttpServer(handle);
  const other = createHttpServer(handleOther);
  const proxy: RegistryProxy = {
    requests,
    blobGets: (digest) =>
      requests.filter(
        (r) =>
          r.kind === 'blob' && r.method === 'GET' && r.authorized && (digest === undefined || r.reference === digest),
      ).length,
    sentBytes: (digest) => sent.get(digest) ?? 0,
    behave: (next) => {
      behaviour = next;
    },
    reset: () => {
      behaviour = {};
      requests.length = 0;
      sent.clear();
    },
  };
  const closeServer = (one: ReturnType<typeof createHttpServer>): Promise<void> =>
    new Promise<void>((done) => {
      one.closeAllConnections();
      one.close(() => done());
    });
  return (async () => {
    port = await listen(server);
    // On 127.0.0.1, reached as localhost (127.0.0.1 in this machine's /etc/hosts; where ::1
    // comes first, Node 20's connect tries the next address: autoSelectFamily is on by default).
    otherPort = await listen(other).catch(async (error) => {
      await closeServer(server);
      throw error;
    });
    return { port, proxy, close: async () => void (await Promise.all([closeServer(server), closeServer(other)])) };
  })();
}

// ---------------------------------------------------------------------------------------------
// The registry

export interface Registry {
  /** `127.0.0.1:PORT` of the proxy: image names start with it (`${address}/test/x:v1`). */
  address: string;
  /** `127.0.0.1:PORT` of the registry itself, for pushes. */
  upstream: string;
  proxy: RegistryProxy;
  push(repository: string, tag: string, image: BuiltImage | BuiltIndex): Promise<void>;
  /** Changes bytes of a stored blob, keeping its size; the returned function puts them back. */
  corruptBlob(digest: string): () => void;
  /** Cuts a stored blob to half its size; the returned function puts it back. */
  truncateBlob(digest: string): () => void;
  stop(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** A port on 127.0.0.1 where nothing listens: "the registry is down". */
export const closedPort = freePort;

function registryBinary(): string {
  const found = (process.env.PATH ?? '')
    .split(':')
    .filter(Boolean)
    .map((dir) => join(dir, 'docker-registry'))
    .find((path) => {
      try {
        accessSync(path, constants.X_OK);
        return statSync(path).isFile(); // as command -v: an executable file, not a directory
      } catch {
        return false;
      }
    });
  if (!found) {
    throw new Error(
      "the image tests need a real registry and docker-registry is not installed: apt-get install docker-registry (Debian's CNCF distribution registry; its own service is not used)",
    );
  }
  return found;
}

/**
 * Starts `docker-registry serve` on a free port of 127.0.0.1 with a fresh root directory, and the
 * proxy in front of it; resolves once GET /v2/ answers 200. `stop()` (or the process's exit)
 * stops both and removes the directory.
 */
export async function startRegistry(): Promise<Registry> {
  const binary = registryBinary();
  const dir = mkdtempSync(join(tmpdir(), 'ctr-registry-'));
  const root = join(dir, 'root');
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${root}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  // Not detached: it stays in this process's session, so the kit's stray-process checks do not
  // take it for something a CLI left behind. setpriv (util-linux) sets PR_SET_PDEATHSIG before it
  // execs the registry: a test process killed by a signal runs no 'exit' handler, and the
  // registry would outlive it.
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', '--', binary, 'serve', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    log.splice(0, Math.max(0, log.length - LOG_LINES_KEPT));
  });
  const cleanUp = (): void => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);

  const upstream = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      cleanUp();
      throw new Error(`docker-registry exited (${child.exitCode}) at start:\n${log.join('\n')}`);
    }
    try {
      if ((await fetch(`http://${upstream}/v2/`)).status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      cleanUp();
      throw new Error(`docker-registry did not answer GET /v2/ on ${upstream} within 15 s:\n${log.join('\n')}`);
    }
    await sleep(30);
  }
  const front = await startProxy(port);

  const send = async (url: string, init: RequestInit, expected: number, what: string): Promise<Response> => {
    const response = await fetch(url, init);
    if (response.status !== expected) {
      throw new Error(`the test registry refused ${what}: ${response.status} ${await response.text()}`);
    }
    return response;
  };
  const pushBlob = async (repository: string, digest: string, bytes: Buffer): Promise<void> => {
    const base = `http://${upstream}`;
    if ((await fetch(`${base}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' })).status === 200) return;
    const started = await send(
      `${base}/v2/${repository}/blobs/uploads/`,
      { method: 'POST' },
      202,
      `an upload to ${repository}`,
    );
    const location = new URL(started.headers.get('location') ?? '', base);
    location.searchParams.set('digest', digest);
    await send(
      location.href,
      { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': 'application/octet-stream' } },
      201,
      `blob ${digest}`,
    );
  };
  const pushManifest = async (repository: string, reference: string, mediaType: string, bytes: Buffer) => {
    await send(
      `http://${upstream}/v2/${repository}/manifests/${reference}`,
      { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': mediaType } },
      201,
      `manifest ${repository}:${reference}`,
    );
  };
  const pushImage = async (repository: string, reference: string, image: BuiltImage): Promise<void> => {
    for (const layer of image.layers) await pushBlob(repository, layer.digest, layer.bytes);
    await pushBlob(repository, image.configDigest, image.config);
    await pushManifest(repository, reference, image.mediaType, image.manifest);
  };
  const blobFile = (digest: string): string => {
    const hex = digest.replace(/^sha256:/, '');
    return join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
  };
  const rewrite = (digest: string, change: (bytes: Buffer) => Buffer): (() => void) => {
    const file = blobFile(digest);
    const original = readFileSync(file);
    writeFileSync(file, change(Buffer.from(original)));
    return () => writeFileSync(file, original);
  };

  return {
    address: `127.0.0.1:${front.port}`,
    upstream,
    proxy: front.proxy,
    async push(repository, tag, image) {
      if ('index' in image) {
        for (const child of [...image.attestations, ...image.images]) await pushImage(repository, child.digest, child);
        await pushManifest(repository, tag, image.mediaType, image.index);
      } else {
        await pushImage(repository, tag, image);
      }
    },
    corruptBlob: (digest) =>
      rewrite(digest, (bytes) => {
        // The middle of the blob, inverted: same size, so only the digest can tell.
        const at = Math.floor(bytes.length / 2);
        for (let i = at; i < Math.min(bytes.length, at + 64); i++) bytes[i] = (bytes[i] as number) ^ 0xff;
        return bytes;
      }),
    truncateBlob: (digest) => rewrite(digest, (bytes) => bytes.subarray(0, Math.floor(bytes.length / 2))),
    async stop() {
      await front.close();
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((done) => child.once('exit', done));
      process.removeListener('exit', cleanUp);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
