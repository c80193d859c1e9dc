import { step03 } from '@ctr/03';
import { defineStep } from '@ctr/runtime';
import { cgroups } from './cgroups.js';

export { cgroups, configureCgroups } from './cgroups.js';

export const step04 = defineStep({
  id: '04',
  title: 'cgroups: memory, pids and CPU limits',
  extends: step03,
  adds: [cgroups],
});
