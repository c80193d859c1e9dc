import { main } from '@ctr/runtime';
import { step03 } from './step.js';

main(step03);
