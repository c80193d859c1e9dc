import { main } from '@ctr/runtime';
import { step09 } from './step.js';

main(step09);
