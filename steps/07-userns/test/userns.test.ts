import { pidNamespaceProperties } from '@ctr/01/test/properties';
import { utsNamespaceProperties } from '@ctr/02/test/properties';
import { mountNamespaceProperties } from '@ctr/03/test/properties';
import { cgroupProperties } from '@ctr/04/test/properties';
import { networkProperties } from '@ctr/05/test/properties';
import { initProperties } from '@ctr/06/test/properties';
import { cliContract, earlierSteps } from '@ctr/testkit';
import { userNamespaceProperties } from './properties.js';

cliContract('07', { rootless: true });
earlierSteps('07', () => {
  pidNamespaceProperties('07', { init: true });
  utsNamespaceProperties('07');
  mountNamespaceProperties('07', { init: true });
  cgroupProperties('07', { init: true });
  networkProperties('07');
  initProperties('07');
});
userNamespaceProperties('07');
