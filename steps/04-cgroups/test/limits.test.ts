import { REFERENCE } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import {
  type Controller,
  limitFiles,
  oomCounter,
  parseCpus,
  parseMemory,
  parsePidsLimit,
  type Version,
} from '../src/limits.js';

describe('parseMemory, with docker meanings', REFERENCE, () => {
  it.each([
    ['100m', 100 * 1024 ** 2],
    ['100M', 100 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['81920k', 80 * 1024 ** 2],
    ['104857600', 104857600],
    ['64mb', 64 * 1024 ** 2],
  ])('%s is %i bytes', (text, bytes) => {
    expect(parseMemory(text)).toBe(bytes);
  });

  it.each(['abc', '0', '-1m', '10x', '', 'm'])('rejects %j with a hint', (text) => {
    expect(() => parseMemory(text)).toThrow(/is not a size: use a number with b, k, m or g/);
  });

  it('rejects less than the 64m minimum, which the init alone nearly fills', () => {
    expect(() => parseMemory('32m')).toThrow(/below the minimum of 64m/);
  });
});

describe('parsePidsLimit and parseCpus', REFERENCE, () => {
  it('takes a positive whole number of tasks', () => {
    expect(parsePidsLimit('20')).toBe(20);
    for (const bad of ['0', '-5', '2.5', 'many']) expect(() => parsePidsLimit(bad)).toThrow(/at least 1/);
  });

  it('takes a positive number of CPUs up to the machine', () => {
    expect(parseCpus('0.5', 2)).toBe(0.5);
    expect(parseCpus('2', 2)).toBe(2);
    for (const bad of ['0', '-1', 'half', '0.001']) expect(() => parseCpus(bad, 2)).toThrow(/at least 0.01/);
    expect(() => parseCpus('3', 2)).toThrow(/more than the 2 CPUs/);
  });
});

describe('limitFiles: v1 and v2 name the same limits differently', REFERENCE, () => {
  const all = (version: Version) => () => version;
  const limits = { memory: 50 * 1024 ** 2, pids: 20, cpus: 0.5 };

  it('writes the v2 files', () => {
    expect(limitFiles(limits, all(2))).toEqual([
      { controller: 'memory', file: 'memory.max', value: '52428800' },
      { controller: 'memory', file: 'memory.swap.max', value: '0', optional: true },
      { controller: 'pids', file: 'pids.max', value: '20' },
      { controller: 'cpu', file: 'cpu.max', value: '50000 100000' },
    ]);
  });

  it('writes the v1 files, the period before the quota', () => {
    expect(limitFiles(limits, all(1))).toEqual([
      { controller: 'memory', file: 'memory.limit_in_bytes', value: '52428800' },
      { controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: '52428800', optional: true },
      { controller: 'pids', file: 'pids.max', value: '20' },
      { controller: 'cpu', file: 'cpu.cfs_period_us', value: '100000' },
      { controller: 'cpu', file: 'cpu.cfs_quota_us', value: '50000' },
    ]);
  });

  it('follows each controller to its own version on a hybrid machine', () => {
    const hybrid = (controller: Controller): Version => (controller === 'cpu' ? 2 : 1);
    expect(limitFiles({ memory: 8 * 1024 ** 2, cpus: 1 }, hybrid).map((f) => f.file)).toEqual([
      'memory.limit_in_bytes',
      'memory.memsw.limit_in_bytes',
      'cpu.max',
    ]);
  });

  it('writes nothing when no limit is asked for', () => {
    expect(limitFiles({}, all(2))).toEqual([]);
  });

  it('reads OOM kills from memory.events (v2) or memory.oom_control (v1)', () => {
    expect(oomCounter(2)).toEqual({ file: 'memory.events', key: 'oom_kill' });
    expect(oomCounter(1)).toEqual({ file: 'memory.oom_control', key: 'oom_kill' });
  });
});
