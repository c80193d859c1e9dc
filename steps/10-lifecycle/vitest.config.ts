import { suiteConfig } from '../../test/src/vitest.ts';

export default suiteConfig('10');
