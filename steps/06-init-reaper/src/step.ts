import { step05 } from '@ctr/05';
import { defineStep } from '@ctr/runtime';
import { initReaper } from './init-reaper.js';

export { initReaper } from './init-reaper.js';

export const step06 = defineStep({
  id: '06',
  title: 'An init that reaps zombies, forwards signals and keeps exit codes',
  extends: step05,
  adds: [initReaper],
});
