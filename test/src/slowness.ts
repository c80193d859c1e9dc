/**
 * How much slower than a usual machine this one is, as a factor for every wait and time-out of
 * the kit: the time a test gives a process to appear, a runtime to clean up, a CLI to finish.
 * These are hang detectors, never measurements (`pnpm bench` measures), so on a slow machine they
 * must stretch, not fail: under QEMU's software CPU (`pnpm test:v2`) a start through tsx takes
 * 6-11 s, and a fixed 10 s wait for the container's process failed 2-3 tests of step 04.
 *
 *   CTR_TEST_SLOWNESS=10 pnpm --filter 04 test      (test/vm/run.sh sets it in the guest)
 */
export function parseSlowness(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  const factor = Number(value);
  if (!Number.isFinite(factor) || factor < 1) {
    throw new Error(
      `CTR_TEST_SLOWNESS=${JSON.stringify(value)}: give a number of 1 or more (10 means ten times slower)`,
    );
  }
  return factor;
}

export const SLOWNESS = parseSlowness(process.env.CTR_TEST_SLOWNESS);

/** `ms` stretched by this machine's slowness. */
export function scaled(ms: number): number {
  return Math.round(ms * SLOWNESS);
}
