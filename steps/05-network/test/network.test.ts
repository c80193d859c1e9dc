import { pidNamespaceProperties } from '@ctr/01/test/properties';
import { utsNamespaceProperties } from '@ctr/02/test/properties';
import { mountNamespaceProperties } from '@ctr/03/test/properties';
import { cgroupProperties } from '@ctr/04/test/properties';
import { cliContract, earlierSteps } from '@ctr/testkit';
import { networkProperties } from './properties.js';

cliContract('05');
earlierSteps('05', () => {
  pidNamespaceProperties('05');
  utsNamespaceProperties('05');
  mountNamespaceProperties('05');
  cgroupProperties('05');
});
networkProperties('05');
