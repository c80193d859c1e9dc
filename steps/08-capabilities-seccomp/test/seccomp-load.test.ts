/**
 * docker's default filter, loaded by libseccomp into real processes (test/fixtures/seccomp-probe.ts),
 * each in a mount namespace of its own (unshare -m): what it refuses, with which errno, and what
 * the same probes give without it, so that a refusal cannot be the probe's own failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REFERENCE } from '@ctr/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES } from '../src/capabilities.js';
import { compileSeccompFilter, unknownSyscalls } from '../src/libseccomp.js';
import { parseProfile, resolveProfile, type SeccompRules, seccompArchitecture } from '../src/seccomp-profile.js';

const STEP = fileURLToPath(new URL('..', import.meta.url));
const PROBE = 'test/fixtures/seccomp-probe.ts';
// Made in beforeAll, not when the file loads: a run that skips every test here (grading with
// CTR_CLI, pnpm check) runs no afterAll either, and left one directory per run in /tmp.
let mountPoint = '';
beforeAll(() => {
  mountPoint = mkdtempSync(join(tmpdir(), 'ctr-seccomp-probe-'));
});
afterAll(() => {
  if (mountPoint) rmSync(mountPoint, { recursive: true, force: true });
});

interface ProbeResult {
  load: string;
  mount: string;
  unshareUser: string;
  keyctl: string;
  clone3: string;
  getpid: string;
  noNewPrivs: string;
  seccompByThread: string[];
}

/** Runs the probe in a new mount namespace; `prefix` runs before node (setpriv, to drop root). */
function probe(mode: string, prefix: string[] = []): { result: ProbeResult; stderr: string } {
  const run = spawnSync(
    'unshare',
    ['--mount', ...prefix, process.execPath, '--import', 'tsx', PROBE, mode, mountPoint],
    { cwd: STEP, encoding: 'utf8', env: { ...process.env, CTR_TRACE: '1' }, timeout: 60_000 },
  );
  if (run.status !== 0) {
    throw new Error(`the probe (${mode}) failed: status ${run.status}, signal ${run.signal}\n${run.stderr}`);
  }
  return { result: JSON.parse(run.stdout) as ProbeResult, stderr: run.stderr };
}

const dockerDefault = (): SeccompRules =>
  resolveProfile(
    parseProfile(readFileSync(join(STEP, 'profiles/docker-default.json'), 'utf8'), 'docker-default.json'),
    {
      caps: DEFAULT_CAPABILITIES,
      arch: seccompArchitecture(process.arch),
      kernel: release(),
    },
  );

describe("docker's default filter in a real process", REFERENCE, () => {
  it('without a filter, the probes work: mount, keyctl; unshare(CLONE_NEWUSER) and clone3(NULL, 0) fail EINVAL', () => {
    const { result } = probe('unfiltered');
    expect(result).toMatchObject({
      load: 'not asked',
      mount: 'ok',
      // A multi-threaded caller cannot enter a new user namespace; an empty clone_args is invalid.
      unshareUser: 'EINVAL',
      keyctl: 'ok',
      clone3: 'EINVAL',
      getpid: 'ok',
      noNewPrivs: '0',
    });
    expect(new Set(result.seccompByThread)).toEqual(new Set(['0']));
  });

  it('with no_new_privs and the filter: mount, unshare and keyctl get EPERM, clone3 ENOSYS, getpid works', () => {
    const { result, stderr } = probe('filtered');
    expect(result).toMatchObject({
      load: 'ok',
      mount: 'EPERM',
      unshareUser: 'EPERM',
      keyctl: 'EPERM',
      // ENOSYS, not EPERM: glibc then falls back to clone, whose flags the filter can inspect.
      clone3: 'ENOSYS',
      getpid: 'ok',
      noNewPrivs: '1',
    });
    // TSYNC: every thread of Node is in seccomp mode 2 (filter), not only the one that loaded it.
    expect(result.seccompByThread.length).toBeGreaterThan(1);
    expect(new Set(result.seccompByThread)).toEqual(new Set(['2']));
    // A name libseccomp does not know is skipped, as docker does, and the trace says so.
    expect(stderr).toMatch(/seccomp_syscall_resolve_name: .*no_such_system_call.*skipped/);
    expect(stderr).toMatch(
      /seccomp_export_bpf\(\{default SCMP_ACT_ERRNO\(EPERM\), arches \[SCMP_ARCH_.* rules\}\) = \d+ instructions$/m,
    );
    expect(stderr).toMatch(/seccomp\(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, \{len=\d+, .*\) = 0$/m);
  });

  it('leaves no_new_privs alone: root (CAP_SYS_ADMIN) loads the same filter with it off', () => {
    const { result } = probe('without-nnp');
    expect(result).toMatchObject({ load: 'ok', mount: 'EPERM', keyctl: 'EPERM', clone3: 'ENOSYS', noNewPrivs: '0' });
    expect(new Set(result.seccompByThread)).toEqual(new Set(['2']));
  });

  it('without no_new_privs or CAP_SYS_ADMIN, the load fails with a RuntimeError naming EACCES', () => {
    const { result } = probe('without-nnp', ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
    expect(result.load).toMatch(/^RuntimeError: seccomp: the kernel refused the filter \(EACCES\): .*no_new_privs/);
    expect(result.keyctl).toBe('ok');
    expect(new Set(result.seccompByThread)).toEqual(new Set(['0']));
  });
});

/** The program compileSeccompFilter hands the init: struct sock_filter[], 8 bytes an instruction. */
const exportBpf = (rules: SeccompRules): Buffer => Buffer.from(compileSeccompFilter(rules).program, 'base64');

describe('the filter as BPF', REFERENCE, () => {
  it('exports the program libseccomp would load, 8 bytes an instruction, without loading it', () => {
    const program = exportBpf(dockerDefault());
    expect(program.length % 8).toBe(0);
    expect(program.length / 8).toBeGreaterThan(100);
    // BPF_RET|BPF_K (0x06) ends every path; the last instruction is one.
    expect(program.readUInt16LE(program.length - 8)).toBe(0x06);
    const allowAll = exportBpf({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [], flags: [], syscalls: [] });
    expect(allowAll.length).toBeLessThan(program.length);
  });

  it('names the calls this libseccomp does not know, and knows the everyday ones', () => {
    const unknown = unknownSyscalls(dockerDefault());
    expect(unknown).not.toContain('read');
    expect(unknown).not.toContain('clone3');
    const named = new Set(dockerDefault().syscalls.flatMap((rule) => rule.names));
    for (const name of unknown) expect(named).toContain(name);
  });
});
