/** The store's bookkeeping on a real directory: the index, its lock, leftovers, what rmi removes. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REFERENCE } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReference } from '../src/reference.js';

const root = mkdtempSync(join(tmpdir(), 'ctr-store-'));
process.env.CTR_STORE_DIR = root;
// Imported after CTR_STORE_DIR is set: the store reads it once.
const store = await import('../src/store.js');

const digest = (c: string): string => `sha256:${c.repeat(64)}`;

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
afterAll(() => rmSync(root, { recursive: true, force: true }));

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
    const dead = spawnSync('true').pid as number;
    mkdirSync(join(store.tmpDir(), `${dead}-0-layer.d`));
    writeFileSync(join(store.tmpDir(), `${process.pid}-0-blob`), '');
    store.removeLeftovers();
    expect(readdirSync(store.tmpDir())).toEqual([`${process.pid}-0-blob`]);
  });

  it('breaks a lock its dead holder left', () => {
    const dead = spawnSync('true').pid as number;
    mkdirSync(join(root, 'index.lock'));
    writeFileSync(join(root, 'index.lock', 'pid'), String(dead));
    expect(store.updateIndex((index) => Object.keys(index.images))).toEqual(['127.0.0.1:5000/a:v1']);
    expect(existsSync(join(root, 'index.lock'))).toBe(false);
  });
});
