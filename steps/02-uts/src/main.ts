import { main } from '@ctr/runtime';
import { step02 } from './step.js';

main(step02);
