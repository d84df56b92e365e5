/* Sockets that survive exec (see fd_inherit.h). Raw system calls: this runs
 * in the library's constructor, where the interposed calls must not be
 * taken for the program's. */
#define _GNU_SOURCE
#include "shim/fd_inherit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/config.h"
#include "shim/ctl_client.h"
#include "shim/fdtable.h"
#include "shim/log.h"

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

struct candidate {
  int fd;
  uint64_t ino;
};

/* A stream or seqpacket AF_UNIX socket (the kinds our channels are) whose
 * other end was made by the stack's process (the pair's creator is what
 * SO_PEERCRED names), when that process is known: a program under systemd
 * whose stdout is journald's socket asks nothing. */
static int unix_socket_ino(int fd, pid_t stack_pid, uint64_t *ino) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) return 0;
  int v = 0;
  socklen_t l = sizeof v;
  if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 || v != AF_UNIX) return 0;
  l = sizeof v;
  if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0 ||
      (v != SOCK_STREAM && v != SOCK_SEQPACKET))
    return 0;
  struct ucred cr;
  l = sizeof cr;
  if (stack_pid > 0 && syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 &&
      cr.pid != stack_pid)
    return 0;
  *ino = (uint64_t)st.st_ino;
  return 1;
}

static uint8_t fd_state_of(const struct us_ctl_sockinfo *si) {
  if (si->type == SOCK_DGRAM) return US_FDS_DGRAM;
  switch (si->state) {
  case US_CTL_ST_CONNECTING: return US_FDS_CONNECTING;
  case US_CTL_ST_CONNECTED: return US_FDS_CONNECTED;
  case US_CTL_ST_LISTENING: return US_FDS_LISTENING;
  default: return US_FDS_NEW;
  }
}

/* One request for up to US_CTL_RECOGNISE_MAX candidates. */
static int ask(const struct candidate *c, int n) {
  struct us_ctl_msg m;
  uint64_t ino[US_CTL_RECOGNISE_MAX];
  for (int i = 0; i < n; i++) ino[i] = c[i].ino;
  us_ctl_init(&m, US_CTL_RECOGNISE, 0);
  m.a = n;
  us_ctl_set_data(&m, ino, (size_t)n * sizeof *ino);
  if (us_ctl_call(&m, 0) < 0 || m.err || m.a != n || m.b <= 0 ||
      (size_t)m.b * (size_t)n > m.len)
    return 0;
  int found = 0;
  for (int i = 0; i < n; i++) {
    struct us_ctl_sockinfo si;
    memset(&si, 0, sizeof si);
    memcpy(&si, m.data + (size_t)i * (size_t)m.b, (size_t)m.b < sizeof si ? (size_t)m.b : sizeof si);
    if (!si.sock) continue;
    struct us_fd_info info = {
      .id = si.sock, .kind = US_FD_SOCK, .family = si.family, .type = si.type,
      .state = fd_state_of(&si),
      .dgram_connected = si.type == SOCK_DGRAM && si.state == US_CTL_ST_CONNECTED,
      .reuseaddr = (si.flags & US_CTL_SI_REUSEADDR) != 0,
      .broadcast = (si.flags & US_CTL_SI_BROADCAST) != 0,
    };
    if (us_fd_set(c[i].fd, &info) == 0) found++;
  }
  return found;
}

/* Calls fn(fd, arg) for every open fd but the directory's own; stops when
 * fn returns nonzero and returns that. */
static int each_fd(int (*fn)(int fd, void *arg), void *arg) {
  int dfd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return 0;
  char buf[2048];
  long got;
  int r = 0;
  while (!r && (got = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
    for (long off = 0; !r && off < got;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
      int fd = 0;
      for (const char *c = d->d_name; *c >= '0' && *c <= '9'; c++) fd = fd * 10 + (*c - '0');
      if (fd != dfd) r = fn(fd, arg);
    }
  }
  syscall(SYS_close, dfd);
  return r;
}

static int passed_socket(int fd, void *arg) {
  pid_t stack_pid = *(pid_t *)arg;
  long fl = syscall(SYS_fcntl, fd, F_GETFD);
  if (fl < 0 || (fl & FD_CLOEXEC)) return 0;
  uint64_t ino;
  if (us_fd_sock(fd)) return 1;
  return stack_pid > 0 && unix_socket_ino(fd, stack_pid, &ino);
}

int us_fd_inherit_passes_socket(void) {
  const char *launcher = getenv(US_ENV_LAUNCHER);
  pid_t stack_pid = launcher ? (pid_t)atol(launcher) : 0;
  return each_fd(passed_socket, &stack_pid);
}

struct scan {
  pid_t stack_pid;
  int n, found;
  struct candidate cand[US_CTL_RECOGNISE_MAX];
};

static int scan_one(int fd, void *arg) {
  struct scan *sc = arg;
  uint64_t ino;
  if (us_fd_get(fd) || !unix_socket_ino(fd, sc->stack_pid, &ino)) return 0;
  sc->cand[sc->n].fd = fd;
  sc->cand[sc->n].ino = ino;
  if (++sc->n == US_CTL_RECOGNISE_MAX) {
    sc->found += ask(sc->cand, sc->n);
    sc->n = 0;
  }
  return 0;
}

int us_fd_inherit_scan(void) {
  if (!us_ctl_client_enabled()) return 0;
  const char *launcher = getenv(US_ENV_LAUNCHER);
  struct scan sc = {.stack_pid = launcher ? (pid_t)atol(launcher) : 0};
  each_fd(scan_one, &sc);
  if (sc.n) sc.found += ask(sc.cand, sc.n);
  if (sc.found) us_log_debug("%d inherited socket%s recognised", sc.found, sc.found == 1 ? "" : "s");
  return sc.found;
}
