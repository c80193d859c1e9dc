import { describe, expect, it } from 'vitest';
import { cut, MarkerError, markedBlocks } from '../src/markers.js';

const source = `import { mount } from '@ctr/syscalls';

export function enter(root: string): number {
  // #task 03.1
  mount(null, '/', null, 0);
  // #end-task
  const fd = 3;
  // #task 03.2
  mount(root, root, null, 0);
  // #end-task
  return fd;
}
`;

describe('exercise markers', () => {
  it('cut each marked block into one stub that returns todo(), and import it', () => {
    const { text, tasks } = cut(source, 'pivot-root.ts', (task) => `write ${task}`);
    expect(tasks).toEqual(['03.1', '03.2']);
    expect(text.split('\n')[0]).toBe("import { todo } from '@ctr/runtime';");
    expect(text).toContain(
      `  return todo('03.1', "write 03.1");\n  const fd = 3;\n  return todo('03.2', "write 03.2");\n  return fd;`,
    );
    expect(text).not.toContain('#task');
  });

  it('cut only the tasks asked for, and leave the others as they are', () => {
    const { text } = cut(
      source,
      'pivot-root.ts',
      () => 'x',
      (task) => task === '03.2',
    );
    expect(text).toContain("mount(null, '/', null, 0);");
    expect(text).toContain('return todo(\'03.2\', "x");');
  });

  it('refuse a marker that cuts nothing, one left open, one inside another, and a stray end', () => {
    expect(() => markedBlocks('  // #task 01.1\n  // only a comment\n  // #end-task\n', 'a.ts')).toThrow(
      new MarkerError('a.ts:1: #task 01.1 cuts nothing'),
    );
    expect(() => markedBlocks('// #task 01.1\nx();\n', 'a.ts')).toThrow(/a.ts:1: #task without #end-task/);
    expect(() => markedBlocks('// #task 01.1\n// #task 01.2\nx();\n// #end-task\n', 'a.ts')).toThrow(
      /inside #task 01.1/,
    );
    expect(() => markedBlocks('x();\n// #end-task\n', 'a.ts')).toThrow(/a.ts:2: #end-task without #task/);
  });
});
