/** Where things are in the checkout. No system calls here: vitest's global setup imports it. */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export function stepDirectory(step: string): string {
  const dir = readdirSync(`${REPO}steps`).find((name) => name.startsWith(`${step}-`));
  if (!dir) throw new Error(`no directory steps/${step}-* in ${REPO}`);
  return `${REPO}steps/${dir}`;
}
