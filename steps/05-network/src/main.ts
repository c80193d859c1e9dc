import { main } from '@ctr/runtime';
import { step05 } from './step.js';

main(step05);
