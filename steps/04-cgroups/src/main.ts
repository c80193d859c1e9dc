import { main } from '@ctr/runtime';
import { step04 } from './step.js';

main(step04);
