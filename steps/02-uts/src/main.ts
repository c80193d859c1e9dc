import { main } from '@ctr/runtime';
import { step02 } from './step.js';

await main(step02);
