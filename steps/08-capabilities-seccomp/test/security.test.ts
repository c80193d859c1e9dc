import { pidNamespaceProperties } from '@ctr/01/test/properties';
import { utsNamespaceProperties } from '@ctr/02/test/properties';
import { mountNamespaceProperties } from '@ctr/03/test/properties';
import { cgroupProperties } from '@ctr/04/test/properties';
import { networkProperties } from '@ctr/05/test/properties';
import { initProperties } from '@ctr/06/test/properties';
import { userNamespaceProperties } from '@ctr/07/test/properties';
import { cliContract, earlierSteps } from '@ctr/testkit';
import { escapeProperties } from './escapes.js';
import { securityProperties } from './properties.js';

cliContract('08', { rootless: true });
earlierSteps('08', () => {
  pidNamespaceProperties('08', { init: true });
  utsNamespaceProperties('08');
  // Docker's set has no CAP_SYS_ADMIN, and its profile lets mount through only with it.
  mountNamespaceProperties('08', { init: true, mountFlags: ['--cap-add', 'SYS_ADMIN'] });
  cgroupProperties('08', { init: true });
  networkProperties('08');
  initProperties('08');
  userNamespaceProperties('08');
});
securityProperties('08');
escapeProperties('08');
