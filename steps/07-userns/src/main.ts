import { main } from '@ctr/runtime';
import { step07 } from './step.js';

main(step07);
