import { describe, expect, it } from 'vitest';
import { exited, exitStatus, shellExitCode, signaled, termSignal } from '../src/index.js';

/** wait(2) statuses as the kernel builds them: exit code << 8, the signal in the low 7 bits, 0x7f when stopped. */
describe('the wait status macros', () => {
  it('read an exit', () => {
    expect([exited(3 << 8), exitStatus(3 << 8), signaled(3 << 8)]).toEqual([true, 3, false]);
    expect(shellExitCode(3 << 8)).toBe(3);
  });

  it('read a death by signal, core dump bit or not', () => {
    expect([exited(9), signaled(9), termSignal(9)]).toEqual([false, true, 9]);
    expect(signaled(0x80 | 6)).toBe(true);
    expect(shellExitCode(9)).toBe(137);
  });

  it('do not take a stopped child (0x7f, WUNTRACED) for a signalled one', () => {
    const stoppedBySigstop = (19 << 8) | 0x7f;
    expect([exited(stoppedBySigstop), signaled(stoppedBySigstop)]).toEqual([false, false]);
  });
});
