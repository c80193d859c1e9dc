import { step07 } from '@ctr/07';
import { defineStep } from '@ctr/runtime';
import { security } from './security.js';

export { CAPABILITIES, capabilityMask, DEFAULT_CAPABILITIES } from './capabilities.js';
export { libseccompVersion } from './libseccomp.js';
export { type SecurityConfig, security } from './security.js';
export type { ContainerUser } from './user.js';

export const step08 = defineStep({
  id: '08',
  title: 'Capabilities, no_new_privs and seccomp: what root inside may still do',
  extends: step07,
  adds: [security],
});
