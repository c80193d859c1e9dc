import { pidNamespace } from '@ctr/01';
import { step06 } from '@ctr/06';
import { defineStep } from '@ctr/runtime';
import { userNamespace } from './user-namespace.js';

export { userNamespace } from './user-namespace.js';

export const step07 = defineStep({
  id: '07',
  title: 'User namespace: root inside, nobody on the host, and rootless mode',
  extends: step06,
  // The PID namespace must now be made inside the user namespace, by the native helper.
  replaces: [pidNamespace],
  adds: [userNamespace],
  rootless: true,
});
