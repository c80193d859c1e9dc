/**
 * Exercises are cut from the steps' own sources: one source of truth, no second copy to keep in
 * sync. A task's code sits between two marker lines, in a function body:
 *
 *   // #task 03.1
 *   mount(null, '/', null, MS_REC | MS_PRIVATE);
 *   // #end-task
 *
 * In the exercise the lines between become one stub, `return todo('03.1', '<what to write>')`,
 * which type-checks in any function (todo returns never) and stops the runtime with
 * "task 03.1 is not done yet: ..." until the student writes the code. A task may be marked in
 * several places (a hook here, a helper there); each place gets its stub.
 */

export interface Cut {
  /** The file with every marked block replaced by its stub, and `todo` imported where needed. */
  text: string;
  /** The tasks this file's markers name, in order of first appearance. */
  tasks: string[];
}

const OPEN = /^(\s*)\/\/ #task (\d\d\.\d+)\s*$/;
const CLOSE = /^\s*\/\/ #end-task\s*$/;

export class MarkerError extends Error {}

/** The marked blocks of a file, as [task, first line, last line] (1-based, markers included). */
export function markedBlocks(
  text: string,
  file: string,
): { task: string; indent: string; open: number; close: number }[] {
  const lines = text.split('\n');
  const blocks: { task: string; indent: string; open: number; close: number }[] = [];
  let current: { task: string; indent: string; open: number } | null = null;
  lines.forEach((line, index) => {
    const open = OPEN.exec(line);
    if (open) {
      if (current)
        throw new MarkerError(`${file}:${index + 1}: #task ${open[2]} inside #task ${current.task}: close it first`);
      current = { task: open[2] as string, indent: open[1] as string, open: index + 1 };
    } else if (CLOSE.test(line)) {
      if (!current) throw new MarkerError(`${file}:${index + 1}: #end-task without #task`);
      const body = lines.slice(current.open, index).filter((l) => l.trim() !== '' && !/^\s*\/\//.test(l));
      if (body.length === 0) throw new MarkerError(`${file}:${current.open}: #task ${current.task} cuts nothing`);
      blocks.push({ ...current, close: index + 1 });
      current = null;
    }
  });
  if (current) throw new MarkerError(`${file}:${(current as { open: number }).open}: #task without #end-task`);
  return blocks;
}

/**
 * Replaces the marked blocks of `text` by their stubs; `what` says, for each task, what to write
 * and where to read about it. `cuts` picks the tasks to cut (all of them by default): the others
 * stay as they are.
 */
export function cut(
  text: string,
  file: string,
  what: (task: string) => string,
  cuts: (task: string) => boolean = () => true,
): Cut {
  const lines = text.split('\n');
  const blocks = markedBlocks(text, file);
  for (const block of [...blocks].reverse()) {
    if (!cuts(block.task)) continue;
    const stub = `${block.indent}return todo('${block.task}', ${JSON.stringify(what(block.task))});`;
    lines.splice(block.open - 1, block.close - block.open + 1, stub);
  }
  const tasks = [...new Set(blocks.map((block) => block.task))];
  const stubbed = blocks.some((block) => cuts(block.task));
  const out = stubbed ? [`import { todo } from '@ctr/runtime';`, ...lines] : lines;
  return { text: out.join('\n'), tasks };
}
