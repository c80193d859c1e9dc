import { REFERENCE } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { cgroupfsPlan } from '../src/cgroupfs.js';
import { detectLayout } from '../src/layout.js';

// Trimmed /proc/self/mountinfo lines of real machines.
const HYBRID = `
35 25 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
37 35 0:32 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
38 35 0:33 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,freezer,release_agent=/x
39 35 0:34 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
40 35 0:35 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
41 35 0:36 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct
`;
const V2 = `
30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const plan = (mountinfo: string, v2Controllers: string[]) =>
  cgroupfsPlan(
    mountinfo,
    detectLayout(mountinfo, '0::/\n', () => v2Controllers),
  );

describe('cgroupfsPlan', REFERENCE, () => {
  it('on v2 mounts cgroup2 itself at /sys/fs/cgroup, with none of the host-wide options', () => {
    expect(plan(V2, ['cpu', 'memory', 'pids'])).toEqual({
      tmpfs: false,
      mounts: [{ fstype: 'cgroup2', at: '', options: null }],
      links: [],
    });
  });

  it('on hybrid mounts a tmpfs and the v1 hierarchies the container joins, each named by its controllers', () => {
    expect(plan(HYBRID, [])).toEqual({
      tmpfs: true,
      mounts: [
        { fstype: 'cgroup', at: 'memory', options: 'memory' },
        { fstype: 'cgroup', at: 'pids', options: 'pids' },
        { fstype: 'cgroup', at: 'cpu,cpuacct', options: 'cpu,cpuacct' },
      ],
      links: [
        { name: 'cpu', pointsTo: 'cpu,cpuacct' },
        { name: 'cpuacct', pointsTo: 'cpu,cpuacct' },
      ],
    });
  });

  it("leaves out hierarchies the container has no cgroup in: their namespace root would be the host's tree", () => {
    const ats = plan(HYBRID, []).mounts.map((m) => m.at);
    expect(ats).not.toContain('freezer');
    expect(ats).not.toContain('systemd');
    expect(ats).not.toContain('unified');
  });

  it('takes hybrid cgroup2 when it owns a controller the container joins', () => {
    expect(plan(HYBRID.replace(/.*\/pids .*\n/, ''), ['pids']).mounts).toContainEqual({
      fstype: 'cgroup2',
      at: 'unified',
      options: null,
    });
  });

  it('drops release_agent, which only the initial namespaces may set', () => {
    const withAgent = HYBRID.replace('rw,memory', 'rw,memory,release_agent=/sbin/agent');
    expect(plan(withAgent, []).mounts[0]).toEqual({ fstype: 'cgroup', at: 'memory', options: 'memory' });
  });

  it('mounts nothing where the host has no cgroup filesystem', () => {
    expect(plan('', [])).toEqual({ tmpfs: false, mounts: [], links: [] });
  });
});
