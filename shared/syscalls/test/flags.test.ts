import { describe, expect, it } from 'vitest';
import { CLONE, MNT, MS, MS_BIND, MS_PRIVATE, MS_REC, renderEnum, renderFlags } from '../src/index.js';

describe('renderFlags', () => {
  it('names every bit the way strace does', () => {
    expect(renderFlags(MS_BIND | MS_REC, MS)).toBe('MS_BIND|MS_REC');
    expect(renderFlags(MS_REC | MS_PRIVATE, MS)).toBe('MS_REC|MS_PRIVATE');
    expect(renderFlags(CLONE.CLONE_NEWPID | CLONE.CLONE_NEWNS, CLONE)).toBe('CLONE_NEWNS|CLONE_NEWPID');
    expect(renderFlags(MNT.MNT_DETACH, MNT)).toBe('MNT_DETACH');
  });

  it('prints zero as 0 and keeps unnamed bits as hex, so nothing is hidden', () => {
    expect(renderFlags(0, MS)).toBe('0');
    expect(renderFlags(MS_BIND | (1 << 30), MS)).toBe('MS_BIND|0x40000000');
    expect(renderFlags(1 << 31, MS)).toBe('0x80000000');
  });

  it('names a single constant, or prints the number when none matches', () => {
    expect(renderEnum(2, { F_GETFD: 1, F_SETFD: 2 })).toBe('F_SETFD');
    expect(renderEnum(99, { F_GETFD: 1 })).toBe('99');
  });
});
