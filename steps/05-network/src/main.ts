import { main } from '@ctr/runtime';
import { step05 } from './step.js';

await main(step05);
