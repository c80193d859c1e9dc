/**
 * The top of each step page tells a reader, before they start, what they will be able to explain
 * afterwards and how long the step takes. The time is computed (course/src/estimate.ts: reading
 * speed, tasks, the reference's lines between the markers), so when a page grows or a task is
 * added, this test fails with the line the page must have instead.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  estimate,
  INTRO_TITLE,
  MINUTES_PER_LINE,
  MINUTES_PER_TASK,
  timeLine,
  WORDS_PER_MINUTE,
} from '../../course/src/estimate.ts';
import { exerciseOf, stepIds } from '../../course/src/exercises.ts';

const DOCS = fileURLToPath(new URL('..', import.meta.url));

const steps = stepIds().map((id) => {
  const exercise = exerciseOf(id);
  const page = `steps/${basename(exercise.dir)}.md`;
  return { id, exercise, page, markdown: readFileSync(join(DOCS, page), 'utf8') };
});

/** The lines of the box right below the title: from `::: tip In this step` to its `:::`. */
function introBox(markdown: string): string[] | null {
  const lines = markdown.split('\n');
  const title = lines.findIndex((line) => /^# /.test(line));
  const rest = lines.slice(title + 1);
  const start = rest.findIndex((line) => line.trim() !== '');
  if (start < 0 || rest[start]?.trim() !== INTRO_TITLE) return null;
  const end = rest.findIndex((line, index) => index > start && line.trim() === ':::');
  return end < 0 ? null : rest.slice(start + 1, end);
}

describe('the box at the top of each step page: what you will explain, and how long it takes', () => {
  it('finds the steps (an empty list would prove nothing)', () => {
    expect(steps.length).toBeGreaterThanOrEqual(7);
  });

  describe.each(steps)('step $id, docs/$page', ({ exercise, page, markdown }) => {
    it(`opens with "${INTRO_TITLE}" right below the title`, () => {
      expect(
        introBox(markdown),
        `docs/${page}: a "${INTRO_TITLE}" box, closed by ":::", right after "# ..."`,
      ).not.toBeNull();
    });

    it('says what the reader will be able to explain', () => {
      const text = (introBox(markdown) ?? []).join(' ');
      expect(text).toMatch(/After this step you can explain /);
    });

    it('gives the time the rule of course/src/estimate.ts computes for this page and this step', () => {
      const expected = timeLine(estimate(exercise, markdown));
      const found = (introBox(markdown) ?? []).find((line) => line.startsWith('**Time:'));
      expect(
        found,
        `docs/${page}: the time line must read as below (${WORDS_PER_MINUTE} words a minute, ` +
          `${MINUTES_PER_TASK} minutes a task, ${MINUTES_PER_LINE} a line of the reference's code)`,
      ).toBe(expected);
    });
  });

  it('the rule is stated where a student reads it (getting started)', () => {
    const gettingStarted = readFileSync(join(DOCS, 'getting-started.md'), 'utf8');
    expect(gettingStarted).toContain(`${WORDS_PER_MINUTE} words a minute`);
    expect(gettingStarted).toContain(`${MINUTES_PER_TASK} minutes a task`);
  });
});
