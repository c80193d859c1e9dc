import { MS_RDONLY } from '@ctr/syscalls';
import { REFERENCE } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { DEVICES, type MountStep, mountPlan } from '../src/mount-plan.js';

const targetOf = (step: MountStep): string => ('target' in step ? step.target : `/dev/${step.device}`);

describe('the mount plan', REFERENCE, () => {
  const plan = mountPlan();
  const order = plan.map(targetOf);

  it('mounts each parent before what goes inside it', () => {
    for (const [i, target] of order.entries()) {
      const parent = order.findIndex((other) => other !== '/' && target.startsWith(`${other}/`) && other !== target);
      if (parent >= 0) expect(parent, `${order[parent]} before ${target}`).toBeLessThan(i);
    }
  });

  it('binds exactly the devices a program expects, no more', () => {
    expect(plan.filter((s) => s.kind === 'bind-device').map(targetOf)).toEqual(DEVICES.map((d) => `/dev/${d}`));
  });

  it('mounts /sys read-only and makes /proc/sys read-only', () => {
    expect(plan).toContainEqual(expect.objectContaining({ fstype: 'sysfs', target: '/sys' }));
    const sys = plan.find((s) => s.kind === 'mount' && s.fstype === 'sysfs');
    expect(sys?.kind === 'mount' && sys.flags & MS_RDONLY).toBe(MS_RDONLY);
    expect(plan).toContainEqual({ kind: 'read-only', target: '/proc/sys' });
  });

  it('gives devpts a new instance, so the container cannot open the host terminals', () => {
    const devpts = plan.find((s) => s.kind === 'mount' && s.fstype === 'devpts');
    expect(devpts?.kind === 'mount' && devpts.data).toContain('newinstance');
    expect(plan).toContainEqual({ kind: 'symlink', target: '/dev/ptmx', pointsTo: 'pts/ptmx' });
  });
});
