/** The store's bookkeeping on a real directory: the index, its lock, leftovers, what rmi removes. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REFERENCE } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Made in beforeAll, not when the file loads: a run that skips every test here (grading with
// CTR_CLI, pnpm check) runs no afterAll either, and left two directories per run in /tmp.
let root = '';
let stateRoot = '';
let store: typeof import('../src/store.js');
let parseReference: typeof import('../src/reference.js')['parseReference'];
let containerStateDir: typeof import('@ctr/runtime')['containerStateDir'];
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ctr-store-'));
  process.env.CTR_STORE_DIR = root;
  stateRoot = mkdtempSync(join(tmpdir(), 'ctr-store-state-'));
  process.env.CTR_STATE_DIR = stateRoot;
  // Imported after CTR_STORE_DIR and CTR_STATE_DIR are set: the store and @ctr/runtime read them once.
  store = await import('../src/store.js');
  ({ parseReference } = await import('../src/reference.js'));
  ({ containerStateDir } = await import('@ctr/runtime'));
});

const digest = (c: string): string => `sha256:${c.repeat(64)}`;
/** The pid of a process that has exited and been reaped: a holder that is gone. */
const deadPid = (): number => spawnSync('true').pid as number;

function addImage(name: string, manifest: string, config: string, layers: string[]): void {
  const ref = parseReference(name);
  writeFileSync(store.blobPath(manifest), '{}');
  writeFileSync(store.blobPath(config), JSON.stringify({ config: { Cmd: ['/bin/sh'] } }));
  for (const layer of layers) mkdirSync(store.layerPath(layer), { recursive: true });
  store.updateIndex((index) => {
    index.images[ref.name] = {
      registry: ref.registry,
      repository: ref.repository,
      tag: ref.tag,
      digest: manifest,
      id: config,
      layers,
      size: 3,
    };
  });
}

beforeAll(() => store.ensureStore());
afterAll(() => {
  for (const dir of [root, stateRoot]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the image store', REFERENCE, () => {
  it('finds an image by name, and by digest under the same repository', () => {
    addImage('127.0.0.1:5000/a:v1', digest('1'), digest('2'), [digest('3')]);
    const image = store.findImage(parseReference('127.0.0.1:5000/a:v1'));
    expect(image).toMatchObject({
      name: '127.0.0.1:5000/a:v1',
      digest: digest('1'),
      id: digest('2'),
      config: { Cmd: ['/bin/sh'] },
    });
    expect(image?.layers).toEqual([store.layerPath(digest('3'))]);
    expect(store.findImage(parseReference(`127.0.0.1:5000/a@${digest('1')}`))?.name).toBe('127.0.0.1:5000/a:v1');
    expect(store.findImage(parseReference(`127.0.0.1:5000/other@${digest('1')}`))).toBeNull();
    expect(store.findImage(parseReference('127.0.0.1:5000/a:v2'))).toBeNull();
  });

  it('removes only the layers and blobs no remaining image uses', () => {
    addImage('127.0.0.1:5000/b:v1', digest('4'), digest('5'), [digest('3'), digest('6')]);
    const removed = store.updateIndex((index) => {
      delete index.images['127.0.0.1:5000/b:v1'];
      return store.collectGarbage(index);
    });
    expect(removed).toEqual([digest('6')]);
    expect(existsSync(store.layerPath(digest('3')))).toBe(true);
    expect(existsSync(store.blobPath(digest('4')))).toBe(false);
    expect(existsSync(store.blobPath(digest('1')))).toBe(true);
  });

  it("removes what a dead pull left in tmp/, and keeps a live one's", () => {
    mkdirSync(join(store.tmpDir(), `${deadPid()}-0-layer.d`));
    writeFileSync(join(store.tmpDir(), `${process.pid}-0-blob`), '');
    store.removeLeftovers();
    expect(readdirSync(store.tmpDir())).toEqual([`${process.pid}-0-blob`]);
  });

  it('breaks a lock its dead holder left', () => {
    mkdirSync(join(root, 'index.lock'));
    writeFileSync(join(root, 'index.lock', 'pid'), String(deadPid()));
    expect(store.updateIndex((index) => Object.keys(index.images))).toEqual(['127.0.0.1:5000/a:v1']);
    expect(existsSync(join(root, 'index.lock'))).toBe(false);
  });

  it('takes the lock with its pid already inside, and leaves no scratch behind', () => {
    const seen = store.updateIndex(() => readFileSync(join(root, 'index.lock', 'pid'), 'utf8'));
    expect(seen).toBe(String(process.pid));
    expect(existsSync(join(root, 'index.lock'))).toBe(false);
    expect(readdirSync(store.tmpDir()).filter((name) => /-(lock|unlock|broken)-/.test(name))).toEqual([]);
  });

  it("loses no update when processes race to break a dead holder's lock", async () => {
    mkdirSync(join(root, 'index.lock'));
    writeFileSync(join(root, 'index.lock', 'pid'), String(deadPid()));
    const script = join(root, 'racer.mts');
    writeFileSync(
      script,
      `const store = await import(${JSON.stringify(new URL('../src/store.ts', import.meta.url).href)});
for (let i = 0; i < 25; i++) store.updateIndex((index) => { index.layerSizes.racer = (index.layerSizes.racer ?? 0) + 1; });
`,
    );
    const racers = Array.from(
      { length: 6 },
      () =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', script], {
            cwd: fileURLToPath(new URL('..', import.meta.url)),
            env: { ...process.env, CTR_STORE_DIR: root },
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          child.on('exit', resolve);
        }),
    );
    expect(await Promise.all(racers)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(store.readIndex().layerSizes.racer).toBe(150);
    expect(existsSync(join(root, 'index.lock'))).toBe(false);
    store.updateIndex((index) => {
      delete index.layerSizes.racer;
    });
  }, 60_000);

  it('refuses a digest that is not sha256 and 64 lowercase hex, before it becomes a path', () => {
    for (const bad of ['sha256:../../../../etc', `sha256:${'A'.repeat(64)}`, `sha512:${'a'.repeat(64)}`, 'sha256:']) {
      expect(() => store.layerPath(bad)).toThrow(/malformed digest .*nothing was kept/);
      expect(() => store.blobPath(bad)).toThrow(/malformed digest/);
    }
  });

  it("keeps the layers and blobs a live pull leased, and drops a dead pull's lease", () => {
    // A config or manifest blob a pull renamed into blobs/ before the index names it.
    store.takeLease([digest('7'), digest('c')]);
    writeFileSync(store.blobPath(digest('c')), '{}');
    mkdirSync(store.layerPath(digest('7')));
    writeFileSync(join(store.tmpDir(), `${deadPid()}-lease`), `${digest('8')}\n`);
    mkdirSync(store.layerPath(digest('8')));
    expect(store.updateIndex((index) => store.collectGarbage(index))).toEqual([digest('8')]);
    expect(existsSync(store.layerPath(digest('7')))).toBe(true);
    expect(existsSync(store.blobPath(digest('c'))), 'a leased blob is kept').toBe(true);
    store.releaseLease();
    expect(store.updateIndex((index) => store.collectGarbage(index))).toEqual([digest('7')]);
    expect(existsSync(store.blobPath(digest('c')))).toBe(false);
  });

  it('keeps the layers and manifest of a live container, whatever the index says', () => {
    const dir = containerStateDir('gc-probe');
    expect(dir.startsWith(stateRoot)).toBe(true);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'owner'), String(process.pid));
    writeFileSync(join(dir, 'image'), digest('9'));
    writeFileSync(join(dir, 'layers'), `${store.layerPath(digest('a'))}\n`);
    writeFileSync(store.blobPath(digest('9')), '{}');
    mkdirSync(store.layerPath(digest('a')));
    expect(store.updateIndex((index) => store.collectGarbage(index))).toEqual([]);
    expect(existsSync(store.blobPath(digest('9')))).toBe(true);
    writeFileSync(join(dir, 'owner'), String(deadPid()));
    expect(store.updateIndex((index) => store.collectGarbage(index))).toEqual([digest('a')]);
    expect(existsSync(store.blobPath(digest('9')))).toBe(false);
  });
});
