/**
 * The seccomp filter, built and loaded by libseccomp (Debian's libseccomp2), through koffi.
 *
 * The kernel takes a seccomp filter as a classic BPF program that looks at each system call's
 * number, architecture and arguments and returns an action. Writing that program by hand means
 * knowing every architecture's syscall numbers (x86_64, and the x86 and x32 entry points an
 * x86_64 kernel also runs); libseccomp knows them and compiles a list of rules into the program.
 * runc and crun use it for the same reason.
 *
 * Compiled on the host, where `configure` runs while the init is still starting (and a broken
 * profile or a missing libseccomp fails before anything exists); the init only hands the finished
 * program to the kernel with seccomp(2). The init needs no libseccomp at all: after pivot_root,
 * dlopen() would look for it in the container's rootfs.
 *
 * libseccomp's functions return a negative errno instead of setting errno.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { RuntimeError } from '@ctr/runtime';
import { errnoName, errnoText, SECCOMP_FILTER_FLAG, seccompSetModeFilter, trace, tracing } from '@ctr/syscalls';
import koffi from 'koffi';
import type { SeccompAction, SeccompArg, SeccompOperator, SeccompRules } from './seccomp-profile.js';

const EPERM = 1;
const EEXIST = 17;
/** What seccomp_syscall_resolve_name returns for a name it does not know. */
const NR_SCMP_ERROR = -1;

const ACTION: Record<SeccompAction, (data: number) => number> = {
  SCMP_ACT_KILL_THREAD: () => 0x00000000,
  // libseccomp's SCMP_ACT_KILL, and runc's reading of it: the thread, not the process.
  SCMP_ACT_KILL: () => 0x00000000,
  SCMP_ACT_KILL_PROCESS: () => 0x80000000,
  SCMP_ACT_TRAP: () => 0x00030000,
  SCMP_ACT_ERRNO: (errno) => (0x00050000 | (errno & 0xffff)) >>> 0,
  SCMP_ACT_TRACE: (data) => (0x7ff00000 | (data & 0xffff)) >>> 0,
  SCMP_ACT_LOG: () => 0x7ffc0000,
  SCMP_ACT_ALLOW: () => 0x7fff0000,
};

const COMPARE: Record<SeccompOperator, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** enum scmp_filter_attr */
const ATTR = {
  CTL_OPTIMIZE: 8,
} as const;

/** An ERRNO or TRACE action without errnoRet returns EPERM, as in runc. */
function actionValue(action: SeccompAction, errnoRet: number | undefined): number {
  return ACTION[action](errnoRet ?? EPERM);
}

/** `SCMP_ACT_ERRNO(EPERM)`, `SCMP_ACT_TRACE(1)`, `SCMP_ACT_ALLOW`. */
function describeAction(action: SeccompAction, errnoRet: number | undefined): string {
  if (action === 'SCMP_ACT_ERRNO') return `${action}(${errnoName(errnoRet ?? EPERM)})`;
  return action === 'SCMP_ACT_TRACE' ? `${action}(${errnoRet ?? EPERM})` : action;
}

type Library = ReturnType<typeof bind>;
let library: Library | null = null;

/** Loaded on first use, on the host: a machine without libseccomp still runs containers unconfined. */
function lib(): Library {
  if (library) return library;
  try {
    library = bind();
  } catch (error) {
    throw new RuntimeError(
      `seccomp: cannot load libseccomp.so.2 (${(error as Error).message}): install it (Debian/Ubuntu: apt-get install libseccomp2) or run with --security-opt seccomp=unconfined`,
      undefined,
      { cause: error },
    );
  }
  return library;
}

function bind() {
  const so = koffi.load('libseccomp.so.2');
  const libc = koffi.load('libc.so.6');
  koffi.opaque('scmp_filter');
  const version = koffi.struct('scmp_version', { major: 'unsigned int', minor: 'unsigned int', micro: 'unsigned int' });
  koffi.struct('scmp_arg_cmp', {
    arg: 'unsigned int',
    op: 'int', // enum scmp_compare
    datum_a: 'uint64_t',
    datum_b: 'uint64_t',
  });
  const versionOf = so.func('const scmp_version *seccomp_version(void)');
  const v = koffi.decode(versionOf(), version) as { major: number; minor: number; micro: number };
  return {
    version: `${v.major}.${v.minor}.${v.micro}`,
    init: so.func('scmp_filter *seccomp_init(uint32_t def_action)'),
    release: so.func('void seccomp_release(scmp_filter *ctx)'),
    archResolveName: so.func('uint32_t seccomp_arch_resolve_name(const char *arch_name)'),
    archAdd: so.func('int seccomp_arch_add(scmp_filter *ctx, uint32_t arch_token)'),
    attrSet: so.func('int seccomp_attr_set(scmp_filter *ctx, int attr, uint32_t value)'),
    resolveName: so.func('int seccomp_syscall_resolve_name(const char *name)'),
    ruleAddArray: so.func(
      'int seccomp_rule_add_array(scmp_filter *ctx, uint32_t action, int syscall, unsigned int arg_cnt, const scmp_arg_cmp *arg_array)',
    ),
    exportBpf: so.func('int seccomp_export_bpf(scmp_filter *ctx, int fd)'),
    memfdCreate: libc.func('int memfd_create(const char *name, unsigned int flags)'),
  };
}

/** A libseccomp call that failed: which call, with what, and the errno it returned. */
function failed(call: string, rc: number, hint = ''): RuntimeError {
  return new RuntimeError(`seccomp: ${call} failed: ${errnoText(-rc)}${hint}`);
}

interface Filter {
  ctx: unknown;
  /** Names in the profile that this libseccomp does not know, left out as docker does. */
  skipped: string[];
  rules: number;
}

/**
 * Compiles `rules` into a libseccomp filter context. The caller releases it (seccomp_release),
 * whatever happens after.
 */
// #region build
function build(s: Library, rules: SeccompRules): Filter {
  // #task 08.3
  const defaultAction = actionValue(rules.defaultAction, rules.defaultErrnoRet);
  const ctx = s.init(defaultAction);
  if (ctx === null) {
    throw new RuntimeError(
      `seccomp: seccomp_init(${describeAction(rules.defaultAction, rules.defaultErrnoRet)}) failed: libseccomp ${s.version} refused the default action: use another`,
    );
  }
  const filter: Filter = { ctx, skipped: [], rules: 0 };
  try {
    const attr = (name: keyof typeof ATTR, value: number): number => s.attrSet(ctx, ATTR[name], value);
    // Optional, as in runc: a binary tree of syscall numbers instead of a linear list of
    // ~400 comparisons (runc counts call names, not rules, as here); libseccomp <= 2.5.4
    // misbehaves with it on an empty filter.
    if (rules.syscalls.reduce((names, rule) => names + rule.names.length, 0) > 32) attr('CTL_OPTIMIZE', 2);

    for (const name of rules.architectures) {
      const token = s.archResolveName(name.replace(/^SCMP_ARCH_/, '').toLowerCase()) as number;
      if (token === 0) {
        throw new RuntimeError(
          `seccomp: libseccomp ${s.version} does not know the architecture ${name}: remove it from the profile or update libseccomp`,
        );
      }
      const rc = s.archAdd(ctx, token);
      // The native architecture is in every new filter already.
      if (rc < 0 && rc !== -EEXIST) throw failed(`seccomp_arch_add(${name})`, rc);
    }

    for (const rule of rules.syscalls) {
      const action = actionValue(rule.action, rule.errnoRet);
      // libseccomp refuses a rule whose action is the default one (EACCES); it changes nothing.
      if (action === defaultAction) continue;
      for (const name of rule.names) {
        const nr = s.resolveName(name) as number;
        if (nr === NR_SCMP_ERROR) {
          // Newer than this libseccomp (or not a system call at all): runc and docker skip it.
          filter.skipped.push(name);
          continue;
        }
        for (const args of argumentSets(rule.args)) {
          const rc = s.ruleAddArray(ctx, action, nr, args.length, args.length > 0 ? args : null);
          if (rc < 0) {
            const shown = rule.args.map((a) => `${a.op}(arg${a.index}, ${a.value}, ${a.valueTwo})`);
            throw failed(
              `seccomp_rule_add(${describeAction(rule.action, rule.errnoRet)}, ${name}${shown.map((a) => `, ${a}`).join('')})`,
              rc,
            );
          }
          filter.rules += 1;
        }
      }
    }
    return filter;
  } catch (error) {
    s.release(ctx);
    throw error;
  }
  // #end-task
}
// #endregion build

interface ArgCmp {
  arg: number;
  op: number;
  datum_a: bigint;
  datum_b: bigint;
}

/**
 * The comparisons of a rule, as the libseccomp calls that add it. All of them in one rule (they
 * must all hold), except when two compare the same argument: libseccomp refuses that (EINVAL),
 * and runc then adds one rule per comparison (any may hold). Same here, to allow what runc does.
 */
function argumentSets(args: readonly SeccompArg[]): ArgCmp[][] {
  const cmp = args.map((a) => ({
    arg: a.index,
    op: COMPARE[a.op],
    datum_a: BigInt(a.value),
    datum_b: BigInt(a.valueTwo),
  }));
  const sameArgumentTwice = new Set(args.map((a) => a.index)).size < args.length;
  return sameArgumentTwice ? cmp.map((c) => [c]) : [cmp];
}

/** A filter as the init needs it: the program, ready for seccomp(2). Crosses to the init as JSON. */
export interface CompiledFilter {
  /** struct sock_filter[], base64. */
  program: string;
  /** seccomp(2)'s flags: TSYNC always, LOG and SPEC_ALLOW when the profile asks. */
  flags: number;
}

// #region compile
/**
 * On the host: the BPF program `rules` compile to (seccomp_export_bpf writes it to a file
 * descriptor, here an in-memory file), and the flags to load it with. The filter, not the
 * profile, is what the init receives.
 */
export function compileSeccompFilter(rules: SeccompRules): CompiledFilter {
  const s = lib();
  const filter = build(s, rules);
  try {
    if (filter.skipped.length > 0 && tracing()) {
      trace(`seccomp_syscall_resolve_name: ${filter.skipped.join(', ')}: unknown to libseccomp ${s.version}, skipped`);
    }
    const program = exportProgram(s, filter);
    if (tracing()) {
      trace(
        `seccomp_export_bpf({default ${describeAction(rules.defaultAction, rules.defaultErrnoRet)}, arches [${rules.architectures.join(', ')}], ${filter.rules} rules}) = ${program.length / 8} instructions`,
      );
    }
    let flags = SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_TSYNC;
    if (rules.flags.includes('SECCOMP_FILTER_FLAG_LOG')) flags |= SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_LOG;
    if (rules.flags.includes('SECCOMP_FILTER_FLAG_SPEC_ALLOW'))
      flags |= SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    return { program: program.toString('base64'), flags };
  } finally {
    s.release(filter.ctx);
  }
}
// #endregion compile

// #region load
/**
 * In the init: hands the program to the kernel for this process. TSYNC puts it on every thread
 * of the Node init, not only the calling one; the command inherits it either way. The kernel
 * accepts it only from a thread with no_new_privs set or CAP_SYS_ADMIN in its user namespace
 * (EACCES otherwise). Irreversible: a loaded filter can never be removed or loosened.
 */
export function loadSeccompFilter(filter: CompiledFilter): void {
  // #task 08.3
  try {
    seccompSetModeFilter(Buffer.from(filter.program, 'base64'), filter.flags);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EACCES') throw error;
    throw new RuntimeError(
      `seccomp: the kernel refused the filter (EACCES): it installs one only with no_new_privs set or CAP_SYS_ADMIN held`,
      undefined,
      { cause: error },
    );
  }
  // #end-task
}
// #endregion load

/** The program libseccomp made of `filter`, read back from an in-memory file. */
function exportProgram(s: Library, filter: Filter): Buffer {
  const MFD_CLOEXEC = 1;
  const fd = s.memfdCreate('seccomp-bpf', MFD_CLOEXEC) as number;
  if (fd < 0) throw new RuntimeError(`seccomp: memfd_create("seccomp-bpf") failed: ${errnoText(koffi.errno())}`);
  try {
    const rc = s.exportBpf(filter.ctx, fd) as number;
    if (rc < 0) throw failed('seccomp_export_bpf', rc);
    const program = Buffer.alloc(fstatSync(fd).size);
    readSync(fd, program, 0, program.length, 0);
    return program;
  } finally {
    closeSync(fd);
  }
}

/** The names of `rules` this libseccomp cannot resolve: what loadSeccompFilter skips. */
export function unknownSyscalls(rules: SeccompRules): string[] {
  const s = lib();
  const names = new Set(rules.syscalls.flatMap((rule) => rule.names));
  return [...names].filter((name) => s.resolveName(name) === NR_SCMP_ERROR);
}

/** The libseccomp in use, e.g. "2.5.4". */
export function libseccompVersion(): string {
  return lib().version;
}
