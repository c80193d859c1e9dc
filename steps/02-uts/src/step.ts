import { step01 } from '@ctr/01';
import { defineStep } from '@ctr/runtime';
import { ipcNamespace, utsNamespace } from './uts-namespace.js';

export { ipcNamespace, utsNamespace, validHostname } from './uts-namespace.js';

export const step02 = defineStep({
  id: '02',
  title: 'UTS and IPC namespaces',
  extends: step01,
  adds: [utsNamespace, ipcNamespace],
});
