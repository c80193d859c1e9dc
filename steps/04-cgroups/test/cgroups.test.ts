import { pidNamespaceProperties } from '@ctr/01/test/properties';
import { utsNamespaceProperties } from '@ctr/02/test/properties';
import { mountNamespaceProperties } from '@ctr/03/test/properties';
import { cliContract, earlierSteps } from '@ctr/testkit';
import { cgroupProperties } from './properties.js';

cliContract('04');
earlierSteps('04', () => {
  pidNamespaceProperties('04');
  utsNamespaceProperties('04');
  mountNamespaceProperties('04');
});
cgroupProperties('04');
