/**
 * Real calls that fail for real: the error must name the call, its arguments and the errno.
 * This suite runs in its own process (vitest's forks pool), so namespaces it unshares die with it.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  kill,
  MNT_DETACH,
  MS_BIND,
  MS_REC,
  mount,
  pivotRoot,
  SyscallError,
  sethostname,
  setns,
  umount2,
  unshare,
} from '../src/index.js';

function failure(call: () => unknown): SyscallError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(SyscallError);
    return error as SyscallError;
  }
  throw new Error('the call was expected to fail');
}

describe('SyscallError', () => {
  it('mount onto a path that does not exist: ENOENT, with every argument shown', () => {
    const error = failure(() => mount('/x-ctr-missing', '/y-ctr-missing', null, MS_BIND | MS_REC));
    expect(error.message).toBe(
      'mount("/x-ctr-missing", "/y-ctr-missing", NULL, MS_BIND|MS_REC, NULL) failed: ENOENT (No such file or directory)',
    );
    expect(error.syscall).toBe('mount');
    expect(error.code).toBe('ENOENT');
    expect(error.errno).toBe(2);
  });

  it('setns on an fd that is not open: EBADF', () => {
    expect(failure(() => setns(987654, CLONE_NEWUTS)).message).toBe(
      'setns(987654, CLONE_NEWUTS) failed: EBADF (Bad file descriptor)',
    );
  });

  it('umount2 of a directory that is not a mount point: EINVAL', () => {
    expect(failure(() => umount2('/usr/share', MNT_DETACH)).message).toBe(
      'umount2("/usr/share", MNT_DETACH) failed: EINVAL (Invalid argument)',
    );
  });

  it('pivot_root, which goes through syscall(2), reports like the others', () => {
    expect(failure(() => pivotRoot('/x-ctr-missing', '/x-ctr-missing')).code).toBe('ENOENT');
  });

  it('kill of a pid that does not exist: ESRCH', () => {
    expect(failure(() => kill(2 ** 22 + 1, 0)).code).toBe('ESRCH');
  });

  it('unshare(CLONE_NEWUSER) from Node: EINVAL, because Node is multi-threaded (man 2 unshare)', () => {
    expect(failure(() => unshare(CLONE_NEWUSER)).message).toBe(
      'unshare(CLONE_NEWUSER) failed: EINVAL (Invalid argument)',
    );
  });
});

describe('working calls', () => {
  it('unshare(CLONE_NEWUTS) + sethostname change the name for this thread and its children only', () => {
    const hostsName = hostname();
    const before = openSync('/proc/self/ns/uts', 'r');
    unshare(CLONE_NEWUTS);
    sethostname('ctr-syscall-test');
    expect(hostname()).toBe('ctr-syscall-test');
    expect(spawnSync('cat', ['/proc/sys/kernel/hostname'], { encoding: 'utf8' }).stdout.trim()).toBe(
      'ctr-syscall-test',
    );
    setns(before, CLONE_NEWUTS);
    closeSync(before);
    expect(hostname()).toBe(hostsName);
  });
});
