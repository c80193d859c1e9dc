import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('reports an init that cannot be spawned in one line, exit 125, also when the entry point started it early', () => {
  const fixture = fileURLToPath(new URL('./fixtures/unspawnable.ts', import.meta.url));
  const result = spawnSync(process.execPath, ['--import', 'tsx', fixture, 'start', '/bin/true'], { encoding: 'utf8' });
  expect(result.status).toBe(125);
  expect(result.stderr.trim().split('\n')).toEqual([
    "ctr: cannot start the container's init: spawn /nonexistent/ctr-helper ENOENT",
  ]);
});
