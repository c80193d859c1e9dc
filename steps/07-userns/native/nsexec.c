/*
 * nsexec: the few lines between clone and exec that Node.js cannot run.
 *
 * unshare(CLONE_NEWUSER) fails with EINVAL in a multi-threaded process (man 2 unshare), and Node
 * always runs several threads; Node also cannot fork (V8 marks its heap MADV_DONTFORK). runc has
 * the same problem with Go and solves it the same way, with a small C stage (nsexec.c).
 *
 *   nsexec PROGRAM [ARGS...]        fd 4: a socket to the runtime
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNTIME_FD 4

static pid_t init_pid;

/* Before the runtime has the init's pid, failures go to it over the socket, to be explained. */
static void fail(const char *call) {
  dprintf(RUNTIME_FD, "E%d %s\n", errno, call);
  _exit(125);
}

static void pass_on(int sig) {
  if (init_pid > 0) kill(init_pid, sig);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: nsexec PROGRAM [ARGS...] (started by the runtime of step 07)\n");
    return 125;
  }
  /* If the runtime dies, so does this process; the init, whose parent this is, follows by its own. */
  pid_t runtime = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);

  // #region enter
  if (unshare(CLONE_NEWUSER) < 0) fail("unshare(CLONE_NEWUSER)");
  if (dprintf(RUNTIME_FD, "U\n") < 0) _exit(125);
  char byte;
  if (read(RUNTIME_FD, &byte, 1) != 1 || byte != 'M') _exit(125);

  if (setresgid(0, 0, 0) < 0) fail("setresgid(0, 0, 0)");
  /* Host groups (gid 0 under sudo) must not follow us in; a rootless map denies setgroups (EPERM). */
  if (setgroups(0, NULL) < 0 && errno != EPERM) fail("setgroups(0, NULL)");
  if (setresuid(0, 0, 0) < 0) fail("setresuid(0, 0, 0)");
  /* Changing the effective ids cleared the parent-death signal (man 2 prctl): set it again, and
   * make sure the runtime did not die in between, which would have gone unnoticed. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != runtime) _exit(125);
  if (unshare(CLONE_NEWPID) < 0) fail("unshare(CLONE_NEWPID)");
  // #endregion enter

  // #region start-init
  /* Handlers before fork, so no signal falls between; the child's exec resets them. */
  struct sigaction action = {.sa_handler = pass_on, .sa_flags = SA_RESTART};
  int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaction(forwarded[i], &action, NULL);

  init_pid = fork();
  if (init_pid < 0) fail("fork()");
  if (init_pid == 0) {
    close(RUNTIME_FD);
    execv(argv[1], argv + 1);
    fprintf(stderr, "ctr: nsexec: execv(%s): %s\n", argv[1], strerror(errno));
    _exit(125);
  }
  dprintf(RUNTIME_FD, "%d\n", init_pid);
  close(RUNTIME_FD);
  /* The init channel (fd 3) belongs to the init now: holding it would hide from the runtime the
   * end-of-file that says the command started. */
  close(3);

  int status;
  while (waitpid(init_pid, &status, 0) < 0) {
    if (errno != EINTR) return 125;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // #endregion start-init
}
