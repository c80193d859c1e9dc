import { pidNamespaceProperties } from '@ctr/01/test/properties';
import { utsNamespaceProperties } from '@ctr/02/test/properties';
import { mountNamespaceProperties } from '@ctr/03/test/properties';
import { cgroupProperties } from '@ctr/04/test/properties';
import { networkProperties } from '@ctr/05/test/properties';
import { initProperties } from '@ctr/06/test/properties';
import { userNamespaceProperties } from '@ctr/07/test/properties';
import { securityProperties } from '@ctr/08/test/properties';
import { imageProperties } from '@ctr/09/test/images';
import { cliContract, earlierSteps } from '@ctr/testkit';
import { lifecycleProperties } from './lifecycle.js';

cliContract('10', { rootless: true });
earlierSteps('10', () => {
  pidNamespaceProperties('10', { init: true });
  utsNamespaceProperties('10');
  // Docker's set has no CAP_SYS_ADMIN, and its profile lets mount through only with it.
  mountNamespaceProperties('10', { init: true, mountFlags: ['--cap-add', 'SYS_ADMIN'] });
  cgroupProperties('10', { init: true });
  networkProperties('10');
  initProperties('10');
  userNamespaceProperties('10');
  securityProperties('10');
  imageProperties('10');
});
lifecycleProperties('10');
