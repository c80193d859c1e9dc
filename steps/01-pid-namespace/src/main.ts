import { main } from '@ctr/runtime';
import { step01 } from './step.js';

main(step01);
