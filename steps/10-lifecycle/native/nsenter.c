/*
 * nsenter: `ctr exec`, a new process in a running container, as runc's setns path does it.
 *
 * Node cannot do this itself: setns(CLONE_NEWUSER) and setns(CLONE_NEWNS) fail with EINVAL in a
 * multi-threaded process (man 2 setns), and setns(CLONE_NEWPID) only places the children the
 * caller makes afterwards, which needs fork(), which Node cannot do either. Same reason as step
 * 07's nsexec, same answer: a small single-threaded C stage.
 *
 *   nsenter PID [OPTIONS] -- COMMAND [ARGS...]       started with an empty environment
 *     fd 3  the seccomp program (struct sock_filter[]), read to end of file, when --seccomp is given
 *     fd 4  errors back to the runtime, one line "E<errno> <call>", before the command runs
 *     fd 5  the command's environment, NAME=value strings each ended by a NUL, read to end of file
 *
 * The environment comes on a pipe, not as this program's own: the dynamic loader acts on
 * LD_PRELOAD and LD_LIBRARY_PATH before main(), on the host, as root. An image that sets
 * LD_PRELOAD to a file of its own layer (a host path under /var/lib/ctr) would run its code here.
 *
 *   --cgroup=DIR     join this cgroup (repeatable: v1 has one directory per hierarchy)
 *   --forward=LIST   signals to pass on to the command (the runtime's list, signals.ts)
 *   --cwd=DIR        the working directory inside the container
 *   --user=U[:G]     uid or name, gid or group, looked up in the container's /etc/passwd, group
 *   --nnp --keyring=NAME --caps=HEX --last-cap=N --seccomp=FLAGS    step 08's settings
 *   --foreground     the command takes the terminal on fd 0 (no pty: the caller's own terminal)
 *   --trace=1|fd:N   CTR_TRACE, passed as an option: the environment is the command's
 *
 *   1. on the host: join the cgroups, open the namespaces of PID (its files are host paths)
 *   2. setns: user first, then mnt, pid, net, uts, ipc, cgroup; then chdir("/") inside
 *   3. close every other descriptor; fork: only a child lands in the container's PID namespace
 *   4. the child: step 08's sequence in the init's order, then execve the command
 *   5. the parent passes signals on and exits with the command's status (128+N for signal N)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROGRAM_FD 3
#define ENVIRONMENT_FD 5
#define RUNTIME_FD 4
#define EXIT_HELPER 125
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127
#define MAX_CGROUPS 16
#define MAX_ACCOUNTS_FILE (1024 * 1024)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

static pid_t command_pid;
static int trace_fd = -1;

static void trace(const char *format, ...) {
  if (trace_fd < 0) return;
  char text[512];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  dprintf(trace_fd, "%-7s %-22s %s\n", "helper", "10 exec.nsenter", text);
}

/* Before the command runs, a failure goes to the runtime, which explains it in one line. */
static void fail_with(int status, const char *format, ...) {
  int saved = errno;
  char call[512];
  va_list args;
  va_start(args, format);
  vsnprintf(call, sizeof call, format, args);
  va_end(args);
  trace("%s = -1 %s", call, strerror(saved));
  dprintf(RUNTIME_FD, "E%d %s\n", saved, call);
  _exit(status);
}
#define fail(...) fail_with(EXIT_HELPER, __VA_ARGS__)

static void pass_on(int sig) {
  if (command_pid > 0) kill(command_pid, sig);
}

struct options {
  pid_t pid;
  const char *cgroups[MAX_CGROUPS];
  int cgroup_count;
  const char *forward;
  const char *cwd;
  const char *user;
  int nnp, foreground;
  const char *keyring;
  int has_caps;
  uint64_t caps;
  int last_cap;
  int has_seccomp;
  unsigned seccomp_flags;
  char **command;
};

static int starts(const char *arg, const char *prefix, const char **value) {
  size_t n = strlen(prefix);
  if (strncmp(arg, prefix, n) != 0) return 0;
  *value = arg + n;
  return 1;
}

static void usage(void) {
  fprintf(stderr, "usage: nsenter PID [--cgroup=DIR]... [OPTIONS] -- COMMAND [ARGS...] (started by ctr exec, step 10)\n");
  _exit(EXIT_HELPER);
}

static struct options parse(int argc, char **argv) {
  struct options o = {.last_cap = -1};
  if (argc < 4) usage();
  o.pid = (pid_t)atoi(argv[1]);
  if (o.pid <= 0) usage();
  int i = 2;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    const char *a = argv[i], *v;
    if (starts(a, "--cgroup=", &v) && o.cgroup_count < MAX_CGROUPS) o.cgroups[o.cgroup_count++] = v;
    else if (starts(a, "--forward=", &v)) o.forward = v;
    else if (starts(a, "--cwd=", &v)) o.cwd = v;
    else if (starts(a, "--user=", &v)) o.user = v;
    else if (starts(a, "--keyring=", &v)) o.keyring = v;
    else if (starts(a, "--caps=", &v)) o.has_caps = 1, o.caps = strtoull(v, NULL, 16);
    else if (starts(a, "--last-cap=", &v)) o.last_cap = atoi(v);
    else if (starts(a, "--seccomp=", &v)) o.has_seccomp = 1, o.seccomp_flags = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(a, "--nnp") == 0) o.nnp = 1;
    else if (strcmp(a, "--foreground") == 0) o.foreground = 1;
    else if (starts(a, "--trace=", &v)) trace_fd = strcmp(v, "1") == 0 ? 2 : strncmp(v, "fd:", 3) == 0 ? atoi(v + 3) : -1;
    else usage();
  }
  if (i + 1 >= argc) usage();
  o.command = argv + i + 1;
  return o;
}

/* Everything the runtime writes on `fd` until it closes its end. */
static unsigned char *read_to_end(int fd, size_t *size, const char *what) {
  size_t capacity = 4096;
  unsigned char *buffer = malloc(capacity);
  *size = 0;
  for (;;) {
    if (!buffer) fail("malloc(%s)", what);
    ssize_t n = read(fd, buffer + *size, capacity - *size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("read(%d, %s)", fd, what);
    if (n == 0) break;
    *size += (size_t)n;
    if (*size == capacity) buffer = realloc(buffer, capacity *= 2);
  }
  close(fd);
  return buffer;
}

/* The command's environment becomes ours now, after the loader ran with none: getenv("PATH")
 * for the lookup, and execve(..., environ) hand it on. */
static void read_environment(void) {
  size_t size;
  char *text = (char *)read_to_end(ENVIRONMENT_FD, &size, "environment");
  size_t count = 0;
  for (size_t k = 0; k < size; k++) count += text[k] == '\0';
  char **variables = calloc(count + 1, sizeof(char *));
  if (!variables) fail("calloc(environment)");
  size_t n = 0;
  for (size_t start = 0, k = 0; k < size; k++) {
    if (text[k] != '\0') continue;
    variables[n++] = text + start;
    start = k + 1;
  }
  environ = variables;
}

/* The whole program, from a pipe: the runtime writes it and closes its end. */
static struct sock_fprog read_program(void) {
  size_t size;
  unsigned char *buffer = read_to_end(PROGRAM_FD, &size, "seccomp program");
  if (size == 0 || size % sizeof(struct sock_filter) != 0 || size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    errno = EINVAL;
    fail("read(3, seccomp program of %zu bytes)", size);
  }
  trace("read(3) = %zu: the seccomp program, %zu instructions", size, size / sizeof(struct sock_filter));
  return (struct sock_fprog){.len = (unsigned short)(size / sizeof(struct sock_filter)), .filter = (struct sock_filter *)buffer};
}

// #region cgroups
/* On the host, before any setns: the directories are host paths, and a process moved into a
 * cgroup is counted by its limits (memory, pids) from here on, children included. */
static void join_cgroups(const struct options *o) {
  for (int k = 0; k < o->cgroup_count; k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/cgroup.procs", o->cgroups[k]);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail("open(%s)", path);
    /* "0" is the writer itself (man 7 cgroups): no pid to format, none to get wrong. */
    if (write(fd, "0", 1) != 1) fail("write(%s, \"0\")", path);
    close(fd);
    trace("write(%s, \"0\") = 1", path);
  }
}
// #endregion cgroups

// #region setns
static const struct {
  const char *name;
  int type;
} NAMESPACES[] = {
    /* User first: a caller without root on the host has capabilities in the container's other
     * namespaces only once it is in their owner; as root either order works, runc does this one. */
    {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"pid", CLONE_NEWPID}, {"net", CLONE_NEWNET},
    {"uts", CLONE_NEWUTS},   {"ipc", CLONE_NEWIPC}, {"cgroup", CLONE_NEWCGROUP},
};
#define NAMESPACE_COUNT (int)(sizeof NAMESPACES / sizeof NAMESPACES[0])

static void enter_namespaces(pid_t pid) {
  int fds[NAMESPACE_COUNT];
  /* All opened first: /proc/PID is the host's /proc, gone from view after setns(mnt). */
  for (int k = 0; k < NAMESPACE_COUNT; k++) {
    char theirs[64], ours[64];
    snprintf(theirs, sizeof theirs, "/proc/%d/ns/%s", pid, NAMESPACES[k].name);
    snprintf(ours, sizeof ours, "/proc/self/ns/%s", NAMESPACES[k].name);
    struct stat a, b;
    fds[k] = -1;
    if (stat(theirs, &a) < 0) fail("stat(%s)", theirs);
    /* Shared with the host (--net host): joining our own user namespace is even an error (EINVAL). */
    if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      trace("%s: the container shares the host's (inode %lu): not joined", theirs, (unsigned long)a.st_ino);
      continue;
    }
    fds[k] = open(theirs, O_RDONLY | O_CLOEXEC);
    if (fds[k] < 0) fail("open(%s)", theirs);
  }
  for (int k = 0; k < NAMESPACE_COUNT; k++) {
    if (fds[k] < 0) continue;
    if (setns(fds[k], NAMESPACES[k].type) < 0) fail("setns(/proc/%d/ns/%s)", pid, NAMESPACES[k].name);
    trace("setns(/proc/%d/ns/%s) = 0", pid, NAMESPACES[k].name);
    close(fds[k]);
  }
  /* setns(mnt) moved root and cwd to the container's root already; said once more, so that no
   * host directory can stay this process's cwd whatever was joined (runc's CVE-2024-21626). */
  if (chdir("/") < 0) fail("chdir(\"/\")");
}
// #endregion setns

/* A file of the container as it sees it (root is its root now): a regular file of sane size,
 * never a FIFO or a device that would block or never end. NULL when absent. */
static char *container_file(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return NULL;
  struct stat st;
  char *text = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= MAX_ACCOUNTS_FILE) {
    text = calloc(1, (size_t)st.st_size + 1);
    if (text && read(fd, text, (size_t)st.st_size) < 0) text[0] = 0;
  }
  close(fd);
  return text;
}

static int numeric(const char *text, long *value) {
  if (!*text) return 0;
  char *end;
  errno = 0;
  long n = strtol(text, &end, 10);
  if (*end || errno || n < 0 || n > 0xfffffffeL) return 0;
  *value = n;
  return 1;
}

/* Field `want` (0-based) of the line of `file` whose first field is `name` (or whose third, the
 * id, is `id` when name is NULL). -1 when there is none. Not getpwnam(3): glibc would load NSS
 * modules named by the container's /etc/nsswitch.conf, i.e. the container's code, as root here. */
static long account_field(const char *file, const char *name, long id, int want) {
  char *text = container_file(file);
  long found = -1;
  for (char *line = text, *next; line && *line && found < 0; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    char *fields[4] = {0};
    int n = 0;
    for (char *f = line; n < 4; n++) {
      fields[n] = f;
      f = strchr(f, ':');
      if (!f) break;
      *f++ = 0;
    }
    if (n < 2 || !fields[2]) continue;
    long lineId, value;
    if (!numeric(fields[2], &lineId)) continue;
    if (name ? strcmp(fields[0], name) == 0 : lineId == id) {
      if (want == 2) found = lineId;
      else if (fields[want] && numeric(fields[want], &value)) found = value;
    }
  }
  free(text);
  return found;
}

// #region user
/* docker exec -u: uid or name, then gid or group; without a group, the user's primary group in
 * the container's /etc/passwd, else 0 (step 08's rule for the init). */
static void resolve_user(const char *spec, uid_t *uid, gid_t *gid) {
  char user[256], *group;
  snprintf(user, sizeof user, "%s", spec);
  group = strchr(user, ':');
  if (group) *group++ = 0;
  long value;
  if (numeric(user, &value)) *uid = (uid_t)value;
  else if ((value = account_field("/etc/passwd", user, 0, 2)) >= 0) *uid = (uid_t)value;
  else {
    errno = ENOENT;
    fail("getpwnam(%s) in the container's /etc/passwd", user);
  }
  if (!group) {
    value = account_field("/etc/passwd", NULL, (long)*uid, 3);
    *gid = value >= 0 ? (gid_t)value : 0;
  } else if (numeric(group, &value)) {
    *gid = (gid_t)value;
  } else if ((value = account_field("/etc/group", group, 0, 2)) >= 0) {
    *gid = (gid_t)value;
  } else {
    errno = ENOENT;
    fail("getgrnam(%s) in the container's /etc/group", group);
  }
}

/* Groups first, then gid, then uid: once the uid is not 0, CAP_SETGID is gone. A user namespace
 * whose setgroups is "deny" (rootless) refuses setgroups; its one group is the map's anyway. */
static void switch_ids(uid_t uid, gid_t gid) {
  char *setgroups_file = container_file("/proc/self/setgroups");
  int denied = setgroups_file && strncmp(setgroups_file, "deny", 4) == 0;
  free(setgroups_file);
  if (!denied && setgroups(0, NULL) < 0) fail("setgroups(0, NULL)");
  if (setresgid(gid, gid, gid) < 0) fail("setresgid(%u, %u, %u)", gid, gid, gid);
  if (setresuid(uid, uid, uid) < 0) fail("setresuid(%u, %u, %u)", uid, uid, uid);
  trace("setgroups(0, NULL), setresgid(%u), setresuid(%u) = 0", gid, uid);
}
// #endregion user

/* execvp(3)'s lookup, in the PATH of the command's environment (ours now), as the runtime's
 * resolveCommand: the first regular file found; one that is not executable only if no other is. */
static void exec_command(char **command) {
  const char *name = command[0];
  if (!*name) {
    errno = ENOENT;
    fail_with(EXIT_NOT_FOUND, "lookup()");
  }
  if (strchr(name, '/')) {
    execve(name, command, environ);
    fail_with(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE, "execve(%s)", name);
  }
  const char *path = getenv("PATH");
  char dirs[4096], candidate[8192], not_executable[8192] = "";
  snprintf(dirs, sizeof dirs, "%s", path ? path : DEFAULT_PATH);
  for (char *dir = dirs, *next; dir; dir = next) {
    next = strchr(dir, ':');
    if (next) *next++ = 0;
    snprintf(candidate, sizeof candidate, "%s/%s", *dir ? dir : ".", name);
    struct stat st;
    if (stat(candidate, &st) < 0 || !S_ISREG(st.st_mode)) continue;
    if (access(candidate, X_OK) < 0) {
      if (!*not_executable) snprintf(not_executable, sizeof not_executable, "%s", candidate);
      continue;
    }
    trace("execve(%s, [...], [...]): the command takes this process over", candidate);
    execve(candidate, command, environ);
    fail_with(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE, "execve(%s)", candidate);
  }
  if (*not_executable) {
    errno = EACCES;
    fail_with(EXIT_NOT_EXECUTABLE, "lookup(%s)", not_executable);
  }
  errno = ENOENT;
  fail_with(EXIT_NOT_FOUND, "lookup(%s)", name);
}

static void load_filter(const struct options *o, struct sock_fprog *program) {
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, o->seccomp_flags, program);
  /* With SECCOMP_FILTER_FLAG_TSYNC a positive result names a thread that could not be synced;
   * this process has one thread, so it cannot happen, but it is a failure all the same. */
  if (rc != 0) {
    if (rc > 0) errno = ESRCH;
    fail("seccomp(SECCOMP_SET_MODE_FILTER, %u, {len=%u})", o->seccomp_flags, program->len);
  }
  trace("seccomp(SECCOMP_SET_MODE_FILTER, %u, {len=%u}) = 0", o->seccomp_flags, program->len);
}

// #region child
/* In the container's PID namespace now. Step 08's setup, in the order the init ran it, so the
 * command gets what the container's own command got: same bounding set, same effective set for
 * the same user, same filter, no_new_privs. */
static void become_command(const struct options *o, struct sock_fprog *program) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Its own process group: in the foreground of the terminal it takes, Ctrl-C goes to it alone. */
  if (setpgid(0, 0) < 0) fail("setpgid(0, 0)");
  if (o->foreground && isatty(0)) {
    /* A background process group that calls tcsetpgrp gets SIGTTOU unless it ignores it. */
    signal(SIGTTOU, SIG_IGN);
    if (tcsetpgrp(0, getpid()) < 0) fail("tcsetpgrp(0, %d)", getpid());
    signal(SIGTTOU, SIG_DFL);
    trace("tcsetpgrp(0, %d) = 0: the command has the caller's terminal", getpid());
  }

  /* Root of the container's user namespace, as the init was: the host's root is not mapped in
   * it (uid 65534 until now), and a process exec'd as an unmapped uid starts without
   * capabilities. The host's groups must not come in (runc and step 07's nsexec drop them). */
  switch_ids(0, 0);

  uid_t uid = 0;
  gid_t gid = 0;
  if (o->user) resolve_user(o->user, &uid, &gid);

  /* As root first (the init entered the image's WorkingDir as root, step 09); a directory only
   * the user may enter is tried again as the user, as runc does. Inside the container's root:
   * cwd is "/" of it, so a relative path cannot reach the host either. */
  int cwd_pending = 0;
  if (o->cwd && chdir(o->cwd) < 0) {
    if (errno != EACCES) fail("chdir(%s)", o->cwd);
    cwd_pending = 1;
  }

  if (o->nnp) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("prctl(PR_SET_NO_NEW_PRIVS, 1)");
    trace("prctl(PR_SET_NO_NEW_PRIVS, 1) = 0");
  }
  /* The caller's session keyring must not come in: a new one, of the container's name (runc exec
   * does the same). Before the filter, which refuses keyctl. */
  if (o->keyring) {
    if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, o->keyring) < 0 && errno != ENOSYS) {
      fail("keyctl(KEYCTL_JOIN_SESSION_KEYRING, %s)", o->keyring);
    }
    trace("keyctl(KEYCTL_JOIN_SESSION_KEYRING, %s) > 0", o->keyring);
  }
  if (o->has_caps) {
    /* While CAP_SETPCAP is still held. */
    for (int cap = 0; cap <= o->last_cap; cap++) {
      if (!(o->caps >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) fail("prctl(PR_CAPBSET_DROP, %d)", cap);
    }
    trace("prctl(PR_CAPBSET_DROP, ...) = 0: bounding set %llx", (unsigned long long)o->caps);
  }
  /* Without no_new_privs the kernel loads a filter only with CAP_SYS_ADMIN, which capset drops. */
  if (o->has_seccomp && !o->nnp) load_filter(o, program);
  if (o->user) switch_ids(uid, gid);
  if (o->has_caps) {
    /* A non-root user has none left after setresuid, and could not raise them; inheritable empty
     * and ambient cleared as docker does since 20.10.14 (CVE-2022-24769). */
    uint64_t held = uid == 0 ? o->caps : 0;
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {
        {(uint32_t)held, (uint32_t)held, 0},
        {(uint32_t)(held >> 32), (uint32_t)(held >> 32), 0},
    };
    if (syscall(SYS_capset, &header, data) < 0) fail("capset(%llx)", (unsigned long long)held);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
      fail("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)");
    }
    trace("capset(effective=permitted=%llx, inheritable=0), ambient cleared = 0", (unsigned long long)held);
  }
  if (cwd_pending && chdir(o->cwd) < 0) fail("chdir(%s)", o->cwd);
  /* Last, so that nothing this helper still has to do is refused by it. */
  if (o->has_seccomp && o->nnp) load_filter(o, program);
  exec_command(o->command);
}
// #endregion child

int main(int argc, char **argv) {
  struct options o = parse(argc, argv);
  /* Our own process group: a Ctrl-C of the terminal reaches the runtime, which passes it on to
   * this process, which passes it on to the command; once, not once per process. */
  setpgid(0, 0);
  read_environment();
  struct sock_fprog program = {0};
  if (o.has_seccomp) program = read_program();
  join_cgroups(&o);
  enter_namespaces(o.pid);
  /* Nothing of the host's may follow into the container but stdio and the runtime's channel
   * (runc's CVE-2024-21626 was a leaked directory fd). The trace fd is close-on-exec. */
  if (trace_fd > 2) fcntl(trace_fd, F_SETFD, FD_CLOEXEC);
  for (int fd = 3; fd < 1024; fd++) {
    if (fd == RUNTIME_FD || fd == trace_fd) continue;
    if (fd > RUNTIME_FD && fd > trace_fd) {
      if (syscall(SYS_close_range, fd, ~0U, 0) == 0) break;
    }
    close(fd);
  }
  if (fcntl(RUNTIME_FD, F_SETFD, FD_CLOEXEC) < 0) fail("fcntl(4, F_SETFD, FD_CLOEXEC)");

  /* Handlers before fork, so no signal falls between; the child's execve resets them. */
  struct sigaction action = {.sa_handler = pass_on, .sa_flags = SA_RESTART};
  for (const char *next = o.forward ? o.forward : ""; *next;) {
    char *end;
    int sig = (int)strtol(next, &end, 10);
    if (end == next) break;
    if (sig > 0) sigaction(sig, &action, NULL);
    next = *end == ',' ? end + 1 : end;
  }

  command_pid = fork();
  if (command_pid < 0) fail("fork()");
  if (command_pid == 0) become_command(&o, &program);
  trace("fork() = %d: the command, in the container's PID namespace", command_pid);
  /* End of file on the channel now means execve succeeded (close-on-exec in the child). */
  close(RUNTIME_FD);

  int status;
  while (waitpid(command_pid, &status, 0) < 0) {
    if (errno != EINTR) return EXIT_HELPER;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
