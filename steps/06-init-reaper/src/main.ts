import { main } from '@ctr/runtime';
import { step06 } from './step.js';

main(step06);
