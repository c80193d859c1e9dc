import { cliContract } from '@ctr/testkit';
import { pidNamespaceProperties } from './properties.js';

cliContract('01');
pidNamespaceProperties('01');
