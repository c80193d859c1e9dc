import { step03 } from '@ctr/03';
import { defineStep } from '@ctr/runtime';
import { cgroupfs } from './cgroupfs.js';
import { cgroups } from './cgroups.js';

export { cgroupfs, cgroupfsPlan } from './cgroupfs.js';
export { type CgroupConfig, cgroups, configureCgroups, containerDir } from './cgroups.js';
export { describeLayout, type Layout, readLayout } from './layout.js';

export const step04 = defineStep({
  id: '04',
  title: 'cgroups: memory, pids and CPU limits',
  extends: step03,
  adds: [cgroups, cgroupfs],
});
