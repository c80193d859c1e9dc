/**
 * The exercise mode as a student meets it, on a copy of mine/ of its own (CTR_MINE): start an
 * exercise, check it, take a hint, start over; and the refusals, each in one line. Then the proof
 * that every step's exercise holds (pnpm exercises:verify): its skeleton compiles and fails each
 * task's tests, naming the task, and each task alone is needed.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const mine = mkdtempSync(join(tmpdir(), 'ctr-mine-'));
chmodSync(mine, 0o755);
afterAll(() => rmSync(mine, { recursive: true, force: true }));

function pnpm(...args: string[]): { status: number | null; out: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, CTR_MINE: mine };
  delete env.CTR_CLI;
  const result = spawnSync('pnpm', ['--silent', ...args], { cwd: REPO, env, encoding: 'utf8' });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('the exercise mode, as a student meets it', () => {
  it('refuses a step that does not exist, in one line', () => {
    const { status, out } = pnpm('exercise', '99');
    expect(status).toBe(2);
    expect(out.trim()).toMatch(/^there is no step 99: the steps are 01, 02, .*09, 10$/);
  });

  it('gives step 02 to write, checks it, hints, and starts over without losing the work', { timeout: 120_000 }, () => {
    const made = pnpm('exercise', '02');
    expect(made.status, made.out).toBe(0);
    expect(made.out).toContain('02.1  refuse a --hostname');
    expect(readdirSync(join(mine, '02', 'src')).sort()).toEqual(['main.ts', 'step.ts', 'uts-namespace.ts']);

    const again = pnpm('exercise', '02');
    expect(again.status).toBe(2);
    expect(again.out.trim()).toBe(
      `${join(mine, '02')} holds your work on step 02 already: sudo pnpm check 02 tests it; pnpm reset 02 starts over (it keeps a copy)`,
    );

    const check = pnpm('check', '02');
    expect(check.status).toBe(1);
    expect(check.out).toMatch(/This is task 02\.1: refuse a --hostname/);
    expect(check.out).toMatch(/ctr: task 02\.1 is not done yet/);

    const hint = pnpm('hint', '02');
    expect(hint.out).toMatch(/^Task 02\.1: .*\nHint 1 of 3, the idea: /);
    expect(pnpm('hint', '02').out).toMatch(/Hint 2 of 3, the calls: /);

    // The student writes task 02.1 (here: the reference's code) and checks again: on to 02.2.
    const file = join(mine, '02', 'src', 'uts-namespace.ts');
    const reference = readFileSync(join(REPO, 'steps/02-uts/src/uts-namespace.ts'), 'utf8');
    const body = /export function validHostname[\s\S]*?\n}\n/.exec(reference)?.[0] as string;
    writeFileSync(file, readFileSync(file, 'utf8').replace(/export function validHostname[\s\S]*?\n}\n/, body));
    const next = pnpm('check', '02');
    expect(next.out).toMatch(/This is task 02\.2/);
    expect(pnpm('progress').out).toMatch(/02 {4}started {7}1 of 3 {10}0 of 3 tasks passing/);

    const reset = pnpm('reset', '02');
    expect(reset.status).toBe(0);
    const backup = /^Your work is in (\S+)\/ \(nothing was deleted\)\.$/m.exec(reset.out)?.[1] as string;
    expect(readFileSync(join(backup, 'src', 'uts-namespace.ts'), 'utf8')).toContain('HOSTNAME.test(name)');
    expect(readFileSync(file, 'utf8')).toContain("todo('02.1'");
    // Starting over starts the hints over too.
    expect(pnpm('hint', '02').out).toMatch(/Hint 1 of 3/);
  });

  it('says what to do when a stub was deleted and nothing written in its place', { timeout: 60_000 }, () => {
    const file = join(mine, '02', 'src', 'uts-namespace.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/ {2}return todo\('02\.1'[^\n]*\n/, ''));
    const check = pnpm('check', '02');
    expect(check.status).toBe(1);
    expect(check.out).toMatch(/Your code does not compile yet \(TypeScript/);
    expect(check.out).toMatch(/uts-namespace\.ts\(\d+,\d+\): error TS\d+: A function whose declared type/);
    expect(check.out).toContain('Fix these first: the check runs your code.');
  });

  it("builds on the student's own earlier step with --from-mine", { timeout: 60_000 }, () => {
    rmSync(join(mine, '02'), { recursive: true, force: true });
    expect(pnpm('exercise', '02', '--from-mine').out.trim()).toBe(
      `--from-mine builds on your step 01, and there is no ${join(mine, '01')}: do it first (pnpm exercise 01), or leave out --from-mine`,
    );
    expect(pnpm('exercise', '01').status).toBe(0);
    rmSync(join(mine, '01', 'src'), { recursive: true });
    cpSync(join(REPO, 'steps/01-pid-namespace/src'), join(mine, '01', 'src'), { recursive: true });
    rmSync(join(mine, '02'), { recursive: true, force: true });
    expect(pnpm('exercise', '02', '--from-mine').status).toBe(0);
    expect(readlinkSync(join(mine, '02', 'node_modules', '@ctr', '01'))).toBe('../../../01');
    const check = pnpm('check', '02');
    expect(check.out, "step 02 compiles and runs on the student's step 01").toMatch(/This is task 02\.1/);
  });

  it('shows the reference as a diff against the student code', () => {
    const { out } = pnpm('solution', '02');
    expect(out).toContain(
      `The reference of step 02 (steps/02-uts/src), as changes to your code (${join(mine, '02')}/src):`,
    );
    expect(out).toMatch(/^\+\s+if \(Buffer\.byteLength\(name\) > HOST_NAME_MAX/m);
  });

  it("ships nothing in mine/: a pull of the course cannot touch the student's work", () => {
    expect(spawnSync('git', ['ls-files', 'mine'], { cwd: REPO, encoding: 'utf8' }).stdout).toBe('');
  });
});

describe('every exercise holds (pnpm exercises:verify)', () => {
  it('compiles, fails each task test on the skeleton naming its task, and needs each task', {
    timeout: 1_200_000,
  }, () => {
    const { status, out } = pnpm('exercises:verify');
    expect(status, out).toBe(0);
    expect(out).toMatch(/exercises: 01, 02, 03, 04, 05, 06, 07, 08, 09, 10 verified/);
  });
});
