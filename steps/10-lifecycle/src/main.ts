import { main } from '@ctr/runtime';
import { step10 } from './step.js';

main(step10);
