/** The generic "nothing left behind" measure, on real mounts, interfaces, cgroups, rules and namespaces. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostState, isClean, leftoversSince, restoreHost } from '../src/host-state.js';

/** A cgroup hierarchy to make a directory in: v1's pids, or the cgroup2 root. */
function cgroupRoot(): string {
  for (const candidate of ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/unified', '/sys/fs/cgroup']) {
    if (existsSync(join(candidate, 'cgroup.procs'))) return candidate;
  }
  throw new Error('no cgroup hierarchy found under /sys/fs/cgroup');
}

describe('host state', () => {
  it('sees what a runtime could leave, by kind, and restoreHost puts the host back', () => {
    const name = `ctrkit${process.pid % 10000}`;
    const dir = mkdtempSync(join(tmpdir(), 'ctr-kit-mount-'));
    const cgroup = join(cgroupRoot(), name);
    const before = hostState();
    try {
      execFileSync('mount', ['-t', 'tmpfs', 'ctrkit', dir]);
      execFileSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
      execFileSync('ip', ['netns', 'add', name]);
      execFileSync('nft', ['add', 'table', 'ip', name]);
      execFileSync('nft', ['add', 'chain', 'ip', name, 'post', '{ type nat hook postrouting priority 100; }']);
      execFileSync('nft', ['add', 'rule', 'ip', name, 'post', 'counter', 'masquerade']);
      mkdirSync(cgroup);
      const leftovers = leftoversSince(before);
      expect(leftovers.mounts).toContain(`${dir} tmpfs ctrkit`);
      expect(leftovers.interfaces.sort()).toEqual([name, `${name}p`]);
      expect(leftovers.netns).toEqual([name]);
      expect(leftovers.cgroups).toEqual([cgroup]);
      expect(leftovers.rules.join('\n')).toMatch(new RegExp(`table ip ${name} \\| counter masquerade`));

      const done = restoreHost(before);
      expect(done.filter((line) => line.startsWith('could not'))).toEqual([]);
      expect(isClean(leftoversSince(before))).toBe(true);
    } finally {
      for (const undo of [
        () => execFileSync('umount', [dir], { stdio: 'ignore' }),
        () => execFileSync('ip', ['link', 'delete', name], { stdio: 'ignore' }),
        () => execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' }),
        () => execFileSync('nft', ['delete', 'table', 'ip', name], { stdio: 'ignore' }),
        () => rmSync(cgroup, { recursive: false }),
      ]) {
        try {
          undo();
        } catch {}
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not count counters that move by themselves as a change', () => {
    const before = hostState();
    expect(isClean(leftoversSince(before, hostState()))).toBe(true);
  });
});
