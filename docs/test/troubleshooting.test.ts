/**
 * docs/troubleshooting.md quotes the runtime's messages. When a message is reworded in the code,
 * this test fails until the page follows:
 *
 * - every `ctr: ...` line in the page's code blocks must be one the code can print: it must match
 *   a string or template literal of shared/*\/src or steps/*\/src, with each `${...}` of the
 *   template standing for any text;
 * - a few key fragments must appear verbatim both on the page and in the source.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const page = readFileSync(new URL('../troubleshooting.md', import.meta.url), 'utf8');

/** Fragments the page must quote and the code must still contain, word for word. */
const KEY_FRAGMENTS = [
  'must run as root: namespaces, mounts and cgroups need it',
  'controller is not available on this machine',
  "neither a v1 hierarchy nor in cgroup2's cgroup.controllers",
  'AppArmor restricts unprivileged user namespaces here (Ubuntu 23.10+)',
  'kernel.apparmor_restrict_unprivileged_userns=0',
  'no way to make a rootfs here',
  'see rootfs-scripts/README.md, then pass --rootfs or set CTR_ROOTFS',
  "not found in the container's PATH",
  'install them (Debian/Ubuntu: apt-get install',
  'cannot pivot into',
  'processes live in that cgroup, and v2 lets only leaf cgroups (or the root) hold them',
  'is below the minimum of 64m',
  'the container ran out of memory',
  'is already published by another container',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|c)$/.test(entry.name) ? [path] : [];
  });
}

/** The src/ (and step 07's native/) directories of every package under shared/ and steps/. */
const sources = ['shared', 'steps'].flatMap((top) =>
  readdirSync(join(REPO, top), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) =>
      ['src', 'native'].flatMap((sub) => {
        try {
          return sourceFiles(join(REPO, top, entry.name, sub));
        } catch {
          return [];
        }
      }),
    ),
);
const sourceText = sources.map((file) => readFileSync(file, 'utf8'));

const unescapeLiteral = (text: string): string =>
  text.replace(/\\(.)/g, (_, char: string) => ({ n: '\n', t: '\t', r: '\r' })[char] ?? char);

/**
 * The string and template literals of a TypeScript file, each as its fixed pieces: a template's
 * `${...}` splits it (and may hold literals of its own, which are collected too). A small scanner,
 * not a parser: comments are skipped, and a `/` after an operator starts a regular expression.
 */
function literals(source: string): string[][] {
  const found: string[][] = [];
  let i = 0;
  const readQuoted = (quote: string): string => {
    let text = '';
    i++;
    while (i < source.length && source[i] !== quote && source[i] !== '\n') {
      if (source[i] === '\\') {
        text += source.slice(i, i + 2);
        i += 2;
      } else text += source[i++];
    }
    i++;
    return unescapeLiteral(text);
  };
  const readTemplate = (): string[] => {
    const pieces: string[] = [];
    let current = '';
    i++;
    while (i < source.length && source[i] !== '`') {
      if (source[i] === '\\') {
        current += unescapeLiteral(source.slice(i, i + 2));
        i += 2;
      } else if (source[i] === '$' && source[i + 1] === '{') {
        i += 2;
        scan('}');
        i++;
        pieces.push(current);
        current = '';
      } else current += source[i++];
    }
    i++;
    return [...pieces, current];
  };
  /** Scans code until `end` at depth 0 (or the end of the file), collecting literals. */
  const scan = (end: string | null): void => {
    let depth = 0;
    let previous = '';
    while (i < source.length) {
      const char = source[i] as string;
      if (end && char === end && depth === 0) return;
      if (char === '{') depth++;
      if (char === '}') depth--;
      if (char === '/' && source[i + 1] === '/') {
        i = source.indexOf('\n', i);
        if (i < 0) i = source.length;
        continue;
      }
      if (char === '/' && source[i + 1] === '*') {
        i = source.indexOf('*/', i) + 2;
        if (i < 2) i = source.length;
        continue;
      }
      if (char === '/' && (previous === '' || '(,=:[!&|?{};+'.includes(previous))) {
        // A regular expression literal: skip it, classes and escapes included.
        i++;
        let inClass = false;
        while (i < source.length && (source[i] !== '/' || inClass) && source[i] !== '\n') {
          if (source[i] === '\\') i++;
          else if (source[i] === '[') inClass = true;
          else if (source[i] === ']') inClass = false;
          i++;
        }
        i++;
        previous = '/';
        continue;
      }
      if (char === "'" || char === '"') {
        found.push([readQuoted(char)]);
        previous = 'a';
        continue;
      }
      if (char === '`') {
        found.push(readTemplate());
        previous = 'a';
        continue;
      }
      if (!/\s/.test(char)) previous = char;
      i++;
    }
  };
  scan(null);
  return found;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Each literal as an anchored pattern, `ctr: ` and a final newline left out; too generic ones dropped. */
const patterns = sourceText
  .flatMap(literals)
  .map((pieces) => {
    const trimmed = [...pieces];
    trimmed[0] = (trimmed[0] as string).replace(/^ctr: /, '');
    trimmed[trimmed.length - 1] = (trimmed.at(-1) as string).replace(/\s+$/, '');
    return trimmed;
  })
  .filter((pieces) => pieces.join('').length >= 12)
  .map((pieces) => new RegExp(`^${pieces.map(escapeRegExp).join('[\\s\\S]*?')}$`));

/** The `ctr: ` lines of the page's fenced code blocks. */
function quotedMessages(markdown: string): string[] {
  const messages: string[] = [];
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^```/.test(line)) inFence = !inFence;
    else if (inFence && line.startsWith('ctr: ')) messages.push(line.slice('ctr: '.length));
  }
  return messages;
}

const messages = quotedMessages(page);

describe('docs/troubleshooting.md quotes the messages the code prints', () => {
  it('finds the source files and the quoted messages (else the checks below prove nothing)', () => {
    expect(sources.length).toBeGreaterThan(20);
    expect(messages.length).toBeGreaterThan(30);
  });

  it('the scanner reads literals as a compiler would', () => {
    const sample = [
      "const a = 'it\\'s'; // 'not this'",
      'const re = /["`]/g; /* `nor this` */',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the sample is TypeScript source text
      'throw new E(`--net ${mode} needs ${list.join(`, `)}: install`);',
    ].join('\n');
    expect(literals(sample)).toEqual([["it's"], [', '], ['--net ', ' needs ', ': install']]);
  });

  it.each(messages)('the code can print: %s', (message) => {
    const matching = patterns.some((pattern) => pattern.test(message));
    expect(matching, `no message in shared/*/src or steps/*/src matches "${message}": reworded in the code?`).toBe(
      true,
    );
  });

  it.each(KEY_FRAGMENTS)('quotes "%s", which the code still prints', (fragment) => {
    expect(page, 'the page no longer quotes it').toContain(fragment);
    expect(
      sourceText.some((text) => text.includes(fragment)),
      'no source file under shared/*/src or steps/*/src has it any more',
    ).toBe(true);
  });
});
