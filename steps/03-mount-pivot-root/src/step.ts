import { step02 } from '@ctr/02';
import { defineStep } from '@ctr/runtime';
import { mountNamespace } from './mount-namespace.js';

export { type MountConfig, mountNamespace } from './mount-namespace.js';
export { type MountStep, mountPlan } from './mount-plan.js';

export const step03 = defineStep({
  id: '03',
  title: 'Mount namespace and pivot_root',
  extends: step02,
  adds: [mountNamespace],
});
