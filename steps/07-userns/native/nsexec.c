/*
 * nsexec: the few lines between clone and exec that Node.js cannot run.
 *
 * unshare(CLONE_NEWUSER) fails with EINVAL in a multi-threaded process (man 2 unshare), and Node
 * always runs several threads; Node also cannot fork (only the calling thread is copied, and V8's
 * and libuv's threads are gone in the child). runc has the same problem with Go and solves it the
 * same way, with a small C stage (nsexec.c).
 *
 *   nsexec --forward=15,2,1,... PROGRAM [ARGS...]     fd 4: a socket to the runtime
 *
 *   --forward   the signals to pass on to the init (the runtime's own list, signals.ts)
 *
 *   1. unshare(CLONE_NEWUSER)                       -> runtime: "U\n"  (or "E<errno> <call>\n")
 *   2. wait until the runtime wrote uid_map/gid_map <- runtime: "M"
 *   3. become uid/gid 0 of the new namespace: before the maps exist there are no ids to become,
 *      and a process exec'd as an unmapped uid starts without capabilities
 *   4. unshare(CLONE_NEWPID) now, not earlier: a PID namespace belongs to the user namespace it is
 *      created in, and /proc can only be mounted with CAP_SYS_ADMIN in that one
 *   5. fork: the child execs PROGRAM (the Node init) as PID 1  -> runtime: "<host pid of PID 1>\n"
 *   6. stay as its parent: pass signals on, exit with its status
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNTIME_FD 4

static pid_t init_pid;
static int trace_fd = -1;

/* CTR_TRACE (shared/syscalls/src/trace.ts): one line a call, in the runtime's format, one write each. */
static void trace(const char *format, ...) {
  if (trace_fd < 0) return;
  char text[512];
  va_list args;
  va_start(args, format);
  vsnprintf(text, sizeof text, format, args);
  va_end(args);
  dprintf(trace_fd, "%-7s %-22s %s\n", "helper", "07 user.nsexec", text);
}

static void open_trace(void) {
  const char *setting = getenv("CTR_TRACE");
  if (!setting || !*setting || strcmp(setting, "0") == 0) return;
  /* The runtime hands its open trace file over as a descriptor ("fd:N"), which the init inherits
   * from us too: it will run as a mapped uid that could not open the file itself. */
  if (strcmp(setting, "1") == 0 || strcmp(setting, "stderr") == 0) trace_fd = 2;
  else if (strncmp(setting, "fd:", 3) == 0) trace_fd = atoi(setting + 3);
}

/* Before the runtime has the init's pid, failures go to it over the socket, to be explained. */
static void fail(const char *call) {
  int saved = errno;
  trace("%s = -1 %s", call, strerror(saved));
  dprintf(RUNTIME_FD, "E%d %s\n", saved, call);
  _exit(125);
}

static void pass_on(int sig) {
  if (init_pid > 0) kill(init_pid, sig);
}

int main(int argc, char **argv) {
  if (argc < 3 || strncmp(argv[1], "--forward=", 10) != 0) {
    fprintf(stderr, "usage: nsexec --forward=SIGNALS PROGRAM [ARGS...] (started by the runtime of step 07)\n");
    return 125;
  }
  open_trace();
  /* If the runtime dies, so does this process; the init, whose parent this is, follows by its own. */
  pid_t runtime = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);

  // #region enter
  if (unshare(CLONE_NEWUSER) < 0) fail("unshare(CLONE_NEWUSER)");
  trace("unshare(CLONE_NEWUSER) = 0");
  if (dprintf(RUNTIME_FD, "U\n") < 0) _exit(125);
  trace("send U: the user namespace exists, waiting for its id maps");
  char byte;
  if (read(RUNTIME_FD, &byte, 1) != 1 || byte != 'M') _exit(125);
  trace("recv M: the maps are written");

  if (setresgid(0, 0, 0) < 0) fail("setresgid(0, 0, 0)");
  trace("setresgid(0, 0, 0) = 0");
  /* Host groups (gid 0 under sudo) must not follow us in; a rootless map denies setgroups (EPERM). */
  if (setgroups(0, NULL) < 0) {
    if (errno != EPERM) fail("setgroups(0, NULL)");
    trace("setgroups(0, NULL) = -1 EPERM: the map denies it (rootless), and the user's own groups stay");
  } else {
    trace("setgroups(0, NULL) = 0");
  }
  if (setresuid(0, 0, 0) < 0) fail("setresuid(0, 0, 0)");
  trace("setresuid(0, 0, 0) = 0");
  /* Changing the effective ids cleared the parent-death signal (man 2 prctl): set it again, and
   * make sure the runtime did not die in between, which would have gone unnoticed. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  trace("prctl(PR_SET_PDEATHSIG, SIGKILL) = 0: again, the id change cleared it");
  if (getppid() != runtime) _exit(125);
  if (unshare(CLONE_NEWPID) < 0) fail("unshare(CLONE_NEWPID)");
  trace("unshare(CLONE_NEWPID) = 0");
  // #endregion enter

  // #region start-init
  /* Handlers before fork, so no signal falls between; the child's exec resets them. */
  struct sigaction action = {.sa_handler = pass_on, .sa_flags = SA_RESTART};
  for (char *next = argv[1] + 10; *next;) {
    int sig = (int)strtol(next, &next, 10);
    if (sig > 0) sigaction(sig, &action, NULL);
    if (*next == ',') next++;
    else if (*next) break;
  }

  init_pid = fork();
  if (init_pid < 0) fail("fork()");
  if (init_pid == 0) {
    close(RUNTIME_FD);
    execv(argv[2], argv + 2);
    fprintf(stderr, "ctr: nsexec: execv(%s): %s\n", argv[2], strerror(errno));
    _exit(125);
  }
  trace("fork() = %d: the init, PID 1 of the new PID namespace", init_pid);
  dprintf(RUNTIME_FD, "%d\n", init_pid);
  close(RUNTIME_FD);
  /* The init channel (fd 3) belongs to the init now: holding it would hide from the runtime the
   * end-of-file that says the command started. */
  close(3);
  trace("close(3) = 0: the init channel is the init's now");

  int status;
  while (waitpid(init_pid, &status, 0) < 0) {
    if (errno != EINTR) return 125;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // #endregion start-init
}
