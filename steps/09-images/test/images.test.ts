import { pidNamespaceProperties } from '@ctr/01/test/properties';
import { utsNamespaceProperties } from '@ctr/02/test/properties';
import { mountNamespaceProperties } from '@ctr/03/test/properties';
import { cgroupProperties } from '@ctr/04/test/properties';
import { networkProperties } from '@ctr/05/test/properties';
import { initProperties } from '@ctr/06/test/properties';
import { userNamespaceProperties } from '@ctr/07/test/properties';
import { securityProperties } from '@ctr/08/test/properties';
import { cliContract, earlierSteps } from '@ctr/testkit';
import { imageProperties } from './images.js';

cliContract('09', { rootless: true });
earlierSteps('09', () => {
  pidNamespaceProperties('09', { init: true });
  utsNamespaceProperties('09');
  // Docker's set has no CAP_SYS_ADMIN, and its profile lets mount through only with it.
  mountNamespaceProperties('09', { init: true, mountFlags: ['--cap-add', 'SYS_ADMIN'] });
  cgroupProperties('09', { init: true });
  networkProperties('09');
  initProperties('09');
  userNamespaceProperties('09');
  securityProperties('09');
});
imageProperties('09');
