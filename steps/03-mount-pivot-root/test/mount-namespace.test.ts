import { pidNamespaceProperties } from '@ctr/01/test/properties';
import { utsNamespaceProperties } from '@ctr/02/test/properties';
import { cliContract, earlierSteps } from '@ctr/testkit';
import { mountNamespaceProperties } from './properties.js';

cliContract('03');
earlierSteps('03', () => {
  pidNamespaceProperties('03');
  utsNamespaceProperties('03');
});
mountNamespaceProperties('03');
