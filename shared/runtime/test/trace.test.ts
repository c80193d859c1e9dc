/**
 * CTR_TRACE on real starts: every process of the runtime writes to one trace, in the order the
 * protocol imposes, each line naming the step and hook that asked; and nothing when it is off.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, run } from '@ctr/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'ctr-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Line {
  role: string;
  asker: string;
  text: string;
}

async function traced(step: string, args: string[], file = join(dir, `${step}.trace`)): Promise<Line[]> {
  const result = await run(step, ['--rootfs', `${REPO}rootfs`, ...args], { env: { ...process.env, CTR_TRACE: file } });
  expect(result.exitCode, result.stderr).toBe(0);
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [, role = '', asker = '', text = ''] = /^(\S+)\s+(\S+(?: \S+)?)\s{2,}(.*)$/.exec(line) ?? [];
      return { role, asker, text };
    });
}

const indexOf = (lines: Line[], role: string, text: RegExp): number =>
  lines.findIndex((line) => line.role === role && text.test(line.text));

describe('CTR_TRACE', () => {
  it('writes the host and the init to one file, in the order of the protocol, each line named', async () => {
    const lines = await traced('03', ['/bin/true']);
    const order = [
      indexOf(lines, 'host', /^unshare\(CLONE_NEWPID\) = 0$/),
      indexOf(lines, 'host', /^\$ .* init &$/),
      indexOf(lines, 'host', /^send spec$/),
      indexOf(lines, 'init', /^recv spec$/),
      indexOf(lines, 'init', /^unshare\(CLONE_NEWNS\|CLONE_NEWUTS\|CLONE_NEWIPC\) = 0$/),
      indexOf(lines, 'host', /^send go$/),
      indexOf(lines, 'init', /^mount\(NULL, "\/", NULL, MS_REC\|MS_PRIVATE, NULL\) = 0$/),
      indexOf(lines, 'init', /^pivot_root\("\.", "\."\) = 0$/),
      indexOf(lines, 'init', /^execve\("\/bin\/true"/),
      indexOf(lines, 'host', /^recv end-of-file/),
    ];
    expect(
      order.every((index) => index >= 0),
      JSON.stringify(order),
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(lines.find((line) => /^sethostname/.test(line.text))?.asker).toBe('02 uts.setup');
    expect(lines.find((line) => /^pivot_root/.test(line.text))?.asker).toBe('03 mnt.setup');
    expect(lines.find((line) => /^unshare\(CLONE_NEWPID\)/.test(line.text))?.asker).toBe('01 pid.aroundSpawn');
    expect(lines.filter((line) => line.role === '' || line.asker === '')).toEqual([]);
  });

  it("shows a failed call with its errno, and the helper's lines from step 07, and cgroup files written", async () => {
    const lines = await traced('07', ['--net', 'none', '--memory', '100m', '/bin/true']);
    expect(indexOf(lines, 'helper', /^unshare\(CLONE_NEWUSER\) = 0$/)).toBeGreaterThanOrEqual(0);
    expect(indexOf(lines, 'helper', /^unshare\(CLONE_NEWPID\) = 0$/)).toBeGreaterThan(
      indexOf(lines, 'host', /^write\("\/proc\/\d+\/uid_map", "0 \d+ \d+\\n"\) = \d+$/),
    );
    expect(
      lines.some((line) => line.asker === '07 cgroups.attach' && /memory\.limit_in_bytes|memory\.max/.test(line.text)),
    ).toBe(true);
    // /proc/kcore is masked only where it exists: on this kernel it does not, and says so.
    expect(lines.some((line) => / = -1 ENOENT \(No such file or directory\)$/.test(line.text))).toBe(true);
  });

  it('writes nothing, and starts the same, when it is off', async () => {
    const result = await run('03', ['--rootfs', `${REPO}rootfs`, '/bin/sh', '-c', 'echo hi']);
    expect(result).toMatchObject({ exitCode: 0, stdout: 'hi\n', stderr: '' });
  });
});
