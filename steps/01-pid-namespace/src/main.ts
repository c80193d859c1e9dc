import { main } from '@ctr/runtime';
import { step01 } from './step.js';

await main(step01);
