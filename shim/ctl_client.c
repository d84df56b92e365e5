/* Program side of the control protocol (see ctl_client.h). */
#define _GNU_SOURCE
#include "shim/ctl_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim/chan_end.h"
#include "shim/fdtable.h"
#include "shim/log.h"

#define POOL_MAX 8

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_fds[POOL_MAX];
static int pool_n;
static int pool_out; /* connections checked out by threads right now */
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static char ctl_path[108];
static int path_set;

/* Our own fds are closed with the raw syscall: in libustack.so, close() is
 * the interposed one, which would see a control fd and call back here. */
static void raw_close(int fd) { syscall(SYS_close, fd); }

static int ctl_connect(const char *path);

static void pool_after_fork_child(void) {
  us_fd_after_fork_child();
  pthread_mutex_init(&pool_lock, 0);
  pthread_cond_init(&pool_cv, 0);
  pool_out = 0; /* other threads' connections did not come along */
  /* The inherited connections are shared with the parent: using them would
   * interleave both processes' messages. Drop our copies. */
  int used = pool_n > 0;
  for (int i = 0; i < pool_n; i++) {
    us_fd_clear(pool_fds[i]);
    raw_close(pool_fds[i]);
  }
  pool_n = 0;
  /* A process that used the stack gets its own connection now, while it
   * still has its parent's credentials: servers fork workers that then drop
   * privileges (nginx), and the control socket admits only the launcher's
   * user. */
  if (used && ctl_path[0]) {
    int fd = ctl_connect(ctl_path);
    if (fd >= 0) pool_fds[pool_n++] = fd;
  }
}

static void pool_init(void) { pthread_atfork(0, 0, pool_after_fork_child); }

void us_ctl_client_set_path(const char *path) {
  pthread_mutex_lock(&pool_lock);
  snprintf(ctl_path, sizeof ctl_path, "%s", path ? path : "");
  path_set = 1;
  pthread_mutex_unlock(&pool_lock);
}

static const char *get_path(void) {
  if (!path_set) {
    const char *p = getenv("USTACK_CTL");
    if (p && strlen(p) < sizeof ctl_path) snprintf(ctl_path, sizeof ctl_path, "%s", p);
    path_set = 1;
  }
  return ctl_path;
}

int us_ctl_client_enabled(void) {
  pthread_mutex_lock(&pool_lock);
  int on = get_path()[0] != 0;
  pthread_mutex_unlock(&pool_lock);
  return on;
}

static int ctl_connect(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  /* Messages have a fixed size, so either socket type works; the host
   * decides which it listens with. */
  static const int types[] = {SOCK_SEQPACKET, SOCK_STREAM};
  for (unsigned i = 0; i < 2; i++) {
    int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
      struct us_fd_info info = {.kind = US_FD_CTL};
      us_fd_set(fd, &info);
      /* While the stack lives: after it died, nobody could say whether a
       * channel's EOF was a clean end (chan_end.h). */
      us_chan_end_attach(path);
      return fd;
    }
    int e = errno;
    raw_close(fd);
    if (e != EPROTOTYPE) return -e;
  }
  return -EPROTOTYPE;
}

static int pool_take(void) {
  pthread_once(&pool_once, pool_init);
  pthread_mutex_lock(&pool_lock);
  for (;;) {
    if (pool_n) {
      int fd = pool_fds[--pool_n];
      pool_out++;
      pthread_mutex_unlock(&pool_lock);
      return fd;
    }
    char copy[sizeof ctl_path];
    memcpy(copy, get_path(), sizeof copy);
    pthread_mutex_unlock(&pool_lock);
    if (!copy[0]) return -ENETDOWN;
    int fd = ctl_connect(copy);
    pthread_mutex_lock(&pool_lock);
    if (fd >= 0) {
      pool_out++;
      pthread_mutex_unlock(&pool_lock);
      return fd;
    }
    /* A process that dropped privileges cannot open new connections (the
     * socket admits the launcher's user only): share the ones it has. */
    if (fd != -EACCES && fd != -EPERM) {
      pthread_mutex_unlock(&pool_lock);
      return fd;
    }
    if (pool_n) continue; /* one came back meanwhile */
    if (pool_out == 0) {
      pthread_mutex_unlock(&pool_lock);
      return fd;
    }
    pthread_cond_wait(&pool_cv, &pool_lock);
  }
}

/* A connection comes back (fd >= 0) or is gone (fd < 0). */
static void pool_put(int fd) {
  pthread_mutex_lock(&pool_lock);
  pool_out--;
  if (fd >= 0 && pool_n < POOL_MAX) {
    pool_fds[pool_n++] = fd;
    fd = -1;
  }
  pthread_cond_signal(&pool_cv);
  pthread_mutex_unlock(&pool_lock);
  if (fd >= 0) {
    us_fd_clear(fd);
    raw_close(fd);
  }
}

void us_ctl_client_forget(int fd) {
  pthread_mutex_lock(&pool_lock);
  for (int i = 0; i < pool_n; i++)
    if (pool_fds[i] == fd) pool_fds[i--] = pool_fds[--pool_n];
  pthread_mutex_unlock(&pool_lock);
  us_fd_clear(fd);
}

/* Said once per process: the stack this program was started with is gone
 * (or refuses us), so its network calls fail. */
static void report_unreachable(int err) {
  static int said;
  if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED)) return;
  us_log_error("cannot reach the stack at %s: %s (network calls fail)", ctl_path, strerror(-err));
}

int us_ctl_sandboxed;

/* One exchange on a pooled connection; without an answer when posted. */
static int ctl_exchange(struct us_ctl_msg *m, int *got_fd, int posted) {
  if (got_fd) *got_fd = -1;
  if (__atomic_load_n(&us_ctl_sandboxed, __ATOMIC_RELAXED)) return -ENETDOWN;
  uint16_t op = m->op;
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = pool_take();
    if (fd < 0) {
      if (fd != -ENETDOWN) report_unreachable(fd);
      return fd == -ENOENT || fd == -ECONNREFUSED ? -ENETDOWN : fd;
    }
    int rc = us_ctl_send(fd, m, -1);
    if (rc == 0 && !posted) rc = us_ctl_recv(fd, m, got_fd);
    if (rc == 0 && m->op != op) rc = -EPROTO;
    if (rc == 0) {
      pool_put(fd);
      return 0;
    }
    us_fd_clear(fd);
    raw_close(fd);
    pool_put(-1);
    /* A pooled connection may have died with a restarted peer: retry once on
     * a fresh one, but only if nothing was answered. */
    if (rc != -EPIPE && rc != -ECONNRESET) return rc;
  }
  return -ENETDOWN;
}

int us_ctl_call(struct us_ctl_msg *m, int *got_fd) { return ctl_exchange(m, got_fd, 0); }

int us_ctl_post(struct us_ctl_msg *m) {
  m->flags |= US_CTL_F_POSTED;
  return ctl_exchange(m, NULL, 1);
}
