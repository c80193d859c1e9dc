/**
 * How long a step takes, for the box at the top of its page. Nobody can measure how fast a given
 * student writes kernel code, so the figure is a rule stated in the open, computed from what can
 * be counted and checked by docs/test/step-intro.test.ts whenever a page or a step changes:
 *
 *   reading   the page's prose (code blocks and diagrams left out) at 200 words a minute;
 *   writing   15 minutes a task (write, check, read the failure, fix) and a minute a line of the
 *             reference's code that the exercise cuts out (what the student writes).
 *
 * docs/getting-started.md states the same rule; keep the two together.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Exercise, skeletonSourcePaths } from './exercises.js';
import { markedBlocks } from './markers.js';

export const WORDS_PER_MINUTE = 200;
export const MINUTES_PER_TASK = 15;
export const MINUTES_PER_LINE = 1;

/** The first line of the box; the box is a `::: tip` container right below the page's title. */
export const INTRO_TITLE = '::: tip In this step';

export interface Estimate {
  readingMinutes: number;
  tasks: number;
  /** Lines of the reference's code between the step's markers (blank lines and comments left out). */
  lines: number;
  totalMinutes: number;
}

/**
 * Words of the page outside code fences, outside diagrams and outside the intro box itself (it
 * would count itself). A diagram is a `<figure class="diagram">` of SVG: its markup is not prose,
 * and the ASCII drawings it replaced were code fences, left out too.
 */
export function proseWords(markdown: string): number {
  let fence: string | null = null;
  let inIntro = false;
  let inFigure = false;
  let words = 0;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker && (fence === null || fence === marker)) {
      fence = fence === null ? marker : null;
      continue;
    }
    if (fence !== null) continue;
    if (/^<figure[\s>]/.test(line.trim())) inFigure = true;
    if (inFigure) {
      if (line.trim() === '</figure>') inFigure = false;
      continue;
    }
    if (line.trim() === INTRO_TITLE) inIntro = true;
    else if (inIntro && line.trim() === ':::') inIntro = false;
    else if (!inIntro) words += line.split(/\s+/).filter(Boolean).length;
  }
  return words;
}

/** Lines the student writes: the non-blank, non-comment lines between each `#task` and `#end-task`. */
export function taskLines(exercise: Exercise): number {
  let lines = 0;
  for (const path of skeletonSourcePaths(exercise)) {
    const text = readFileSync(join(exercise.dir, path), 'utf8');
    const all = text.split('\n');
    for (const block of markedBlocks(text, path)) {
      lines += all.slice(block.open, block.close - 1).filter((line) => line.trim() && !/^\s*\/\//.test(line)).length;
    }
  }
  return lines;
}

export function estimate(exercise: Exercise, markdown: string): Estimate {
  const readingMinutes = Math.max(1, Math.round(proseWords(markdown) / WORDS_PER_MINUTE));
  const tasks = exercise.tasks.size;
  const lines = taskLines(exercise);
  return {
    readingMinutes,
    tasks,
    lines,
    totalMinutes: readingMinutes + tasks * MINUTES_PER_TASK + lines * MINUTES_PER_LINE,
  };
}

/** "about 45 minutes" under an hour (to the quarter), "about 2½ hours" above (to the half hour). */
export function roughly(minutes: number): string {
  if (minutes < 60) return `about ${Math.max(15, Math.round(minutes / 15) * 15)} minutes`;
  const halves = Math.round(minutes / 30);
  const hours = Math.floor(halves / 2);
  const half = halves % 2 === 1 ? '½' : '';
  return `about ${hours}${half} hour${hours === 1 && !half ? '' : 's'}`;
}

/** The time line of the box, as the page must have it. */
export function timeLine(e: Estimate): string {
  const taskWord = e.tasks === 1 ? 'task' : 'tasks';
  const lineWord = e.lines === 1 ? 'line' : 'lines';
  return (
    `**Time: ${roughly(e.totalMinutes)}.** ${e.readingMinutes} minutes of reading, then ${e.tasks} ${taskWord} ` +
    `to write and check (${e.lines} ${lineWord} of code in the reference).`
  );
}
