import { main } from '@ctr/runtime';
import { step06 } from './step.js';

await main(step06);
