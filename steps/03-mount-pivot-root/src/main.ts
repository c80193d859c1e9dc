import { main } from '@ctr/runtime';
import { step03 } from './step.js';

await main(step03);
