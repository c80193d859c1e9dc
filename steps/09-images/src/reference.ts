/**
 * Image names as docker reads them: `alpine` is `docker.io/library/alpine:latest`, a first part
 * with a dot, a colon or `localhost` names a registry (`127.0.0.1:5000/test/x:v1`), a tag follows
 * the last colon after the last slash, a digest follows `@`.
 */
import { UsageError } from '@ctr/runtime';

export interface ImageReference {
  registry: string;
  repository: string;
  tag: string | null;
  digest: string | null;
  /** full name as `pull` prints it: registry/repository:tag or registry/repository@digest; docker.io/library/alpine:latest */
  name: string;
}

export const DOCKER_HUB = 'docker.io';

// The grammar of distribution's reference package (reference/regexp.go).
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
/** The only digest this runtime takes: a digest becomes a path in the store (store.ts). */
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** A digest's hex part, as the store names files. */
export const hex = (digest: string): string => digest.replace(/^sha256:/, '');
const REGISTRY =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d+)?$/;

export function parseReference(text: string): ImageReference {
  const bad = (why: string): never => {
    throw new UsageError(
      `invalid image name "${text}": ${why}: use NAME[:TAG] or NAME@sha256:DIGEST, e.g. alpine:3.20`,
    );
  };
  if (text === '' || /\s/.test(text)) bad('empty or with spaces');
  let rest = text;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    // Checked here: the registry answers a malformed digest with a 500, not a clear 400.
    if (!DIGEST.test(digest)) bad(`"${digest}" is not a sha256 digest (sha256: and 64 lowercase hex digits)`);
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(`"${tag}" is not a tag (letters, digits, _ . -; at most 128)`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (
    parts.length > 1 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))
  ) {
    registry = first;
    parts.shift();
    if (!REGISTRY.test(registry)) bad(`"${registry}" is not a registry host[:port]`);
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  for (const part of parts) {
    if (!COMPONENT.test(part)) bad(`"${part}" is not a repository name part (lowercase letters, digits, . _ -)`);
  }
  const repository = parts.join('/');
  if (`${registry}/${repository}`.length > 255) bad('longer than 255 characters');
  if (tag === null && digest === null) tag = 'latest';
  const base = `${registry}/${repository}`;
  return { registry, repository, tag, digest, name: digest ? `${base}@${digest}` : `${base}:${tag}` };
}

/** The name without tag or digest, as docker's `images` shows it: `alpine`, `user/x`, `127.0.0.1:5000/x`. */
export function shortRepository(registry: string, repository: string): string {
  if (registry !== DOCKER_HUB) return `${registry}/${repository}`;
  return repository.startsWith('library/') ? repository.slice('library/'.length) : repository;
}

/**
 * docker's default insecure registries, spoken to over plain HTTP: localhost, 127.0.0.0/8, ::1.
 * Every other registry over HTTPS.
 */
export function registryUrl(registry: string): string {
  if (registry === DOCKER_HUB) return 'https://registry-1.docker.io';
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : (registry.split(':')[0] ?? '');
  const local = host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '[::1]';
  return `${local ? 'http' : 'https'}://${registry}`;
}
