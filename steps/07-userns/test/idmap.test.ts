import { REFERENCE } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RANGE,
  mapArgs,
  mapText,
  rootfulMap,
  rootlessMap,
  subordinateRange,
  usernsRefusalHint,
} from '../src/idmap.js';

describe('id maps', REFERENCE, () => {
  const subuid = 'ada:100000:65536\n1001:200000:65536\n';

  it('finds a subordinate range by user name or by uid', () => {
    expect(subordinateRange(subuid, 'ada', 1000)).toEqual({ start: 100000, count: 65536 });
    expect(subordinateRange(subuid, 'bob', 1001)).toEqual({ start: 200000, count: 65536 });
    expect(subordinateRange(subuid, 'eve', 1002)).toBeNull();
  });

  it('maps root inside to the range, never to host root', () => {
    expect(mapText(rootfulMap(DEFAULT_RANGE))).toBe('0 100000 65536\n');
  });

  it('maps the rootless user to root, and the range after it through newuidmap', () => {
    expect(mapText(rootlessMap(1000, null))).toBe('0 1000 1\n');
    expect(mapArgs(4242, rootlessMap(1000, { start: 100000, count: 65536 }))).toEqual([
      '4242',
      '0',
      '1000',
      '1',
      '1',
      '100000',
      '65536',
    ]);
  });
});

describe('usernsRefusalHint', REFERENCE, () => {
  const sysctls = (values: Record<string, string>) => (path: string) => values[path] ?? null;

  it("names Ubuntu's AppArmor switch and the exact command to lift it", () => {
    const hint = usernsRefusalHint(sysctls({ '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1\n' }));
    expect(hint).toContain('sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0');
  });

  it("names Debian's older switch and a zero max_user_namespaces", () => {
    expect(usernsRefusalHint(sysctls({ '/proc/sys/kernel/unprivileged_userns_clone': '0' }))).toContain(
      'kernel.unprivileged_userns_clone=1',
    );
    expect(usernsRefusalHint(sysctls({ '/proc/sys/user/max_user_namespaces': '0' }))).toContain(
      'user.max_user_namespaces=',
    );
  });
});
