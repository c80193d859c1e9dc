import { REFERENCE } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { describeLayout, detectLayout, ownCgroups } from '../src/layout.js';

// Trimmed /proc/self/mountinfo lines of real machines.
const HYBRID = `
35 25 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
39 35 0:34 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
40 35 0:35 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
41 35 0:36 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
`;
const V2 = `
30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

describe('detectLayout', REFERENCE, () => {
  it('on a hybrid machine takes each controller from its v1 hierarchy', () => {
    const layout = detectLayout(HYBRID, '4:memory:/process_api/x\n8:pids:/\n2:cpu,cpuacct:/\n0::/\n', () => [
      'hugetlb',
    ]);
    expect(layout.memory).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/memory', ownCgroup: '/process_api/x' });
    expect(layout.pids).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/pids', ownCgroup: '/' });
    expect(layout.cpu).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/cpu,cpuacct', ownCgroup: '/' });
    expect(describeLayout(HYBRID)).toBe('hybrid');
  });

  it('on a v2 machine takes every controller the root offers from cgroup2', () => {
    const layout = detectLayout(V2, '0::/user.slice/user-1000.slice/session-2.scope\n', () => [
      'cpuset',
      'cpu',
      'io',
      'memory',
      'pids',
    ]);
    for (const controller of ['memory', 'pids', 'cpu'] as const) {
      expect(layout[controller]).toEqual({
        version: 2,
        mountPoint: '/sys/fs/cgroup',
        ownCgroup: '/user.slice/user-1000.slice/session-2.scope',
      });
    }
    expect(describeLayout(V2)).toBe('v2');
  });

  it('reports a controller that is nowhere as null, not as an error', () => {
    expect(detectLayout(V2, '0::/\n', () => ['memory']).pids).toBeNull();
  });
});

describe('ownCgroups', REFERENCE, () => {
  it('reads v1 lines by controller, and the v2 line', () => {
    const own = ownCgroups('9:name=systemd:/\n2:cpu,cpuacct:/a\n0::/b\n');
    expect(own.v1.get('cpu')).toBe('/a');
    expect(own.v1.get('cpuacct')).toBe('/a');
    expect(own.v2).toBe('/b');
  });
});
