import { main } from '@ctr/runtime';
import { step08 } from './step.js';

main(step08);
