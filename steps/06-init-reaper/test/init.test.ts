import { pidNamespaceProperties } from '@ctr/01/test/properties';
import { utsNamespaceProperties } from '@ctr/02/test/properties';
import { mountNamespaceProperties } from '@ctr/03/test/properties';
import { cgroupProperties } from '@ctr/04/test/properties';
import { networkProperties } from '@ctr/05/test/properties';
import { cliContract, earlierSteps } from '@ctr/testkit';
import { initProperties } from './properties.js';

cliContract('06');
earlierSteps('06', () => {
  pidNamespaceProperties('06', { init: true });
  utsNamespaceProperties('06');
  mountNamespaceProperties('06', { init: true });
  cgroupProperties('06', { init: true });
  networkProperties('06');
});
initProperties('06');
