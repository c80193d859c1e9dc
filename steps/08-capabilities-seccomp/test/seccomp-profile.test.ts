import { readFileSync } from 'node:fs';
import { RuntimeError, UsageError } from '@ctr/runtime';
import { REFERENCE } from '@ctr/testkit';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES as DEFAULT_CAPS } from '../src/capabilities.js';
import { parseProfile, resolveProfile, type SeccompRules, seccompArchitecture } from '../src/seccomp-profile.js';

const DOCKER_DEFAULT = readFileSync(new URL('../profiles/docker-default.json', import.meta.url), 'utf8');
const SOURCE = '--security-opt seccomp=/x.json';

const X86_64 = { arch: 'SCMP_ARCH_X86_64', kernel: '6.1.0-18-amd64' };

const dockerDefault = (caps: readonly string[], host = X86_64): SeccompRules =>
  resolveProfile(parseProfile(DOCKER_DEFAULT, 'docker-default.json'), { caps, ...host });

/** Every name a rule lets through unconditionally (no argument checks). */
const allowed = (rules: SeccompRules): Set<string> =>
  new Set(rules.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.args.length === 0).flatMap((r) => r.names));
/** Every name any rule mentions, whatever its action and arguments. */
const mentioned = (rules: SeccompRules): Set<string> => new Set(rules.syscalls.flatMap((r) => r.names));

describe("docker's default profile, resolved", REFERENCE, () => {
  const rules = dockerDefault(DEFAULT_CAPS);

  it('refuses with EPERM what no rule names, and keeps x86_64 with the x86 and x32 entry points', () => {
    expect(rules.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(rules.defaultErrnoRet).toBe(1);
    expect(rules.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  it('with the default 14 capabilities, leaves mount, unshare, setns and keyctl to the default action', () => {
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'keyctl', 'bpf', 'kcmp', 'open_by_handle_at']) {
      expect(mentioned(rules), name).not.toContain(name);
    }
    for (const name of ['read', 'write', 'execve', 'getpid', 'chroot', 'arch_prctl']) {
      expect(allowed(rules), name).toContain(name);
    }
  });

  it('answers clone3 with ENOSYS, so glibc falls back to clone, whose namespace flags are checked', () => {
    expect(rules.syscalls).toContainEqual({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, args: [] });
    const clone = rules.syscalls.filter((r) => r.names.includes('clone'));
    expect(clone).toEqual([
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: all must be clear.
        args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      },
    ]);
  });

  it('with CAP_SYS_ADMIN added, allows mount, unshare, setns and clone, and lets clone3 through', () => {
    const admin = dockerDefault([...DEFAULT_CAPS, 'CAP_SYS_ADMIN']);
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3'])
      expect(allowed(admin), name).toContain(name);
    expect(admin.syscalls.filter((r) => r.action === 'SCMP_ACT_ERRNO')).toEqual([]);
    // CAP_SYS_ADMIN does not bring keyctl: no rule of docker's profile names it.
    expect(mentioned(admin)).not.toContain('keyctl');
  });

  it('follows the capability a call needs: CAP_SYS_PTRACE brings kcmp, CAP_DAC_READ_SEARCH open_by_handle_at', () => {
    expect(allowed(dockerDefault([...DEFAULT_CAPS, 'CAP_SYS_PTRACE']))).toContain('kcmp');
    expect(allowed(dockerDefault([...DEFAULT_CAPS, 'CAP_DAC_READ_SEARCH']))).toContain('open_by_handle_at');
  });

  it('on arm64, adds arm and keeps the arm-only calls instead of the x86 ones', () => {
    const arm = dockerDefault(DEFAULT_CAPS, { arch: 'SCMP_ARCH_AARCH64', kernel: '6.1.0' });
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(allowed(arm)).toContain('cacheflush');
    expect(mentioned(arm)).not.toContain('arch_prctl');
  });

  it('on a kernel older than a rule asks for, leaves the rule out (ptrace before 4.8)', () => {
    expect(mentioned(dockerDefault(DEFAULT_CAPS, { arch: 'SCMP_ARCH_X86_64', kernel: '4.8.0' }))).toContain('ptrace');
    expect(mentioned(dockerDefault(DEFAULT_CAPS, { arch: 'SCMP_ARCH_X86_64', kernel: '4.7.10-gentoo' }))).not.toContain(
      'ptrace',
    );
  });

  it('is plain JSON, so it reaches the init unchanged', () => {
    expect(JSON.parse(JSON.stringify(rules))).toEqual(rules);
  });
});

describe("includes and excludes, by moby's rules", REFERENCE, () => {
  const profile = parseProfile(
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['all_of_two'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_A', 'CAP_B'] } },
        { names: ['none_of_two'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_A', 'CAP_B'] } },
        { name: 'old_name_field', action: 'SCMP_ACT_ALLOW', excludes: { arches: ['arm64'] } },
        { names: ['from_6_1'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.1' } },
        { names: ['before_6_1'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '6.1' } },
        { names: ['amd64_only'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
      ],
    }),
    SOURCE,
  );
  const names = (caps: string[], arch: string, kernel: string) =>
    resolveProfile(profile, { caps, arch, kernel }).syscalls.flatMap((r) => r.names);

  it('includes.caps needs every capability listed; excludes.caps drops the rule on any one of them', () => {
    expect(names(['CAP_A'], 'SCMP_ARCH_X86_64', '6.1.0')).not.toContain('all_of_two');
    expect(names(['CAP_A', 'CAP_B'], 'SCMP_ARCH_X86_64', '6.1.0')).toContain('all_of_two');
    expect(names([], 'SCMP_ARCH_X86_64', '6.1.0')).toContain('none_of_two');
    expect(names(['CAP_B'], 'SCMP_ARCH_X86_64', '6.1.0')).not.toContain('none_of_two');
  });

  it("compares arches with moby's short names (amd64, arm64), and reads the old 'name' field", () => {
    expect(names([], 'SCMP_ARCH_X86_64', '6.1.0')).toEqual(expect.arrayContaining(['amd64_only', 'old_name_field']));
    expect(names([], 'SCMP_ARCH_AARCH64', '6.1.0')).not.toContain('amd64_only');
    expect(names([], 'SCMP_ARCH_AARCH64', '6.1.0')).not.toContain('old_name_field');
  });

  it('compares the kernel by "<kernel>.<major>" only: 6.1.0-18-amd64 and 6.1-rc5 are 6.1', () => {
    for (const kernel of ['6.1.0-18-amd64', '6.1-rc5', '6.18.44-fc-v782', '7.0']) {
      expect(names([], 'SCMP_ARCH_X86_64', kernel), kernel).toContain('from_6_1');
      expect(names([], 'SCMP_ARCH_X86_64', kernel), kernel).not.toContain('before_6_1');
    }
    expect(names([], 'SCMP_ARCH_X86_64', '6.0.19')).toEqual(expect.arrayContaining(['before_6_1']));
    expect(names([], 'SCMP_ARCH_X86_64', '5.19.0')).not.toContain('from_6_1');
  });

  it('refuses a kernel release it cannot read, only when a rule needs it', () => {
    expect(() => names([], 'SCMP_ARCH_X86_64', 'unknown')).toThrow(RuntimeError);
    const noKernelRules = parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}', SOURCE);
    expect(resolveProfile(noKernelRules, { caps: [], arch: 'SCMP_ARCH_X86_64', kernel: 'unknown' }).syscalls).toEqual(
      [],
    );
  });

  it("takes 'architectures' as it is when the profile has no archMap", () => {
    const listed = parseProfile('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"]}', SOURCE);
    expect(resolveProfile(listed, { caps: [], ...X86_64 }).architectures).toEqual(['SCMP_ARCH_X86_64']);
  });
});

describe('seccompArchitecture', REFERENCE, () => {
  it("names Node's architectures as libseccomp does", () => {
    expect(seccompArchitecture('x64')).toBe('SCMP_ARCH_X86_64');
    expect(seccompArchitecture('arm64')).toBe('SCMP_ARCH_AARCH64');
    expect(seccompArchitecture('ppc64', 'LE')).toBe('SCMP_ARCH_PPC64LE');
    expect(() => seccompArchitecture('wasm32')).toThrow(/seccomp=unconfined/);
  });
});

describe('a malformed profile', REFERENCE, () => {
  const profileWith = (rule: object) => JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [rule] });
  const refusals: [string, string, RegExp][] = [
    ['not JSON', '{"defaultAction": ', /^--security-opt seccomp=\/x\.json: is not JSON \(.*\): give a docker seccomp/],
    ['not an object', '[]', /: is a list, not an object: write it as \{ \.\.\. \}$/],
    [
      'no default action',
      '{"syscalls": []}',
      /: defaultAction is missing: set it .* or run with --security-opt seccomp=unconfined$/,
    ],
    [
      'an unknown action',
      profileWith({ names: ['read'], action: 'SCMP_ACT_FOO' }),
      /: syscalls\[0\]\.action "SCMP_ACT_FOO" is not a seccomp action: use one of SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, /,
    ],
    ['SCMP_ACT_NOTIFY', profileWith({ names: ['read'], action: 'SCMP_ACT_NOTIFY' }), /needs a seccomp agent/],
    [
      'no names',
      profileWith({ action: 'SCMP_ACT_ALLOW' }),
      /: syscalls\[0\]\.names is missing or empty: name the system calls/,
    ],
    [
      'both name and names',
      profileWith({ name: 'read', names: ['write'], action: 'SCMP_ACT_ALLOW' }),
      /has both 'name' and 'names'/,
    ],
    [
      'a name with capitals',
      profileWith({ names: ['Mount'], action: 'SCMP_ACT_ALLOW' }),
      /syscalls\[0\]\.names\[0\] "Mount" is not valid/,
    ],
    [
      'a typo in a key',
      profileWith({ names: ['read'], action: 'SCMP_ACT_ALLOW', errno: 1 }),
      /syscalls\[0\]\.errno is not a key/,
    ],
    [
      'errnoRet with ALLOW',
      profileWith({ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }),
      /syscalls\[0\]\.errnoRet is set but SCMP_ACT_ALLOW returns no errno/,
    ],
    [
      'an argument index above 5',
      profileWith({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }),
      /syscalls\[0\]\.args\[0\]\.index 6 is not an argument index/,
    ],
    [
      'an unknown comparison',
      profileWith({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'EQ' }] }),
      /syscalls\[0\]\.args\[0\]\.op "EQ" is not a comparison: use one of SCMP_CMP_EQ/,
    ],
    [
      'a value JavaScript cannot hold exactly',
      profileWith({
        names: ['read'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }],
      }),
      /syscalls\[0\]\.args\[0\]\.value 1152921504606847000 is not a value this runtime can compare/,
    ],
    [
      'a malformed minKernel',
      profileWith({ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5' } }),
      /syscalls\[0\]\.includes\.minKernel "5" is not a kernel version: write "<kernel>\.<major>"/,
    ],
    [
      'an OCI arch name in arches',
      profileWith({ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['SCMP_ARCH_X86_64'] } }),
      /syscalls\[0\]\.includes\.arches\[0\] "SCMP_ARCH_X86_64" is not valid: use moby's names/,
    ],
    [
      'a capability without CAP_',
      profileWith({ names: ['read'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['SYS_ADMIN'] } }),
      /excludes\.caps\[0\] "SYS_ADMIN" is not valid: write a capability as "CAP_SYS_ADMIN"/,
    ],
    [
      'an unknown architecture',
      '{"defaultAction":"SCMP_ACT_ERRNO","archMap":[{"architecture":"SCMP_ARCH_VAX","subArchitectures":[]}]}',
      /archMap\[0\]\.architecture "SCMP_ARCH_VAX" is not an architecture/,
    ],
    [
      'both architectures and archMap',
      '{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":[]}]}',
      /architectures and 'archMap' are both set/,
    ],
    ['syscalls not a list', '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":{}}', /: syscalls is an object, not a list/],
  ];

  it.each(refusals)('%s: one line naming the place and what to do', (_what, text, message) => {
    let error: unknown;
    try {
      parseProfile(text, SOURCE);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    const line = (error as UsageError).message;
    expect(line).toMatch(message);
    expect(line.startsWith(`${SOURCE}: `)).toBe(true);
    expect(line).not.toContain('\n');
  });

  it('accepts what docker accepts: null args, the old name field, a comment, errnoRet with ERRNO', () => {
    const profile = parseProfile(
      profileWith({ name: 'read', action: 'SCMP_ACT_ERRNO', errnoRet: 38, args: null, comment: 'why' }),
      SOURCE,
    );
    expect(profile.syscalls).toEqual([
      { names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, args: [], includes: null, excludes: null },
    ]);
  });
});
