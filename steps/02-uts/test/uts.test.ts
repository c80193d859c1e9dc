import { pidNamespaceProperties } from '@ctr/01/test/properties';
import { cliContract, earlierSteps } from '@ctr/testkit';
import { utsNamespaceProperties } from './properties.js';

cliContract('02');
earlierSteps('02', () => {
  pidNamespaceProperties('02');
});
utsNamespaceProperties('02');
