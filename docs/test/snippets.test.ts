/**
 * VitePress inlines a whole file, silently, when a `<<< file#region` names a region that is not
 * there, and fails only at build time when the file is missing. This test makes both loud.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DOCS = fileURLToPath(new URL('..', import.meta.url));

function pages(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? pages(path) : entry.name.endsWith('.md') ? [path] : [];
  });
}

// `<<< @/file{lang} [title]`: the title names a tab of a `::: code-group` (a transcript's cgroup v1
// and v2 runs side by side).
const imports = pages(DOCS).flatMap((page) =>
  [...readFileSync(page, 'utf8').matchAll(/^<<< @\/(\S+?)(?:#([\w-]+))?(?:\{[^}]*\})?(?: \[[^\]]*\])?\s*$/gm)].map(
    (match) => ({
      page: relative(DOCS, page),
      file: join(DOCS, match[1] as string),
      region: match[2],
    }),
  ),
);

describe('code imported into the docs', () => {
  it('imports something (the pattern would otherwise match nothing and prove nothing)', () => {
    expect(imports.length).toBeGreaterThan(0);
  });

  it.each(imports)('$page imports an existing file and region: $file#$region', ({ file, region }) => {
    expect(existsSync(file), `${file} does not exist`).toBe(true);
    if (region) {
      const source = readFileSync(file, 'utf8');
      expect(source, `no "#region ${region}" in ${file}`).toMatch(new RegExp(`#region ${region}\\b`));
      expect(source, `no "#endregion ${region}" in ${file}`).toMatch(new RegExp(`#endregion ${region}\\b`));
    }
  });
});
