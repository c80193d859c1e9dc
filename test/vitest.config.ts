import { suiteConfig } from './src/vitest.ts';

// The test kit's own tests: that it finds, stops and reports what any CLI does.
export default suiteConfig('testkit', ['kit/**/*.test.ts']);
