/**
 * docs/cli.md is the reference of `ctr start`'s options. This test builds each step's real
 * commander program (`buildProgram` with the step's features) and compares: every option of every
 * step is on the page, the page lists no option that no step has, and each option's flags, first
 * step, default and --help text are the ones the code has.
 *
 * The page's format, per option: a `### --long-name` heading, then a two-column table whose rows
 * are `flags`, `since step`, `default`, `` `--help` text `` and `meaning`.
 */
import { readFileSync } from 'node:fs';
import { step01 } from '@ctr/01';
import { step02 } from '@ctr/02';
import { step03 } from '@ctr/03';
import { step04 } from '@ctr/04';
import { step05 } from '@ctr/05';
import { step06 } from '@ctr/06';
import { step07 } from '@ctr/07';
import { step08 } from '@ctr/08';
import { step09 } from '@ctr/09';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../shared/runtime/src/cli.ts';
import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_RUNTIME_ERROR } from '../../shared/runtime/src/errors.ts';

const PAGE = new URL('../cli.md', import.meta.url);
const STEPS = [step01, step02, step03, step04, step05, step06, step07, step08, step09];

interface CodeOption {
  long: string;
  flags: string;
  description: string;
  defaultValue: unknown;
}

/** The options of `start`, as commander holds them, for one step. */
function startOptions(step: (typeof STEPS)[number]): CodeOption[] {
  const start = buildProgram(step).commands.find((command) => command.name() === 'start');
  if (!start) throw new Error(`step ${step.id}'s program has no start command`);
  return start.options.map((option) => {
    if (!option.long) throw new Error(`step ${step.id}: option "${option.flags}" has no long name`);
    return {
      long: option.long,
      flags: option.flags,
      description: option.description,
      defaultValue: option.defaultValue,
    };
  });
}

const perStep = STEPS.map((step) => ({ id: step.id, options: startOptions(step) }));

/** Every option any step has, with the first step that has it. */
const inCode = new Map<string, CodeOption & { since: string }>();
for (const { id, options } of perStep) {
  for (const option of options) if (!inCode.has(option.long)) inCode.set(option.long, { ...option, since: id });
}

interface PageOption {
  heading: string;
  rows: Map<string, string>;
}

const page = readFileSync(PAGE, 'utf8');

/** The `### ` entries of the page's `## Options` section, each with its table's rows. */
function pageOptions(markdown: string): PageOption[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === '## Options');
  if (start < 0) throw new Error('docs/cli.md has no "## Options" section');
  const end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
  const entries: PageOption[] = [];
  for (const line of lines.slice(start + 1, end < 0 ? undefined : end)) {
    const heading = /^### (.+)$/.exec(line);
    if (heading) {
      entries.push({ heading: (heading[1] as string).replaceAll('`', '').trim(), rows: new Map() });
      continue;
    }
    const row = /^\|(.+?)\|(.+)\|\s*$/.exec(line);
    const entry = entries.at(-1);
    if (!row || !entry) continue;
    const [key, value] = [(row[1] as string).trim(), (row[2] as string).trim()];
    if (/^-+$/.test(key)) continue; // the |---|---| separator
    entry.rows.set(key, value);
  }
  return entries;
}

const documented = pageOptions(page);
const byHeading = new Map(documented.map((entry) => [entry.heading, entry]));

function row(entry: PageOption, key: string): string {
  const value = entry.rows.get(key);
  if (value === undefined) throw new Error(`docs/cli.md, option ${entry.heading}: its table has no "${key}" row`);
  return value;
}

const unquote = (cell: string): string => cell.replace(/^`(.*)`$/, '$1');

/**
 * A --help text as the page shows it: in backticks when it holds `<...>` (else HTML to VitePress),
 * with `\|` for a `|` (else a new table cell; markdown-it drops the backslash, in code spans too).
 */
const helpText = (cell: string): string => unquote(cell).replaceAll('\\|', '|');

describe('docs/cli.md against the real commander definitions', () => {
  it('finds options both in the code and on the page (else the checks below prove nothing)', () => {
    expect(inCode.size).toBeGreaterThanOrEqual(10);
    expect(documented.length).toBeGreaterThan(0);
  });

  it('lists every option of every step', () => {
    const missing = [...inCode.keys()].filter((long) => !byHeading.has(long));
    expect(missing, `options in the code but not on docs/cli.md: add a "### --name" entry for each`).toEqual([]);
  });

  it('lists no option that no step has', () => {
    const extra = documented.map((entry) => entry.heading).filter((heading) => !inCode.has(heading));
    expect(extra, 'options on docs/cli.md that no step defines').toEqual([]);
  });

  it('lists each option once', () => {
    const headings = documented.map((entry) => entry.heading);
    expect(headings.filter((heading, index) => headings.indexOf(heading) !== index)).toEqual([]);
  });

  it.each([...inCode.values()])('$long: flags, since step, default and --help text match the code', (option) => {
    const entry = byHeading.get(option.long);
    if (!entry) return; // reported by "lists every option of every step"
    expect(unquote(row(entry, 'flags')), 'the flags, as commander spells them').toBe(option.flags);
    expect(row(entry, 'since step').slice(0, 2), 'the first step whose start has it').toBe(option.since);
    expect(helpText(row(entry, '`--help` text')), 'what `ctr start --help` prints for it').toBe(option.description);
    expect(row(entry, 'meaning').length, 'a meaning in words').toBeGreaterThan(20);
    const shown = row(entry, 'default');
    if (typeof option.defaultValue === 'string' || typeof option.defaultValue === 'number') {
      expect(shown, "a default of commander's is shown first, in backticks").toMatch(
        new RegExp(`^\`${String(option.defaultValue)}\``),
      );
    } else {
      // No default in commander (or an empty list): the page explains what happens in words, and
      // must not claim a literal value the code does not have.
      expect(shown, 'no literal default in the code, so none in backticks first on the page').not.toMatch(/^`/);
    }
  });

  it('never renames or removes an option from one step to the next', () => {
    for (const [previous, next] of perStep.slice(0, -1).map((step, index) => [step, perStep[index + 1]] as const)) {
      if (!next) continue;
      const nextFlags = new Set(next.options.map((option) => option.flags));
      const lost = previous.options.filter((option) => !nextFlags.has(option.flags)).map((option) => option.flags);
      expect(lost, `options of step ${previous.id} that step ${next.id} lacks`).toEqual([]);
    }
  });

  it('lists the exit codes the runtime uses', () => {
    for (const code of [EXIT_RUNTIME_ERROR, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND]) {
      expect(page).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
    }
    expect(page).toMatch(/^\| 128 \+ N \|/m);
  });

  it('tells graders about CTR_CLI and its {step} placeholder', () => {
    expect(page).toContain('CTR_CLI');
    expect(page).toContain('`{step}`');
  });
});
