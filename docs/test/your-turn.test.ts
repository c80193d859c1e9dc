/**
 * Each step page ends with "## Your turn": the step's exercise as `pnpm exercise NN` gives it.
 * When a task of steps/NN-.../exercise.json is added, renamed or sent to another section, this
 * test fails until the page follows:
 *
 * - the section is the page's last `##` section, after "What the tests check";
 * - it lists every task of exercise.json, in order, as `- **NN.K** <title> (read: [...](link))`,
 *   with the title exactly as exercise.json has it, and no task that exercise.json does not have;
 * - each link leads to the page and section the task's `docs` names, and that section exists
 *   (course/src/verify.ts's headingIds: the ids VitePress gives the headings);
 * - it gives the commands of the exercise mode for that step.
 */
import { readFileSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exerciseOf, stepIds } from '../../course/src/exercises.ts';
import { headingIds } from '../../course/src/verify.ts';

const DOCS = fileURLToPath(new URL('..', import.meta.url));
const HEADING = '## Your turn';

/** The page's lines outside code fences, with their index, so that a `## ` in a shell block is no heading. */
function proseLines(markdown: string): { line: string; index: number }[] {
  const lines: { line: string; index: number }[] = [];
  let fence: string | null = null;
  markdown.split('\n').forEach((line, index) => {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker && (fence === null || fence === marker)) {
      fence = fence === null ? marker : null;
      return;
    }
    if (fence === null) lines.push({ line, index });
  });
  return lines;
}

/** The `##` headings of a page, in order. */
const sections = (markdown: string): string[] =>
  proseLines(markdown)
    .map(({ line }) => line)
    .filter((line) => /^## /.test(line));

/** The text of the "Your turn" section, up to the next `##` heading. */
function yourTurn(markdown: string): string {
  const lines = markdown.split('\n');
  const headings = proseLines(markdown).filter(({ line }) => /^## /.test(line));
  const at = headings.findIndex(({ line }) => line.trim() === HEADING);
  if (at < 0) return '';
  const start = (headings[at] as { index: number }).index;
  const end = headings[at + 1]?.index ?? lines.length;
  return lines.slice(start + 1, end).join('\n');
}

/** `steps/03-mount-pivot-root#pivot-root`, from a link on the page `steps/03-...` (the page itself for `#...`). */
function target(link: string, page: string): string {
  const [path = '', anchor = ''] = link.split('#');
  const resolved = path === '' ? page : posix.normalize(posix.join(posix.dirname(page), path.replace(/\.md$/, '')));
  return `${resolved}#${anchor}`;
}

const steps = stepIds().map((id) => {
  const exercise = exerciseOf(id);
  const page = `steps/${basename(exercise.dir)}`;
  const markdown = readFileSync(join(DOCS, `${page}.md`), 'utf8');
  return { id, exercise, page, markdown, section: yourTurn(markdown) };
});

describe('"Your turn" on each step page', () => {
  it('finds the steps (the list would otherwise be empty and prove nothing)', () => {
    expect(steps.length).toBeGreaterThanOrEqual(7);
  });

  describe.each(steps)('step $id, docs/$page', ({ id, exercise, page, markdown, section }) => {
    it('ends the page: the last ## section, after "What the tests check"', () => {
      const headings = sections(markdown);
      expect(headings.at(-1), `the last ## heading of docs/${page}.md`).toBe(HEADING);
      expect(headings.indexOf('## What the tests check')).toBeGreaterThanOrEqual(0);
      expect(headings.indexOf('## What the tests check')).toBeLessThan(headings.indexOf(HEADING));
    });

    it('lists every task of exercise.json, in order, with its exact title and its section', () => {
      const ids = [...section.matchAll(/^- \*\*(\d\d\.\d+)\*\*/gm)].map((match) => match[1]);
      expect(ids, 'the task ids listed, in order').toEqual([...exercise.tasks.keys()]);
      const listed = [...section.matchAll(/^- \*\*(\d\d\.\d+)\*\* (.*) \(read: \[([^\]]+)\]\(([^)]+)\)\)$/gm)];
      expect(
        listed.map((match) => match[1]),
        'the tasks listed as "- **NN.K** <title> (read: [<section>](<link>))"',
      ).toEqual(ids);
      for (const match of listed) {
        const [, taskId = '', title, , link = ''] = match;
        const task = exercise.tasks.get(taskId);
        expect(title, `the title of task ${taskId}`).toBe(task?.title);
        expect(target(link, page), `where task ${taskId} sends the reader`).toBe(task?.docs);
      }
    });

    it.each([...exercise.tasks])('task %s: the section its docs field names exists', (taskId, task) => {
      const [docsPage = '', anchor = ''] = task.docs.split('#');
      const text = docsPage === page ? markdown : readFileSync(join(DOCS, `${docsPage}.md`), 'utf8');
      expect(anchor, `task ${taskId} names a section, not only a page`).not.toBe('');
      expect([...headingIds(text)], `a heading of docs/${docsPage}.md whose id is ${anchor}`).toContain(anchor);
    });

    it('gives the commands of the exercise mode for this step', () => {
      for (const command of [
        `pnpm exercise ${id}`,
        `sudo pnpm check ${id}`,
        `sudo pnpm check ${id} --watch`,
        `pnpm hint ${id}`,
        `pnpm solution ${id}`,
        `pnpm reset ${id}`,
        'pnpm progress',
      ]) {
        expect(section, command).toContain(command);
      }
      expect(section).toContain(`mine/${id}/src`);
    });

    it('asks two or three questions to predict, each with its answer folded', () => {
      const answers = section.match(/^::: details Answer$/gm) ?? [];
      expect(answers.length).toBeGreaterThanOrEqual(2);
      expect(answers.length).toBeLessThanOrEqual(3);
      // Each container closed: as many `:::` lines as openings.
      expect((section.match(/^:::$/gm) ?? []).length).toBe(answers.length);
    });
  });
});
