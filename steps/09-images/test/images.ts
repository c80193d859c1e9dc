/**
 * What step 09 promises: images pulled from a registry (OCI distribution API), their layers
 * composed by overlayfs with a writable layer of each container's own, their config honoured.
 * Judged against a real registry (Debian's docker-registry, started here) holding images made
 * here, through a proxy that counts requests and fails on purpose; inside the container by what
 * `cat`, `stat` and `ls` see.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  type BuiltImage,
  type BuiltIndex,
  baseLayer,
  buildImage,
  buildIndex,
  CONTRACT,
  cliUnderTest,
  closedPort,
  describeLeftovers,
  errorLineHint,
  hint,
  hostPlatform,
  hostState,
  type Layer,
  leftoversSince,
  listDir,
  REFERENCE,
  REPO,
  type Registry,
  type RunOptions,
  type RunResult,
  randomLayer,
  run,
  settledLeftovers,
  sleepIn,
  stageLayer,
  startContainer,
  startRegistry,
  task,
} from '@ctr/testkit';
import { quote } from 'shell-quote';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Containers without a network: the bridge costs time and is not what this step is about. */
const NET = ['--net', 'none'];

const hex = (digest: string): string => digest.replace(/^sha256:/, '');
const short = (digest: string): string => hex(digest).slice(0, 12);

/** The error line of a failed pull: its last line (progress lines of layers done may come before). */
function expectPullFailure(result: RunResult, naming: readonly string[]): void {
  expect(result.exitCode, hint('a pull that fails exits 125, as every runtime error')).toBe(125);
  const last = result.stderr.trim().split('\n').at(-1) ?? '';
  expect(errorLineHint(last, naming), `the error is the last line on stderr: "${last}"`).toBeNull();
}

/**
 * A layer of the named `members` of the tree `build` makes, and of no parent of theirs: shaped as
 * the OCI spec's own example layer (./etc/my-app.d/default.cfg alone). stageLayer packs `.` and
 * so always lists every parent; this packs as the kit's packLayer does otherwise.
 */
function parentlessLayer(members: string[], build: (dir: string) => void): Layer {
  const dir = mkdtempSync(join(tmpdir(), 'ctr-layer-'));
  try {
    build(dir);
    const tar = execFileSync('tar', ['--create', '--file=-', '--numeric-owner', `--directory=${dir}`, ...members]);
    const bytes = gzipSync(tar);
    const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
    return { digest: sha256(bytes), size: bytes.length, diffId: sha256(tar), bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** /tmp 1777 and /data/owned 0750 of 1234 below; above, a layer of /tmp/foo and /data/owned/file alone. */
function parentsLayers(): Layer[] {
  return [
    stageLayer((dir) => {
      mkdirSync(join(dir, 'tmp'));
      chmodSync(join(dir, 'tmp'), 0o1777);
      mkdirSync(join(dir, 'data/owned'), { recursive: true });
      chownSync(join(dir, 'data/owned'), 1234, 1234);
      chmodSync(join(dir, 'data/owned'), 0o750);
    }),
    parentlessLayer(['./tmp/foo', './data/owned/file'], (dir) => {
      mkdirSync(join(dir, 'tmp'));
      writeFileSync(join(dir, 'tmp/foo'), 'foo\n');
      mkdirSync(join(dir, 'data/owned'), { recursive: true });
      writeFileSync(join(dir, 'data/owned/file'), 'file\n');
    }),
  ];
}

/** A layer whose root is opaque (`./.wh..wh..opq`), holding busybox alone: nothing below shows. */
function opaqueRootLayer(): Layer {
  return stageLayer((dir) => {
    mkdirSync(join(dir, 'bin'));
    execFileSync('cp', [`${REPO}rootfs/bin/busybox`, join(dir, 'bin/busybox')]);
    writeFileSync(join(dir, '.wh..wh..opq'), '');
  });
}

interface TestImages {
  plain: BuiltImage;
  authed: BuiltImage;
  docker: BuiltImage;
  layered: BuiltImage;
  multi: BuiltIndex;
  elsewhere: BuiltIndex;
  hub: BuiltIndex;
  withEnv: BuiltImage;
  withWorkdir: BuiltImage;
  withUser: BuiltImage;
  configured: BuiltImage;
  entry: BuiltImage;
  corrupted: BuiltImage;
  truncated: BuiltImage;
  cut: BuiltImage;
  killed: BuiltImage;
  shareA: BuiltImage;
  shareB: BuiltImage;
  big: BuiltImage;
  noSize: BuiltImage;
  device: BuiltImage;
  recreated: BuiltImage;
  parents: BuiltImage;
  opaqueRoot: BuiltImage;
}

/** Content of the files the images carry, as the container must see them. */
const HELLO = 'hello from the image\n';
const KEPT = 'kept by the upper layer\n';
const AUTHED = 'pulled with a token\n';
const HUB = 'pulled as from Docker Hub\n';
const IMAGE_PATH = '/image/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CUT_BYTES = 4 * 1024 * 1024;
const KILLED_BYTES = 2 * 1024 * 1024;

/** The lower layer of the layered image: what the upper one deletes, hides, and what must stay as it was. */
function lowerLayer(): Layer {
  return stageLayer((dir) => {
    const data = join(dir, 'data');
    mkdirSync(join(data, 'gonedir/sub'), { recursive: true });
    mkdirSync(join(data, 'opaque/olddir'), { recursive: true });
    writeFileSync(join(data, 'gone.txt'), 'deleted by the upper layer\n');
    writeFileSync(join(data, 'gonedir/sub/file'), 'deleted with its directory\n');
    writeFileSync(join(data, 'opaque/old.txt'), 'hidden by the opaque upper directory\n');
    writeFileSync(join(data, 'kept.txt'), KEPT);
    writeFileSync(join(data, 'owned'), 'owned by 1234:5678\n');
    chownSync(join(data, 'owned'), 1234, 5678);
    chmodSync(join(data, 'owned'), 0o640);
    writeFileSync(join(data, 'suid'), '#!/bin/sh\n');
    chownSync(join(data, 'suid'), 1000, 1000);
    chmodSync(join(data, 'suid'), 0o4755); // after chown: chown clears the setuid bit
    symlinkSync('/data/kept.txt', join(data, 'abs'));
    symlinkSync('kept.txt', join(data, 'rel'));
    writeFileSync(join(data, 'hard1'), 'one inode, two names\n');
    linkSync(join(data, 'hard1'), join(data, 'hard2'));
  });
}

/** The upper layer: a whiteout for a file and for a directory, an opaque directory with one new file. */
function upperLayer(): Layer {
  return stageLayer((dir) => {
    const data = join(dir, 'data');
    mkdirSync(join(data, 'opaque'), { recursive: true });
    writeFileSync(join(data, '.wh.gone.txt'), '');
    writeFileSync(join(data, '.wh.gonedir'), '');
    writeFileSync(join(data, 'opaque/.wh..wh..opq'), '');
    writeFileSync(join(data, 'opaque/new.txt'), 'new in the upper layer\n');
  });
}

/**
 * A lower layer with data/redo/old.txt, and an upper one holding, in one layer, the whiteout
 * data/.wh.redo and a new data/redo/keep: OCI applies a whiteout to the layers below only, so
 * the directory is the upper one's (keep), not the lower's (old.txt) nor a whiteout device.
 */
function recreatedLayers(): Layer[] {
  return [
    stageLayer((dir) => {
      mkdirSync(join(dir, 'data/redo'), { recursive: true });
      writeFileSync(join(dir, 'data/redo/old.txt'), 'of the lower layer\n');
    }),
    stageLayer((dir) => {
      mkdirSync(join(dir, 'data/redo'), { recursive: true });
      writeFileSync(join(dir, 'data/.wh.redo'), '');
      writeFileSync(join(dir, 'data/redo/keep'), 'of the upper layer\n');
    }),
  ];
}

/**
 * The device an image ships in the tests: c 4 1, the host's first virtual console. Not /dev/null
 * (c 1 3): docker's and runc's default device rules allow that one everywhere, so a runtime like
 * docker would rightly open it. The probe opens it for reading and reads nothing.
 */
const PROBE_DEVICE = { name: 'console', major: '4', minor: '1' };
// In a subshell: a failed redirection on `:` (a special built-in) ends a POSIX shell.
const openProbe = (path: string): string => `if (: < ${path}) 2>/dev/null; then echo opened; else echo refused; fi`;

const marker = (path: string, text: string): Layer => stageLayer((dir) => writeFileSync(join(dir, path), text));

function buildTestImages(): TestImages {
  const base = baseLayer();
  const host = hostPlatform();
  const platformImage = (architecture: string): BuiltImage =>
    buildImage({
      layers: [base, marker('platform', `${architecture}\n`)],
      config: { Cmd: ['/bin/sh'] },
      platform: { os: 'linux', architecture },
    });
  const others = ['arm64', 's390x', 'ppc64le'].filter((arch) => arch !== host.architecture);
  const users = stageLayer((dir) => {
    mkdirSync(join(dir, 'etc'));
    writeFileSync(
      join(dir, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    );
    writeFileSync(join(dir, 'etc/group'), 'root:x:0:\napp:x:2345:\nnogroup:x:65534:\n');
    mkdirSync(join(dir, 'home/app'), { recursive: true });
    chownSync(join(dir, 'home/app'), 1234, 2345);
  });
  const withOwn = (name: string, layer: Layer): BuiltImage =>
    buildImage({ layers: [base, layer], config: { Cmd: ['/bin/cat', `/${name}`] } });
  return {
    plain: buildImage({
      layers: [base, marker('hello.txt', HELLO)],
      config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] },
    }),
    authed: buildImage({ layers: [base, marker('auth.txt', AUTHED)], config: { Cmd: ['/bin/sh'] } }),
    docker: buildImage({
      layers: [base, marker('format', 'docker v2\n')],
      format: 'docker',
      config: { Cmd: ['/bin/sh'] },
    }),
    layered: buildImage({ layers: [base, lowerLayer(), upperLayer()], config: { Cmd: ['/bin/sh'] } }),
    multi: buildIndex([platformImage(host.architecture), platformImage(others[0] as string)]),
    elsewhere: buildIndex([platformImage(others[0] as string), platformImage(others[1] as string)]),
    // Shaped as alpine on Docker Hub: an index of platforms and their attestations.
    hub: buildIndex([
      buildImage({ layers: [base, marker('hub.txt', HUB)], config: { Cmd: ['/bin/sh'] } }),
      platformImage(others[0] as string),
    ]),
    // One config field an image, so that one missing feature fails one test; then all at once.
    withEnv: buildImage({
      layers: [base],
      config: { Env: [`PATH=${IMAGE_PATH}`, 'GREETING=from-image', 'HOME=/home/app'], Cmd: ['/bin/sh'] },
    }),
    withWorkdir: buildImage({ layers: [base], config: { WorkingDir: '/work/dir', Cmd: ['/bin/sh'] } }),
    withUser: buildImage({ layers: [base, users], config: { User: 'app', Cmd: ['/bin/sh'] } }),
    configured: buildImage({
      layers: [base, users],
      config: {
        Env: [`PATH=${IMAGE_PATH}`, 'GREETING=from-image', 'HOME=/home/app'],
        Cmd: ['/bin/sh'],
        WorkingDir: '/work/dir',
        User: 'app',
      },
    }),
    entry: buildImage({ layers: [base], config: { Entrypoint: ['/bin/echo', 'entry'], Cmd: ['default'] } }),
    corrupted: withOwn('corrupted.bin', randomLayer('corrupted.bin', 256 * 1024)),
    truncated: withOwn('truncated.bin', randomLayer('truncated.bin', 256 * 1024)),
    cut: withOwn('big.bin', randomLayer('big.bin', CUT_BYTES)),
    killed: withOwn('big.bin', randomLayer('big.bin', KILLED_BYTES)),
    shareA: withOwn('a.txt', marker('a.txt', 'only in share-a\n')),
    shareB: withOwn('b.txt', marker('b.txt', 'only in share-b\n')),
    big: withOwn('big.bin', randomLayer('big.bin', CUT_BYTES)),
    noSize: withOwn('nosize.bin', randomLayer('nosize.bin', 64 * 1024)),
    device: buildImage({
      layers: [
        base,
        stageLayer((dir) => {
          mkdirSync(join(dir, 'probe'));
          execFileSync('mknod', [join(dir, 'probe', PROBE_DEVICE.name), 'c', PROBE_DEVICE.major, PROBE_DEVICE.minor]);
        }),
      ],
      config: { Cmd: ['/bin/sh'] },
    }),
    recreated: buildImage({ layers: [base, ...recreatedLayers()], config: { Cmd: ['/bin/sh'] } }),
    parents: buildImage({ layers: [base, ...parentsLayers()], config: { Cmd: ['/bin/sh'] } }),
    opaqueRoot: buildImage({ layers: [base, opaqueRootLayer()], config: { Cmd: ['/bin/busybox', 'sh'] } }),
  };
}

/** Repositories of the registry, and the image each tag holds. */
function repositories(images: TestImages): [string, BuiltImage | BuiltIndex][] {
  return [
    ['test/plain', images.plain],
    ['test/again', images.plain],
    ['test/autopull', images.plain],
    ['test/auth', images.authed],
    ['test/hub', images.hub],
    ['test/denied', images.authed],
    ['test/rmi', images.plain],
    ['test/busy', images.plain],
    ['test/writes', images.plain],
    ['test/docker', images.docker],
    ['test/layered', images.layered],
    ['test/multi', images.multi],
    ['test/elsewhere', images.elsewhere],
    ['test/env', images.withEnv],
    ['test/workdir', images.withWorkdir],
    ['test/user', images.withUser],
    ['test/config', images.configured],
    ['test/entry', images.entry],
    ['test/corrupted', images.corrupted],
    ['test/truncated', images.truncated],
    ['test/corrupt-store', images.corrupted],
    ['test/cut', images.cut],
    ['test/killed', images.killed],
    ['test/share-a', images.shareA],
    ['test/share-b', images.shareB],
    ['test/big', images.big],
    ['test/evil-digest', images.plain],
    ['test/no-size', images.noSize],
    ['test/device', images.device],
    ['test/recreated', images.recreated],
    ['test/parents', images.parents],
    ['test/opaque-root', images.opaqueRoot],
  ];
}

export function imageProperties(step: string): void {
  describe(`step ${step}: images from a registry`, CONTRACT, () => {
    let registry: Registry;
    let images: TestImages;
    // The store of this suite's runtime (CTR_STORE_DIR), removed at the end; another
    // implementation keeps its own where it likes and ignores the variable. Set when grading too:
    // pnpm check and exercises:verify grade this repository's code (a student's), whose default
    // store /var/lib/ctr would otherwise be made, and left empty, by every check.
    let store = '';
    const env: NodeJS.ProcessEnv = { ...process.env };

    beforeAll(async () => {
      store = mkdtempSync(join(tmpdir(), 'ctr-09-store-'));
      env.CTR_STORE_DIR = store;
      registry = await startRegistry();
      images = buildTestImages();
      for (const [repository, image] of repositories(images)) await registry.push(repository, 'v1', image);
    });
    afterAll(async () => {
      // What the suite pulled goes, in grading mode too: the runtime's own store keeps no image
      // of a registry that is about to vanish.
      if (registry) {
        const ours = (await listing())
          .filter(([repository, tag]) => repository?.startsWith(`${registry.address}/`) && tag !== '<none>')
          .map(([repository, tag]) => `${repository}:${tag}`);
        if (ours.length > 0) expect(await ctr('rmi', ours)).toExit(0);
      }
      await registry?.stop();
      if (store) rmSync(store, { recursive: true, force: true });
    });

    const name = (repository: string): string => `${registry.address}/${repository}:v1`;
    const ctr = (subcommand: string, args: string[], options: RunOptions = {}): Promise<RunResult> =>
      run(step, args, { env, subcommand, ...options });
    const pull = (repository: string): Promise<RunResult> => ctr('pull', [name(repository)]);
    const startImage = (repository: string, command: string[], flags: string[] = []): Promise<RunResult> =>
      run(step, [...NET, ...flags, '--image', name(repository), ...command], { env });
    /** The rows of `images` as [REPOSITORY, TAG, IMAGE ID, SIZE...]. */
    const listing = async (): Promise<string[][]> => {
      const result = await ctr('images', []);
      expect(result).toExit(0);
      const [header, ...rows] = result.stdout.trim().split('\n');
      expect(header, hint('`images` starts with a header line, as docker: REPOSITORY TAG IMAGE ID SIZE')).toMatch(
        /REPOSITORY\s+TAG\s+IMAGE ID\s+.*SIZE/,
      );
      return rows.map((row) => row.trim().split(/\s+/));
    };
    const listed = async (repository: string): Promise<string[] | undefined> =>
      (await listing()).find(([repo, tag]) => repo === `${registry.address}/${repository}` && tag === 'v1');
    const ensurePulled = async (repository: string): Promise<void> => {
      expect(await pull(repository)).toExit(0);
    };

    describe('pull, images, start --image', () => {
      it('pulls an image: exit 0, its full name alone on stdout, and `images` lists it', task('09.1'), async () => {
        const result = await pull('test/plain');
        expect(result).toExit(0, { stdout: `${name('test/plain')}\n` });
        const row = await listed('test/plain');
        expect(row, hint('`images` lists every stored image: REPOSITORY is the name without its tag')).toBeDefined();
        expect(
          row?.[2],
          hint("IMAGE ID is docker's: the first 12 hex digits of the config's digest (not the manifest's)"),
        ).toBe(short(images.plain.configDigest));
      });

      it('fetches no layer blob again on a second pull of a stored image, nor its config', async () => {
        await ensurePulled('test/again');
        registry.proxy.reset();
        expect(await pull('test/again')).toExit(0, { stdout: `${name('test/again')}\n` });
        const fetched = images.plain.layers.filter((layer) => registry.proxy.blobGets(layer.digest) > 0);
        expect(
          fetched.map((layer) => layer.digest),
          hint('layers are kept by digest: a pull asks for the manifest, sees it has every layer, and fetches none'),
        ).toEqual([]);
        expect(
          registry.proxy.blobGets(images.plain.configDigest),
          hint('the config blob is kept by digest too, checked when it was stored: not fetched again'),
        ).toBe(0);
      });

      it(
        'draws a progress bar per layer on a terminal, and writes one line per layer otherwise',
        REFERENCE,
        async () => {
          const fresh = (): string => mkdtempSync(join(tmpdir(), 'ctr-09-progress-'));
          const stores = [fresh(), fresh()];
          try {
            // Under script(1), the CLI's stderr is a terminal. Spawned, not spawnSync: the proxy
            // answering the pull runs in this process.
            const { argv, cwd } = cliUnderTest(step, { reference: true });
            const script = spawn('script', ['-qec', quote([...argv, 'pull', name('test/again')]), '/dev/null'], {
              cwd,
              env: { ...env, CTR_STORE_DIR: stores[0] },
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            let screen = '';
            script.stdout.setEncoding('utf8').on('data', (chunk: string) => {
              screen += chunk;
            });
            const status = await new Promise<number | null>((resolve) => script.on('close', resolve));
            expect(status, screen).toBe(0);
            for (const layer of images.plain.layers) {
              // cli-progress's shades_classic bar, full once the layer is unpacked.
              expect(screen, `a bar of layer ${layer.digest}, drawn to 100%`).toMatch(
                new RegExp(`${layer.digest.slice(0, 19)} \\[\u2588+\\] 100% .* done`),
              );
            }
            expect(screen, 'no plain line on a terminal').not.toContain('ctr: layer ');

            const piped = await ctr('pull', [name('test/again')], {
              env: { ...env, CTR_STORE_DIR: stores[1] },
              reference: true,
            });
            expect(piped).toExit(0);
            const lines = piped.stderr.split('\n').filter((line) => line.startsWith('ctr: layer '));
            expect(lines, 'one line per layer when stderr is not a terminal').toHaveLength(images.plain.layers.length);
          } finally {
            for (const store of stores) rmSync(store, { recursive: true, force: true });
          }
        },
      );

      it('runs a command on the image: it sees the image files', task('09.3'), async () => {
        await ensurePulled('test/plain');
        expect(await startImage('test/plain', ['cat', '/hello.txt'])).toExit(0, { stdout: HELLO });
      });

      it('pulls the image on start --image when it is not stored, as docker run does', async () => {
        const result = await startImage('test/autopull', ['cat', '/hello.txt']);
        expect(result).toExit(0, { stdout: HELLO });
        expect(await listed('test/autopull'), hint('the image start pulled stays stored')).toBeDefined();
      });

      it('pulls an image in Docker v2 media types as well as OCI', async () => {
        expect(await pull('test/docker')).toExit(0, { stdout: `${name('test/docker')}\n` });
        expect(
          await startImage('test/docker', ['cat', '/format']),
          hint(
            'ask for application/vnd.docker.distribution.manifest.v2+json in Accept too: without it the registry converts the manifest to schema 1',
          ),
        ).toExit(0, { stdout: 'docker v2\n' });
      });

      it('chooses the manifest of this machine from an index with two platforms', async () => {
        const result = await startImage('test/multi', ['cat', '/platform']);
        expect(
          result,
          hint(
            `an index lists one manifest per platform: pick os linux, architecture ${hostPlatform().architecture} (GOARCH words: Node's x64 is amd64); its attestation entries (unknown/unknown, listed first here as Docker Hub may) are not images`,
          ),
        ).toExit(0, { stdout: `${hostPlatform().architecture}\n` });
      });
    });

    describe('layers: whiteouts, opaque directories, owners, modes, links', () => {
      // Paths are tested inside: what overlayfs shows once every layer is unpacked and stacked.
      const script = [
        'cd /data',
        'for f in gone.txt gonedir gonedir/sub/file opaque/old.txt opaque/olddir; do [ -e "$f" ] && echo "still there: $f"; done',
        'echo "kept: $(cat kept.txt)"',
        'echo "opaque: $(ls -A opaque | tr "\\n" " ")"',
        'stat -c "%n %u:%g %a" owned suid kept.txt',
        'echo "abs -> $(readlink abs): $(cat abs)"',
        'echo "rel -> $(readlink rel)"',
        '[ "$(stat -c %i hard1)" = "$(stat -c %i hard2)" ] && echo "hard1 and hard2: one inode, $(stat -c %h hard1) links"',
      ].join('\n');
      // Run in each test, not once in a hook: a hook's failure is no test's, and a test's failure
      // shows the runs of that test (the CLI's stderr: "task 09.4 is not done yet" in exercises).
      const seenInside = async (): Promise<string[]> => {
        const layered = await startImage('test/layered', ['/bin/sh', '-c', script]);
        expect(layered).toExit(0);
        return layered.stdout.trim().split('\n');
      };

      it(
        'removes what a whiteout of the upper layer deletes: a file, and a directory with its contents',
        task('09.4'),
        async () => {
          const seen = await seenInside();
          expect(
            seen.filter((line) => line.startsWith('still there: gone')),
            hint(
              '`.wh.NAME` in a layer deletes NAME of the layers below: for overlayfs it becomes a character device 0/0 named NAME in the layer directory, and the .wh. file itself goes',
            ),
          ).toEqual([]);
          expect(seen, hint('a whiteout deletes its own name only: the rest of the lower layer shows')).toContain(
            `kept: ${KEPT.trim()}`,
          );
        },
      );

      it('applies a whiteout to the layers below only, not to a directory of the same name in its own layer', async () => {
        expect(
          await startImage('test/recreated', ['ls', '-A', '/data/redo']),
          hint(
            "OCI: a whiteout hides the lower layers' NAME; a NAME in the whiteout's own layer stays (unpack it over the device, or skip the device when the layer has NAME)",
          ),
        ).toExit(0, { stdout: 'keep\n' });
      });

      it("keeps the lower layers' owner and mode on a directory a layer does not list (its /tmp/foo alone)", async () => {
        expect(
          await startImage('test/parents', ['stat', '-c', '%n %a %u', '/tmp', '/data/owned']),
          hint(
            "tar makes a parent the layer leaves out 0755 root, and overlayfs shows the top-most layer's: give it the attributes it has in the layers below, as containerd does",
          ),
        ).toExit(0, { stdout: '/tmp 1777 0\n/data/owned 750 1234\n' });
      });

      it('shows nothing of the layers below a layer whose root is opaque', async () => {
        expect(
          await startImage('test/opaque-root', [
            '/bin/busybox',
            'sh',
            '-c',
            'for f in /linuxrc /sbin /home /bin/sh; do [ -e "$f" ] && echo "still there: $f"; done; /bin/busybox ls -A /bin',
          ]),
          hint(
            "overlayfs ignores trusted.overlay.opaque on a lower layer's root: leave the layers below it out of lowerdir",
          ),
        ).toExit(0, { stdout: 'busybox\n' });
      });

      it('shows an opaque directory with only the upper layer files', task('09.4'), async () => {
        const seen = await seenInside();
        expect(
          seen,
          hint(
            '`.wh..wh..opq` makes its directory opaque: for overlayfs, the xattr trusted.overlay.opaque=y on the directory in the layer, and the marker file removed',
          ),
        ).toContain('opaque: new.txt ');
      });

      it('keeps owners and modes, setuid included, as the layer has them', async () => {
        const seen = await seenInside();
        expect(
          seen,
          hint(
            'unpack with the numeric owners of the tar (GNU tar: --numeric-owner --same-owner) and its modes (--same-permissions)',
          ),
        ).toEqual(expect.arrayContaining(['owned 1234:5678 640', 'suid 1000:1000 4755', 'kept.txt 0:0 644']));
      });

      it('keeps symlinks (an absolute target resolves inside the container) and hard links (one inode)', async () => {
        const seen = await seenInside();
        expect(
          seen,
          hint('a symlink is stored as it is: its absolute target is the container root, never the host'),
        ).toContain(`abs -> /data/kept.txt: ${KEPT.trim()}`);
        expect(seen).toContain('rel -> kept.txt');
        expect(
          seen,
          hint('a hard link in a tar is a link to an earlier member: extract it as a link, not as a copy'),
        ).toContain('hard1 and hard2: one inode, 2 links');
      });
    });

    describe('registries that ask for a token, refuse, fail or send bad bytes', () => {
      it("fetches Docker Hub's anonymous bearer token when the registry asks for it", task('09.1'), async () => {
        registry.proxy.behave({ auth: 'bearer' });
        try {
          const result = await pull('test/auth');
          expect(
            result,
            hint(
              'a 401 with WWW-Authenticate: Bearer realm=...,service=...,scope=... means: GET realm?service=...&scope=..., then repeat the request with Authorization: Bearer <token>',
            ),
          ).toExit(0, { stdout: `${name('test/auth')}\n` });
          const tokens = registry.proxy.requests.filter((request) => request.kind === 'token');
          expect(tokens.length, hint('the token comes from the realm the 401 names')).toBeGreaterThan(0);
          expect(
            tokens.some((request) => decodeURIComponent(request.path).includes('scope=repository:test/auth:pull')),
            hint('the token request carries the scope the 401 named (repository:NAME:pull)'),
          ).toBe(true);
          expect(registry.proxy.blobGets(), hint('blobs are fetched with the token too')).toBeGreaterThan(0);
        } finally {
          registry.proxy.reset();
        }
        expect(await startImage('test/auth', ['cat', '/auth.txt'])).toExit(0, { stdout: AUTHED });
      });

      it(
        'pulls as from Docker Hub: the token from another origin, each blob through a 307 to a CDN that refuses Authorization',
        task('09.1'),
        async () => {
          const registryOrigin = `http://${registry.address}`;
          registry.proxy.behave({ dockerHub: true });
          try {
            const result = await pull('test/hub');
            const requests = registry.proxy.requests;
            const cdnWithAuthorization = requests.filter((r) => r.kind === 'cdn' && r.withAuthorization);
            expect(
              result,
              hint(
                cdnWithAuthorization.length > 0
                  ? 'a blob GET is answered 307 to a CDN on another origin, which refuses a request that also carries Authorization (S3\'s 400 "Only one auth mechanism allowed"): follow the redirect without the token (fetch drops it across origins; a manual redirect must not copy it)'
                  : "Docker Hub's token realm (auth.docker.io) is not the registry's origin: ask the realm the 401 names; and follow a blob's 307 to its CDN",
              ),
            ).toExit(0, { stdout: `${name('test/hub')}\n` });
            const tokens = requests.filter((r) => r.kind === 'token');
            expect(tokens.length, hint('the token comes from the realm the 401 names')).toBeGreaterThan(0);
            expect(
              tokens.filter((r) => r.origin === registryOrigin).map((r) => r.path),
              hint(
                "the realm is on another origin than the registry (Docker Hub's is auth.docker.io): ask it, not the registry",
              ),
            ).toEqual([]);
            expect(
              cdnWithAuthorization.map((r) => r.path.split('?')[0]),
              hint("the registry's token goes to the registry only, never to the CDN the 307 names"),
            ).toEqual([]);
            const layer = images.hub.images[0]?.layers.at(-1) as Layer;
            expect(
              requests.some(
                (r) => r.kind === 'cdn' && r.method === 'GET' && r.authorized && r.reference === layer.digest,
              ),
              hint('the layer comes from the CDN the registry redirects to'),
            ).toBe(true);
          } finally {
            registry.proxy.reset();
          }
          expect(await startImage('test/hub', ['cat', '/hub.txt'])).toExit(0, { stdout: HUB });
        },
      );

      it('exits 125 with one line when the registry refuses every token', task('09.1'), async () => {
        registry.proxy.behave({ auth: 'refuse' });
        try {
          expect(
            await pull('test/denied'),
            hint('a 401 after a token was fetched is a refusal: say so once, do not loop'),
          ).toFailCleanly({ naming: ['test/denied', '401', 'denied', 'unauthorized'] });
        } finally {
          registry.proxy.reset();
        }
        expect(await listed('test/denied')).toBeUndefined();
      });

      it('exits 125 with one line when the registry answers 500', async () => {
        registry.proxy.behave({ status: 500 });
        try {
          expect(await pull('test/not-stored')).toFailCleanly({ naming: ['500'] });
        } finally {
          registry.proxy.reset();
        }
      });

      /** Pulls `repository` while the registry answers its v1 with a manifest `change` made of a real one. */
      const pullCrafted = async (
        repository: string,
        image: BuiltImage,
        change: (manifest: { layers: { digest: string; size?: number }[] }) => void,
      ): Promise<RunResult> => {
        const manifest = JSON.parse(image.manifest.toString('utf8'));
        change(manifest);
        const body = Buffer.from(JSON.stringify(manifest));
        registry.proxy.behave({ manifest: { name: repository, reference: 'v1', mediaType: image.mediaType, body } });
        try {
          return await pull(repository);
        } finally {
          registry.proxy.reset();
        }
      };

      it('refuses a manifest whose layer digest is a path: 125, one line, nothing stored', async () => {
        const result = await pullCrafted('test/evil-digest', images.plain, (manifest) => {
          (manifest.layers.at(-1) as { digest: string }).digest = 'sha256:../../../../etc';
        });
        expect(
          result,
          hint(
            'a digest becomes a path in the store: check every digest of a manifest (sha256: and 64 lowercase hex) before using it',
          ),
        ).toFailCleanly({ naming: ['sha256:../../../../etc'] });
        expect(await listed('test/evil-digest')).toBeUndefined();
      });

      it('refuses a manifest with a layer descriptor that has no size: 125, one line, nothing stored', async () => {
        const layer = images.noSize.layers.at(-1) as Layer;
        const result = await pullCrafted('test/no-size', images.noSize, (manifest) => {
          delete (manifest.layers.at(-1) as { size?: number }).size;
        });
        expect(
          result,
          hint('a descriptor without size would stream as long as the registry sends: OCI requires size, refuse it'),
        ).toFailCleanly({ naming: [short(layer.digest), 'size'] });
        expect(await listed('test/no-size')).toBeUndefined();
      });

      it.each(['corrupted', 'truncated'] as const)(
        'refuses a %s blob: 125 naming its digest, nothing stored; the pull succeeds once the blob is fixed',
        task('09.2'),
        async (damage) => {
          const repository = `test/${damage}`;
          const layer = images[damage].layers.at(-1) as Layer;
          const restore = (damage === 'corrupted' ? registry.corruptBlob : registry.truncateBlob)(layer.digest);
          try {
            const result = await pull(repository);
            expectPullFailure(result, [short(layer.digest)]);
            expect(
              await listed(repository),
              hint(
                'a registry sends a damaged blob with 200 and its digest: hash every blob while it streams, check digest and size before keeping it',
              ),
            ).toBeUndefined();
          } finally {
            restore();
          }
          expect(await pull(repository)).toExit(0, { stdout: `${name(repository)}\n` });
          expect(await startImage(repository, ['/bin/sh', '-c', `wc -c < /${damage}.bin`])).toExit(0, {
            stdout: /^\s*262144\n$/,
          });
        },
      );

      it('completes a pull whose connection was cut half-way, on the next pull', task('09.2'), async () => {
        const layer = images.cut.layers.at(-1) as Layer;
        registry.proxy.behave({ cut: { digest: layer.digest, afterBytes: Math.floor(layer.size / 2) } });
        try {
          expectPullFailure(await pull('test/cut'), []);
        } finally {
          registry.proxy.reset();
        }
        expect(await listed('test/cut'), hint('half a blob is no blob: nothing of it is kept')).toBeUndefined();
        expect(await pull('test/cut'), hint('what an interrupted pull left must not stop the next one')).toExit(0);
        expect(await startImage('test/cut', ['/bin/sh', '-c', 'wc -c < /big.bin'])).toExit(0, {
          stdout: new RegExp(`^\\s*${CUT_BYTES}\\n$`),
        });
      });

      it(
        'completes a pull on the next try after the CLI was SIGKILLed while a blob streamed',
        task('09.2'),
        async () => {
          const layer = images.killed.layers.at(-1) as Layer;
          registry.proxy.behave({ throttle: { digest: layer.digest, bytesPerSecond: 512 * 1024 } });
          try {
            const killed = startContainer(step, [name('test/killed')], { env, subcommand: 'pull' });
            const deadline = Date.now() + 20_000;
            // Until a quarter has streamed, or the pull has ended (a failure, told by the next lines).
            while (
              registry.proxy.sentBytes(layer.digest) < layer.size / 4 &&
              killed.runtime.exitCode === null &&
              killed.runtime.signalCode === null &&
              Date.now() < deadline
            ) {
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
            expect(registry.proxy.sentBytes(layer.digest), 'the blob started streaming').toBeGreaterThan(0);
            // Its whole process group (the CLI runs in a session of its own): behind an adapter the
            // CLI may be a script whose child (skopeo...) does the fetching.
            process.kill(-(killed.runtime.pid as number), 'SIGKILL');
            expect((await killed.result).exitCode).toBe(137);
          } finally {
            registry.proxy.reset();
          }
          expect(
            await pull('test/killed'),
            hint('a killed pull leaves a temporary file no one finishes: never take it for the blob; remove it'),
          ).toExit(0);
          expect(await startImage('test/killed', ['/bin/sh', '-c', 'wc -c < /big.bin'])).toExit(0, {
            stdout: new RegExp(`^\\s*${KILLED_BYTES}\\n$`),
          });
        },
      );

      it('after a corrupted pull, the store keeps no temporary file and no layer of it', {
        ...REFERENCE,
        ...task('09.2'),
      }, async () => {
        const layer = images.corrupted.layers.at(-1) as Layer;
        // test/corrupt-store holds the same image as test/corrupted: drop what the earlier test stored.
        await ctr('rmi', [name('test/corrupted')]);
        const restore = registry.corruptBlob(layer.digest);
        try {
          expectPullFailure(await pull('test/corrupt-store'), [short(layer.digest)]);
        } finally {
          restore();
        }
        expect(listDir(join(store, 'tmp')), hint('the temporary file of a refused blob is removed')).toEqual([]);
        expect(listDir(join(store, 'layers/sha256'))).not.toContain(hex(layer.digest));
      });
    });

    describe('bad input: 125 and one line', () => {
      it.each([
        ['a name with upper case', 'Test/Upper:v1'],
        ['a name with a space', 'test image'],
        ['an empty tag', 'test/x:'],
        ['a malformed digest', 'test/x@sha256:xyz'],
      ])('refuses %s: %j', async (_what, text) => {
        expect(await ctr('pull', [text])).toFailCleanly({ naming: [text] });
      });

      it('refuses a registry that is down, naming it', async () => {
        const address = `127.0.0.1:${await closedPort()}`;
        expect(await ctr('pull', [`${address}/test/x:v1`])).toFailCleanly({ naming: [address] });
      });

      it('refuses an image the registry does not have (404), naming it', async () => {
        expect(await pull('test/no-such-image')).toFailCleanly({ naming: ['test/no-such-image'] });
      });

      it('refuses an index with no manifest for this platform, naming the platform', async () => {
        expect(await pull('test/elsewhere')).toFailCleanly({ naming: [hostPlatform().architecture] });
        expect(await listed('test/elsewhere')).toBeUndefined();
      });

      it('refuses start --image with --rootfs', async () => {
        expect(
          await run(step, [...NET, '--image', name('test/plain'), '--rootfs', tmpdir(), '/bin/true'], { env }),
        ).toFailCleanly({
          naming: ['--image', '--rootfs'],
        });
      });

      it('refuses start --image of an image that cannot be pulled', async () => {
        // Its progress notes (pulling...) may come first: the error is the last line.
        expectPullFailure(await startImage('test/no-such-image', ['/bin/true']), ['test/no-such-image']);
      });

      it('refuses rmi of an image that is not stored', async () => {
        expect(await ctr('rmi', [name('test/never-pulled')])).toFailCleanly({ naming: ['test/never-pulled'] });
      });
    });

    describe("the image's config", () => {
      const variables = (result: RunResult): Record<string, string> =>
        Object.fromEntries(
          result.stdout
            .trim()
            .split('\n')
            .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
        );

      it("sets the image's Env: its PATH and HOME replace the defaults, -e wins over both", async () => {
        const seen = variables(await startImage('test/env', ['env']));
        expect(seen.GREETING, hint("the config's Env is the container's environment")).toBe('from-image');
        expect(seen.PATH, hint("the image's PATH replaces the runtime's default one")).toBe(IMAGE_PATH);
        expect(seen.HOME).toBe('/home/app');
        const overridden = variables(
          await startImage('test/env', ['env'], ['-e', 'GREETING=from-cli', '-e', 'PATH=/bin:/usr/bin']),
        );
        expect(overridden.GREETING, hint('-e sets a variable over the image value, as docker run -e')).toBe('from-cli');
        expect(overridden.PATH, hint("-e PATH wins over the image's PATH too")).toBe('/bin:/usr/bin');
      });

      it('runs Entrypoint with Cmd; a command given replaces Cmd and keeps Entrypoint', async () => {
        expect(await startImage('test/entry', []), hint('without a command: Entrypoint followed by Cmd')).toExit(0, {
          stdout: 'entry default\n',
        });
        expect(await startImage('test/entry', ['given']), hint('a command replaces Cmd only')).toExit(0, {
          stdout: 'entry given\n',
        });
      });

      it('starts in WorkingDir, made if the image lacks it', async () => {
        expect(await startImage('test/workdir', ['pwd'])).toExit(0, { stdout: '/work/dir\n' });
      });

      it("makes the image's WorkingDir for its User too, who may not write where it goes", async () => {
        expect(
          await startImage('test/config', ['/bin/sh', '-c', 'pwd; id -u; echo "$GREETING"']),
          hint('docker makes WorkingDir as root before it switches to the image user (a user may not write in /)'),
        ).toExit(0, { stdout: '/work/dir\n1234\nfrom-image\n' });
      });

      it("runs as the image's User, a name from its /etc/passwd; --user wins", async () => {
        expect(
          await startImage('test/user', ['/bin/sh', '-c', 'id -u; id -g']),
          hint("User is a name or uid[:gid]: look the name up in the image's /etc/passwd (its uid and group)"),
        ).toExit(0, { stdout: '1234\n2345\n' });
        expect(await startImage('test/user', ['/bin/sh', '-c', 'id -u; id -g'], ['--user', '0'])).toExit(0, {
          stdout: '0\n0\n',
        });
      });
    });

    describe('a writable layer of its own for each container', () => {
      it("keeps two containers of one image apart, and a container's writes from the next", task('09.3'), async () => {
        await ensurePulled('test/writes');
        const first = startContainer(
          step,
          [
            ...NET,
            '--image',
            name('test/writes'),
            '/bin/sh',
            '-c',
            'echo first > /tmp/from-first; echo changed >> /hello.txt; exec sleep 3901',
          ],
          { env },
        );
        const sleep = await sleepIn(first, 3901);
        const second = await startImage('test/writes', [
          '/bin/sh',
          '-c',
          'ls /tmp/from-first 2>/dev/null; cat /hello.txt; echo second > /tmp/from-second',
        ]);
        process.kill(sleep, 'SIGKILL');
        await first.result;
        expect(second, hint("each container's upper directory is its own: two overlays, one lower set")).toExit(0, {
          stdout: HELLO,
        });
        expect(
          await startImage('test/writes', [
            '/bin/sh',
            '-c',
            'ls /tmp/from-first /tmp/from-second 2>/dev/null; cat /hello.txt',
          ]),
          hint("a container's upper directory goes with it: writes never reach the image's layers"),
        ).toExit(0, { stdout: HELLO });
      });

      it(
        'leaves a --rootfs directory as it was: the container writes into an upper layer of its own',
        task('09.3'),
        async () => {
          const rootfs = mkdtempSync(join(tmpdir(), 'ctr-09-rootfs-'));
          try {
            execFileSync('cp', ['-a', `${REPO}rootfs/.`, rootfs]);
            const result = await run(
              step,
              [...NET, '--rootfs', rootfs, '/bin/sh', '-c', 'touch /x && echo written > /etc/x && echo ok'],
              {
                env,
              },
            );
            expect(result).toExit(0, { stdout: 'ok\n' });
            expect(
              [existsSync(join(rootfs, 'x')), existsSync(join(rootfs, 'etc/x'))],
              hint(
                '--rootfs is the read-only lower layer of an overlay: what the container writes goes to its upper directory',
              ),
            ).toEqual([false, false]);
          } finally {
            rmSync(rootfs, { recursive: true, force: true });
          }
        },
      );

      it("leaves the default rootfs (the repository's rootfs/) as it was", task('09.3'), async () => {
        const probe = `${REPO}rootfs/ctr-09-written-${process.pid}`;
        try {
          expect(
            await run(step, [...NET, '/bin/sh', '-c', `touch /${probe.split('/').at(-1)} && echo ok`], { env }),
          ).toExit(0, {
            stdout: 'ok\n',
          });
          expect(
            existsSync(probe),
            hint('the default rootfs is a lower layer too: no container writes into the shared rootfs/ any more'),
          ).toBe(false);
        } finally {
          rmSync(probe, { force: true });
        }
      });

      it(
        'leaves no mount or process on the host after containers of an image end, or are killed',
        task('09.3'),
        async () => {
          await ensurePulled('test/plain');
          expect(await startImage('test/plain', ['/bin/true'])).toExit(0);
          const before = hostState();
          expect(await startImage('test/plain', ['/bin/sh', '-c', 'echo x > /tmp/x'])).toExit(0);
          const container = startContainer(step, [...NET, '--image', name('test/plain'), 'sleep', '3902'], { env });
          process.kill(await sleepIn(container, 3902), 'SIGKILL');
          await container.result;
          expect(await startImage('test/plain', ['/no/such/program'])).toExit(127);
          expect(
            describeLeftovers(await settledLeftovers(before)),
            hint('the overlay, its upper and work directories and every layer mount go with the container'),
          ).toBe('');
        },
      );

      it('keeps a device node an image ships from being opened in the container', async () => {
        // The probe first, where nothing stops it: the same node, made here, opens and takes a write.
        const scratch = mkdtempSync(join(tmpdir(), 'ctr-09-device-'));
        try {
          const node = join(scratch, PROBE_DEVICE.name);
          execFileSync('mknod', [node, 'c', PROBE_DEVICE.major, PROBE_DEVICE.minor]);
          expect(
            execFileSync('/bin/sh', ['-c', openProbe(node)], { encoding: 'utf8' }),
            `the probe must open a c ${PROBE_DEVICE.major} ${PROBE_DEVICE.minor} node where no rule stops it (${scratch} on a nodev mount? a kernel without virtual consoles?)`,
          ).toBe('opened\n');
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
        expect(
          await startImage('test/device', ['/bin/sh', '-c', openProbe(`/probe/${PROBE_DEVICE.name}`)]),
          hint(
            'a device node in an image opens the host device: mount the overlay nodev (docker and runc deny it by the devices cgroup), or drop the node when unpacking',
          ),
        ).toExit(0, { stdout: 'refused\n' });
      });

      it('keeps only the image layers in the store after its containers end', REFERENCE, async () => {
        await ensurePulled('test/plain');
        const before = listTree(store);
        const container = startContainer(
          step,
          [...NET, '--image', name('test/plain'), '/bin/sh', '-c', 'echo x > /tmp/x; exec sleep 3903'],
          {
            env,
          },
        );
        const sleep = await sleepIn(container, 3903);
        expect(await startImage('test/plain', ['/bin/sh', '-c', 'echo y > /tmp/y'])).toExit(0);
        process.kill(sleep, 'SIGKILL');
        await container.result;
        expect(
          listTree(store),
          hint('upper and work directories live in the container state, not in the store'),
        ).toEqual(before);
        // A layer is stored by its blob's digest, or by its chain id when it leaves out a parent
        // directory (its unpacked form then depends on the layers below: test/parents).
        const chainIds = (digests: string[]): string[] =>
          digests.map((_, at) =>
            digests
              .slice(1, at + 1)
              .reduce(
                (below, digest) => `sha256:${createHash('sha256').update(`${below} ${digest}`).digest('hex')}`,
                digests[0] as string,
              ),
          );
        const known = new Set(
          Object.values(images).flatMap((image: BuiltImage | BuiltIndex) =>
            ('index' in image ? image.images : [image]).flatMap((one) => {
              const digests = one.layers.map((layer) => layer.digest);
              return [...digests, ...chainIds(digests)].map(hex);
            }),
          ),
        );
        expect(listDir(join(store, 'layers/sha256')).filter((entry) => !known.has(entry))).toEqual([]);
      });
    });

    describe('rmi', () => {
      it('removes an image: `images` no longer lists it', async () => {
        await ensurePulled('test/rmi');
        const result = await ctr('rmi', [name('test/rmi')]);
        expect(result).toExit(0);
        expect(
          result.stdout.split('\n'),
          hint('rmi says what it removed on stdout, as docker: `Untagged: NAME` per image'),
        ).toContain(`Untagged: ${name('test/rmi')}`);
        expect(await listed('test/rmi')).toBeUndefined();
      });

      it('refuses to remove an image a running container uses: 125, one line, the image still listed', async () => {
        await ensurePulled('test/busy');
        const container = startContainer(step, [...NET, '--image', name('test/busy'), 'sleep', '3904'], { env });
        const sleep = await sleepIn(container, 3904);
        try {
          expect(
            await ctr('rmi', [name('test/busy')]),
            hint("a running container's overlay stands on the image layers: removing them breaks it"),
          ).toFailCleanly({ naming: ['test/busy'] });
          expect(await listed('test/busy')).toBeDefined();
        } finally {
          process.kill(sleep, 'SIGKILL');
          await container.result;
        }
        expect(await ctr('rmi', [name('test/busy')]), hint('once the container ended, rmi works')).toExit(0);
      });

      it('deletes the layers no other image uses and keeps the shared ones', REFERENCE, async () => {
        await ensurePulled('test/share-a');
        await ensurePulled('test/share-b');
        const [base, onlyA] = images.shareA.layers.map((layer) => hex(layer.digest)) as [string, string];
        const onlyB = hex((images.shareB.layers.at(-1) as Layer).digest);
        expect(await ctr('rmi', [name('test/share-a')])).toExit(0);
        const left = listDir(join(store, 'layers/sha256'));
        expect(left, hint('a layer no stored image lists is removed')).not.toContain(onlyA);
        expect(left, hint('a layer another image still uses stays')).toEqual(expect.arrayContaining([base, onlyB]));
      });
    });

    describe('what a killed runtime or a full disk leaves', () => {
      it(
        'is removed by `pnpm clean`: the overlay mounts and upper directories of a SIGKILLed runtime',
        REFERENCE,
        async () => {
          await ensurePulled('test/plain');
          const state = mkdtempSync(join(tmpdir(), 'ctr-09-state-'));
          chmodSync(state, 0o755); // as /run/ctr: root in the container is an unprivileged host uid
          const killedEnv = { ...env, CTR_STATE_DIR: state };
          const before = hostState();
          try {
            const container = startContainer(
              step,
              [...NET, '--image', name('test/plain'), '/bin/sh', '-c', 'echo x > /tmp/x; echo ready; exec sleep 3905'],
              { env: killedEnv },
            );
            await container.waitForOutput('ready');
            container.runtime.kill('SIGKILL'); // no clean-up runs; the container dies with it (PDEATHSIG)
            await container.result;
            const left = leftoversSince(before).mounts;
            expect(
              left.some((mount) => mount.includes(' overlay ')),
              'a killed runtime leaves its overlay',
            ).toBe(true);
            execFileSync('pnpm', ['--silent', 'clean'], { cwd: REPO, env: killedEnv, stdio: 'ignore' });
            expect(
              leftoversSince(before).mounts,
              hint('pnpm clean finds the overlay in CTR_STATE_DIR and unmounts it'),
            ).toEqual([]);
            expect(
              listDir(join(state, 'containers')),
              hint('and removes the container directory, upper and work in it'),
            ).toEqual([]);
          } finally {
            for (const mount of leftoversSince(before).mounts.reverse())
              spawnSync('umount', ['--lazy', mount.split(' ')[0] as string]);
            rmSync(state, { recursive: true, force: true });
          }
        },
      );

      it('exits 125 on a full disk, saying so, and keeps nothing half-written', REFERENCE, async () => {
        const small = mkdtempSync(join(tmpdir(), 'ctr-09-full-'));
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=755', 'ctr-09-full', small]);
        try {
          const result = await ctr('pull', [name('test/big')], { env: { ...env, CTR_STORE_DIR: small } });
          expectPullFailure(result, ['ENOSPC', 'space', 'full']);
          expect(listDir(join(small, 'tmp')), hint('ENOSPC mid-blob: the temporary file is removed')).toEqual([]);
          expect(
            listDir(join(small, 'layers/sha256')),
            hint('no layer fits in 1 MiB: none may be kept, whole or half'),
          ).toEqual([]);
        } finally {
          spawnSync('umount', [small]);
          rmSync(small, { recursive: true, force: true });
        }
      });
    });
  });
}

/** Every path under `dir`, four levels deep, for comparing a store before and after. */
function listTree(dir: string): string[] {
  const paths: string[] = [];
  const walk = (relative: string, depth: number): void => {
    if (depth > 3) return; // layers' contents are not containers' business
    for (const entry of listDir(join(dir, relative))) {
      const path = relative ? `${relative}/${entry}` : entry;
      paths.push(path);
      walk(path, depth + 1);
    }
  };
  walk('', 0);
  return paths.sort();
}
