import { pidNamespaceProperties } from '@ctr/01/test/properties';
import { cliContract } from '@ctr/testkit';
import { utsNamespaceProperties } from './properties.js';

cliContract('02');
pidNamespaceProperties('02');
utsNamespaceProperties('02');
