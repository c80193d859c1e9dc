/**
 * Docker's seccomp profile format, read and resolved for one container.
 *
 * A profile is a default action (docker's: fail with EPERM) and a list of rules that let named
 * system calls through, some only under conditions: a rule may apply only with a capability
 * (mount is allowed only with CAP_SYS_ADMIN, since only then can the kernel's own check pass), on
 * an architecture (arch_prctl exists only on x86), or on a kernel new enough to have the call.
 * Those conditions are decided here, on the host, exactly as moby's profiles/seccomp/
 * seccomp_linux.go decides them; what crosses to the init is the plain list of rules that
 * applies (SeccompRules), which libseccomp.ts turns into a BPF filter.
 *
 * Pure logic: no system calls, so every branch is tested without a kernel.
 */
import { endianness } from 'node:os';
import { RuntimeError, UsageError } from '@ctr/runtime';

/** libseccomp's actions (runc's list but SCMP_ACT_NOTIFY, which needs a seccomp agent). */
export const SECCOMP_ACTIONS = [
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_LOG',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_TRAP',
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

/** libseccomp's comparisons of a system call's argument. */
export const SECCOMP_OPERATORS = [
  'SCMP_CMP_EQ',
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_GT',
  'SCMP_CMP_GE',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];

/**
 * The architecture names of the OCI runtime spec, with the name moby compares a rule's
 * `includes.arches`/`excludes.arches` with (its goToNative table: amd64, not x86_64). x32 has no
 * Go architecture, so a rule conditioned on "x32" alone never applies, in moby as here.
 */
const ARCHITECTURES: Readonly<Record<string, string>> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'amd64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'arm64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mips3l64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_RISCV64: 'riscv64',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_LOONGARCH64: 'loongarch64',
};
export const SECCOMP_ARCHITECTURES = Object.keys(ARCHITECTURES);

/**
 * Filter flags a profile may ask for. TSYNC is always on here (every thread of the Node init gets
 * the filter), so asking for it changes nothing, as in runc.
 */
export const SECCOMP_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
] as const;
export type SeccompFlag = (typeof SECCOMP_FLAGS)[number];

export interface SeccompArg {
  /** Which argument of the call, 0 to 5. */
  index: number;
  value: number;
  /** The second operand of SCMP_CMP_MASKED_EQ (value is the mask); 0 otherwise. */
  valueTwo: number;
  op: SeccompOperator;
}

/** The kernel version "6.1" of a `minKernel` condition. */
export interface KernelVersion {
  kernel: number;
  major: number;
}

export interface SeccompCondition {
  caps: string[];
  /** moby's short names: amd64, arm64, x86, s390x... */
  arches: string[];
  minKernel: KernelVersion | null;
}

/** A rule as the profile says it, conditions included. */
export interface SeccompProfileRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args: SeccompArg[];
  includes: SeccompCondition | null;
  excludes: SeccompCondition | null;
}

export interface SeccompProfile {
  /** Where it came from, to start every message about it with: `--security-opt seccomp=/x.json`. */
  source: string;
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures: string[];
  archMap: { architecture: string; subArchitectures: string[] }[];
  flags: SeccompFlag[];
  syscalls: SeccompProfileRule[];
}

/** A rule that applies to this container: what the init hands to libseccomp. */
export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args: SeccompArg[];
}

/** The filter of one container, plain JSON: it travels from the host to the init in the spec. */
export interface SeccompRules {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** SCMP_ARCH_* names; calls made through another architecture's entry are killed. */
  architectures: string[];
  flags: SeccompFlag[];
  syscalls: SeccompRule[];
}

type Json = unknown;
type JsonObject = { readonly [key: string]: Json };

/**
 * Reads a docker-format profile. Anything malformed is refused with one line naming the place
 * (`syscalls[3].action`) and what would be right; nothing is guessed, since a rule silently
 * dropped is a hole in the filter or a program that fails for no visible reason.
 */
export function parseProfile(text: string, source: string): SeccompProfile {
  const fail = (where: string, what: string, todo: string): never => {
    throw new UsageError(`${source}: ${where ? `${where} ` : ''}${what}: ${todo}`);
  };
  let document: Json;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return fail('', `is not JSON (${oneLine((error as Error).message)})`, 'give a docker seccomp profile (JSON)');
  }

  const object = (value: Json, where: string): JsonObject => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail(where, `is ${describe(value)}, not an object`, 'write it as { ... }');
    }
    return value as JsonObject;
  };
  const onlyKeys = (value: JsonObject, where: string, known: readonly string[]): void => {
    for (const key of Object.keys(value)) {
      // Go's JSON decoder ignores unknown keys; refusing them catches the typo ("syscall",
      // "errno") that would otherwise leave a rule out of the filter without a word.
      if (!known.includes(key)) {
        fail(where ? `${where}.${key}` : key, 'is not a key of a seccomp profile', `use ${known.join(', ')}`);
      }
    }
  };
  const array = (value: Json, where: string): Json[] => {
    // Go decodes null as an empty slice; docker's own older profiles write "args": null.
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) fail(where, `is ${describe(value)}, not a list`, 'write it as [ ... ]');
    return value as Json[];
  };
  const strings = (value: Json, where: string, pattern: RegExp, example: string): string[] =>
    array(value, where).map((item, i) => {
      if (typeof item !== 'string' || !pattern.test(item))
        fail(`${where}[${i}]`, `${describe(item)} is not valid`, example);
      return item as string;
    });
  const oneOf = <T extends string>(value: Json, where: string, allowed: readonly T[], kind: string): T => {
    if (value === 'SCMP_ACT_NOTIFY') {
      fail(where, '"SCMP_ACT_NOTIFY" needs a seccomp agent, which this runtime does not have', 'use another action');
    }
    if (value === undefined) fail(where, 'is missing', `use one of ${allowed.join(', ')}`);
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      fail(where, `${describe(value)} is not ${kind}`, `use one of ${allowed.join(', ')}`);
    }
    return value as T;
  };
  const integer = (value: Json, where: string, max: number, what: string): number => {
    if (value === undefined) fail(where, 'is missing', `give a whole number from 0 to ${max}`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
      fail(where, `${describe(value)} is not ${what}`, `give a whole number from 0 to ${max}`);
    }
    return value as number;
  };
  const errnoFor = (action: SeccompAction, value: Json, where: string): number | undefined => {
    if (value === undefined || value === null) return undefined;
    if (action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') {
      fail(where, `is set but ${action} returns no errno`, 'remove it, or use SCMP_ACT_ERRNO');
    }
    // The kernel keeps 16 bits of the action's data (SECCOMP_RET_DATA) and caps an errno at 4095.
    return integer(value, where, 0xffff, 'an errno number');
  };
  const kernelVersion = (value: Json, where: string): KernelVersion | null => {
    if (value === undefined || value === null || value === '') return null;
    // moby's KernelVersion.UnmarshalJSON: "<kernel>.<major>", each 0-255, not 0.0.
    const match = typeof value === 'string' ? /^(\d{1,3})\.(\d{1,3})$/.exec(value) : null;
    const version = match ? { kernel: Number(match[1]), major: Number(match[2]) } : null;
    if (!version || version.kernel > 255 || version.major > 255 || version.kernel + version.major === 0) {
      return fail(where, `${describe(value)} is not a kernel version`, 'write "<kernel>.<major>", e.g. "5.8"');
    }
    return version;
  };
  const condition = (value: Json, where: string): SeccompCondition | null => {
    if (value === undefined || value === null) return null;
    const filter = object(value, where);
    onlyKeys(filter, where, ['caps', 'arches', 'minKernel']);
    const arches = strings(
      filter.arches,
      `${where}.arches`,
      /^[a-z0-9]+$/,
      'use moby\'s names: "amd64", "arm64", "x86"...',
    );
    return {
      caps: strings(filter.caps, `${where}.caps`, /^CAP_[A-Z_]+$/, 'write a capability as "CAP_SYS_ADMIN"'),
      arches,
      minKernel: kernelVersion(filter.minKernel, `${where}.minKernel`),
    };
  };
  const rule = (value: Json, where: string): SeccompProfileRule => {
    const entry = object(value, where);
    onlyKeys(entry, where, ['names', 'name', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes']);
    if (entry.name !== undefined && entry.names !== undefined) {
      fail(where, "has both 'name' and 'names'", "use 'names' (a list) only");
    }
    const syscallName = /^[a-z_][a-z0-9_]*$/;
    const example = 'write a system call as its man page names it, e.g. "mount"';
    if (entry.name !== undefined && (typeof entry.name !== 'string' || !syscallName.test(entry.name))) {
      fail(`${where}.name`, `${describe(entry.name)} is not valid`, example);
    }
    const names =
      entry.name !== undefined ? [entry.name as string] : strings(entry.names, `${where}.names`, syscallName, example);
    if (names.length === 0) fail(`${where}.names`, 'is missing or empty', 'name the system calls the rule is for');
    const action = oneOf(entry.action, `${where}.action`, SECCOMP_ACTIONS, 'a seccomp action');
    const args = array(entry.args, `${where}.args`).map((item, i): SeccompArg => {
      const at = `${where}.args[${i}]`;
      const arg = object(item, at);
      onlyKeys(arg, at, ['index', 'value', 'valueTwo', 'op']);
      // JSON numbers are doubles in JavaScript: above 2^53 they would silently become another value.
      const operand = (v: Json, w: string) =>
        integer(v ?? 0, w, Number.MAX_SAFE_INTEGER, 'a value this runtime can compare');
      return {
        index: integer(arg.index, `${at}.index`, 5, 'an argument index (a system call has at most 6)'),
        value: operand(arg.value, `${at}.value`),
        valueTwo: operand(arg.valueTwo, `${at}.valueTwo`),
        op: oneOf(arg.op, `${at}.op`, SECCOMP_OPERATORS, 'a comparison'),
      };
    });
    return {
      names,
      action,
      ...optional('errnoRet', errnoFor(action, entry.errnoRet, `${where}.errnoRet`)),
      args,
      includes: condition(entry.includes, `${where}.includes`),
      excludes: condition(entry.excludes, `${where}.excludes`),
    };
  };

  const top = object(document, '');
  onlyKeys(top, '', [
    'defaultAction',
    'defaultErrnoRet',
    'architectures',
    'archMap',
    'flags',
    'listenerPath',
    'listenerMetadata',
    'syscalls',
  ]);
  if (top.listenerPath || top.listenerMetadata) {
    fail(
      'listenerPath',
      'hands calls to a seccomp agent (SCMP_ACT_NOTIFY), which this runtime does not have',
      'remove it',
    );
  }
  if (top.defaultAction === undefined) {
    // moby treats a profile without defaultAction and rules as "no filter"; say so instead.
    fail(
      'defaultAction',
      'is missing',
      'set it (docker\'s is "SCMP_ACT_ERRNO"), or run with --security-opt seccomp=unconfined',
    );
  }
  const defaultAction = oneOf(top.defaultAction, 'defaultAction', SECCOMP_ACTIONS, 'a seccomp action');
  const architecture = (v: Json, w: string) => oneOf(v, w, SECCOMP_ARCHITECTURES, 'an architecture');
  const architectures = array(top.architectures, 'architectures').map((v, i) => architecture(v, `architectures[${i}]`));
  const archMap = array(top.archMap, 'archMap').map((item, i) => {
    const at = `archMap[${i}]`;
    const entry = object(item, at);
    onlyKeys(entry, at, ['architecture', 'subArchitectures']);
    return {
      architecture: architecture(entry.architecture, `${at}.architecture`),
      subArchitectures: array(entry.subArchitectures, `${at}.subArchitectures`).map((v, j) =>
        architecture(v, `${at}.subArchitectures[${j}]`),
      ),
    };
  });
  if (architectures.length > 0 && archMap.length > 0) {
    fail('architectures', "and 'archMap' are both set", "use 'archMap' (docker's format) or 'architectures', not both");
  }
  return {
    source,
    defaultAction,
    ...optional('defaultErrnoRet', errnoFor(defaultAction, top.defaultErrnoRet, 'defaultErrnoRet')),
    architectures,
    archMap,
    flags: array(top.flags, 'flags').map((v, i) => oneOf(v, `flags[${i}]`, SECCOMP_FLAGS, 'a filter flag')),
    syscalls: array(top.syscalls, 'syscalls').map((item, i) => rule(item, `syscalls[${i}]`)),
  };
}

export interface ResolveContext {
  /** The container's capability set (its bounding set), e.g. ['CAP_CHOWN', ...]. */
  caps: readonly string[];
  /** The host's architecture as seccompArchitecture() names it, e.g. 'SCMP_ARCH_X86_64'. */
  arch: string;
  /** The host kernel's release, os.release(): '6.1.0-18-amd64'. */
  kernel: string;
}

/**
 * The rules of `profile` that apply to this container, by moby's setupSeccomp: a rule is left
 * out when its `excludes` matches (the architecture is listed, ANY listed capability is in the
 * set, the kernel is at least minKernel), or when its `includes` does not (the architecture is
 * not listed, ANY listed capability is missing, the kernel is older than minKernel).
 */
export function resolveProfile(profile: SeccompProfile, context: ResolveContext): SeccompRules {
  const arch = ARCHITECTURES[context.arch] ?? '';
  let kernel: KernelVersion | null = null;
  const kernelAtLeast = (min: KernelVersion): boolean => {
    kernel ??= parseRelease(context.kernel);
    return kernel.kernel > min.kernel || (kernel.kernel === min.kernel && kernel.major >= min.major);
  };
  const excluded = (filter: SeccompCondition): boolean =>
    filter.arches.includes(arch) ||
    filter.caps.some((cap) => context.caps.includes(cap)) ||
    (filter.minKernel !== null && kernelAtLeast(filter.minKernel));
  const included = (filter: SeccompCondition): boolean =>
    (filter.arches.length === 0 || filter.arches.includes(arch)) &&
    filter.caps.every((cap) => context.caps.includes(cap)) &&
    (filter.minKernel === null || kernelAtLeast(filter.minKernel));

  // archMap: the host's architecture and the ones its kernel also runs (x86 and x32 programs on
  // x86_64); a call through any other architecture's entry point is refused.
  const mapped = profile.archMap.find((entry) => entry.architecture === context.arch);
  const architectures =
    profile.architectures.length > 0
      ? [...profile.architectures]
      : mapped
        ? [mapped.architecture, ...mapped.subArchitectures]
        : [];
  return {
    defaultAction: profile.defaultAction,
    ...optional('defaultErrnoRet', profile.defaultErrnoRet),
    architectures,
    flags: [...profile.flags],
    syscalls: profile.syscalls
      .filter((rule) => !(rule.excludes && excluded(rule.excludes)) && !(rule.includes && !included(rule.includes)))
      .map((rule) => ({
        names: [...rule.names],
        action: rule.action,
        ...optional('errnoRet', rule.errnoRet),
        args: rule.args.map((arg) => ({ ...arg })),
      })),
  };
}

/** moby's parseRelease: "<kernel>.<major>" at the start; "3.12.25-gentoo" and "3.12-1-amd64" are 3.12. */
function parseRelease(release: string): KernelVersion {
  const match = /^(\d+)\.(\d+)/.exec(release);
  if (!match) {
    throw new RuntimeError(
      `seccomp: cannot read a kernel version from ${JSON.stringify(release)} (uname -r), which the profile's minKernel needs: use --security-opt seccomp=unconfined or a profile without minKernel`,
    );
  }
  return { kernel: Number(match[1]), major: Number(match[2]) };
}

/** Node's process.arch as libseccomp names the architecture: 'x64' -> 'SCMP_ARCH_X86_64'. */
export function seccompArchitecture(nodeArch: string, byteOrder: 'BE' | 'LE' = endianness()): string {
  const architecture: Record<string, string> = {
    x64: 'SCMP_ARCH_X86_64',
    ia32: 'SCMP_ARCH_X86',
    arm: 'SCMP_ARCH_ARM',
    arm64: 'SCMP_ARCH_AARCH64',
    loong64: 'SCMP_ARCH_LOONGARCH64',
    mips: 'SCMP_ARCH_MIPS',
    mipsel: 'SCMP_ARCH_MIPSEL',
    ppc: 'SCMP_ARCH_PPC',
    // Node says ppc64 for both byte orders.
    ppc64: byteOrder === 'LE' ? 'SCMP_ARCH_PPC64LE' : 'SCMP_ARCH_PPC64',
    riscv64: 'SCMP_ARCH_RISCV64',
    s390: 'SCMP_ARCH_S390',
    s390x: 'SCMP_ARCH_S390X',
  };
  const name = architecture[nodeArch];
  if (!name) {
    throw new RuntimeError(
      `seccomp: no seccomp architecture for this machine (Node's process.arch is ${JSON.stringify(nodeArch)}): run with --security-opt seccomp=unconfined`,
    );
  }
  return name;
}

function describe(value: Json): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** `{ key: value }`, or nothing when there is no value: the rules stay JSON without undefined keys. */
function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: number });
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();
