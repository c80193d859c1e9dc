/**
 * `start --image NAME`: the container runs on an image's layers instead of a rootfs directory,
 * and the image's config says what a `docker run` of it would: the command (Entrypoint + Cmd),
 * its environment, its working directory and its user. The image is pulled first if it is not
 * stored yet. The layers become the overlay's lowers when step 07's user feature maps the rootfs
 * (overlay.ts); this feature only says which ones.
 */
import { mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import type { ContainerUser, SecurityConfig } from '@ctr/08';
import { defaultRootfsPath } from '@ctr/rootfs';
import { type ContainerSpec, DEFAULT_ENV, defineFeature, flag, RuntimeError, UsageError } from '@ctr/runtime';
import { shownEntry } from './layers.js';
import type { ImageConfig } from './store.js';

export interface ImageSettings {
  /** The image's full name and manifest digest, for `rmi` to see it is in use. */
  name: string;
  digest: string;
  /** Absolute directories of the unpacked layers, bottom first. */
  layers: string[];
  workingDir: string | null;
}

export const image = defineFeature({
  name: 'image',
  flags: {
    image: flag('--image <name>', 'run this image, pulled first if it is not stored (instead of --rootfs)'),
  },
  // #region configure
  async configure({ image: name }, spec, log): Promise<ImageSettings | null> {
    if (name === undefined) return null;
    if (process.getuid?.() !== 0) {
      throw new RuntimeError(`--image ${name}: images need root in this step (the store is root's): use sudo`);
    }
    // The runtime resolved the rootfs before any feature ran: the default one means none was given.
    if (spec.rootfs !== defaultRootfsPath()) {
      throw new UsageError(`--image ${name} and --rootfs ${spec.rootfs}: give one of them`);
    }
    // Loaded here, not at the top: only a start that needs the image runs them (the init never).
    const { parseReference } = await import('./reference.js');
    const { findImage } = await import('./store.js');
    const reference = parseReference(name);
    let stored = findImage(reference);
    if (!stored) {
      const { pullImage } = await import('./pull.js');
      log(`${reference.name} is not stored: pulling it`);
      stored = await pullImage(reference, { log, progress: process.stderr.isTTY === true });
    }
    applyImageConfig(stored.config, spec, stored.layers);
    return {
      name: stored.name,
      digest: stored.digest,
      layers: stored.layers,
      workingDir: stored.config.WorkingDir || null,
    };
  },
  // #endregion configure
});

/**
 * The image's WorkingDir, made if it is missing (as runc does, in the overlay's upper layer) and
 * entered. It must happen as the container's root, before step 08 switches to the image's User,
 * who may not write where it goes: this feature sits before step 08's in the list (step.ts),
 * while `image` comes last, to see step 08's settings. It reads what `image` decided.
 */
export const workingDirectory = defineFeature({
  name: 'workdir',
  setup(_config, spec) {
    const workingDir = (spec.features.image as ImageSettings | null | undefined)?.workingDir;
    if (!workingDir) return;
    try {
      mkdirSync(workingDir, { recursive: true });
      process.chdir(workingDir);
    } catch (error) {
      throw new RuntimeError(
        `the image's WorkingDir ${workingDir} cannot be made or entered (${(error as NodeJS.ErrnoException).code}): check the image`,
      );
    }
  },
});

// #region image-config
/**
 * docker's rules: a command given replaces Cmd and keeps Entrypoint; the image's Env replaces the
 * runtime's defaults (PATH, HOME) and -e replaces both; the image's User is --user's default.
 */
export function applyImageConfig(config: ImageConfig, spec: ContainerSpec, layers: readonly string[]): void {
  const entrypoint = config.Entrypoint ?? [];
  spec.args = [...entrypoint, ...(spec.args.length > 0 ? spec.args : (config.Cmd ?? []))];
  // docker's "no command specified": an image that names none runs nothing by default.
  if (spec.args.length === 0) {
    throw new UsageError('the image has no Entrypoint nor Cmd: give the command after the image');
  }
  spec.env = mergeEnv(spec.env, config.Env ?? []);
  const security = spec.features.security as SecurityConfig | null | undefined;
  if (config.User && security && security.user === null) security.user = resolveUser(config.User, layers);
}

export function mergeEnv(env: readonly string[], imageEnv: readonly string[]): string[] {
  const merged = new Map(env.map((entry) => split(entry)));
  for (const [key, value] of imageEnv.map(split)) {
    const current = merged.get(key);
    // The runtime's defaults give way to the image's; anything else in `env` came from -e.
    if (current === undefined || current === DEFAULT_ENV.get(key)) merged.set(key, value);
  }
  return [...merged].map(([key, value]) => `${key}=${value}`);
}

function split(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
}

/** `User` as docker reads it: uid, name, uid:gid, name:group; names from the image's own files. */
export function resolveUser(user: string, layers: readonly string[]): ContainerUser {
  const [userPart = '', groupPart] = user.split(':');
  // A name: its passwd line gives the uid, and the group when none is given (null: step 08 looks).
  let uid = Number(userPart);
  let primaryGroup: number | null = null;
  if (!NUMBER.test(userPart)) {
    const [, , id, gid = ''] = accountLine(layers, 'etc/passwd', userPart, user);
    uid = Number(id);
    if (NUMBER.test(gid)) primaryGroup = Number(gid);
  }
  if (groupPart === undefined) return { uid, gid: primaryGroup };
  const gid = NUMBER.test(groupPart) ? Number(groupPart) : Number(accountLine(layers, 'etc/group', groupPart, user)[2]);
  return { uid, gid };
}

const NUMBER = /^\d+$/;

/** The fields of `name`'s line in the image's /etc/passwd or /etc/group (one with a numeric id). */
function accountLine(layers: readonly string[], file: string, name: string, user: string): string[] {
  for (const line of imageFile(layers, file).split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && NUMBER.test(fields[2] ?? '')) return fields;
  }
  throw new RuntimeError(`the image's User "${user}": no "${name}" in its /${file}: run with --user uid[:gid]`);
}

/**
 * A file of the image as the container will see it (shownEntry: whiteouts, opaque directories and
 * roots honoured). Read on the host, as root, from files an image made: a symlink in them is the
 * image's, not the host's, so anything that resolves outside its layer (an absolute link,
 * `etc/passwd -> /etc/passwd`) is taken as absent, and only a regular file of reasonable size is
 * read (not /dev/zero, not a FIFO).
 */
function imageFile(layers: readonly string[], file: string): string {
  const shown = shownEntry(layers, file);
  if (!shown) return '';
  let real: string;
  try {
    real = realpathSync(shown.at);
  } catch {
    return '';
  }
  if (!real.startsWith(`${realpathSync(shown.layer)}/`)) return '';
  const target = statSync(real);
  return target.isFile() && target.size <= MAX_ACCOUNTS_FILE ? readFileSync(real, 'utf8') : '';
}

const MAX_ACCOUNTS_FILE = 1024 * 1024;
// #endregion image-config
