import { defineStep } from '@ctr/runtime';
import { pidNamespace } from './pid-namespace.js';

export { pidNamespace } from './pid-namespace.js';

export const step01 = defineStep({
  id: '01',
  title: 'PID namespace',
  extends: null,
  adds: [pidNamespace],
});
