import { step04 } from '@ctr/04';
import { defineStep } from '@ctr/runtime';
import { network } from './network.js';

export { cleanContainerNetwork, configureNetwork, leasesOf, type NetworkConfig, network } from './network.js';

export const step05 = defineStep({
  id: '05',
  title: 'Network: namespace, veth, bridge, NAT, published ports',
  extends: step04,
  adds: [network],
});
