/* The listening end of the control socket (see ctl_listen.h). Raw system
 * calls for the socket itself: in direct mode this runs inside a program
 * whose socket calls libustack.so interposes. */
#include "shim/ctl_listen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim/chan_end.h"
#include "shim/ctl_server.h"
#include "shim/host.h"

int us_ctl_listen_open(struct us_ctl_listen *c, char *err, size_t errlen) {
  const char *base = getenv("XDG_RUNTIME_DIR");
  if (!base || access(base, W_OK) < 0) base = "/tmp";
  c->fd = -1;
  c->path[0] = 0;
  snprintf(c->dir, sizeof c->dir, "%s/ustack.XXXXXX", base);
  if (!mkdtemp(c->dir)) { /* mode 0700 */
    snprintf(err, errlen, "cannot create a directory for the control socket in %s: %s", base,
             strerror(errno));
    c->dir[0] = 0;
    return -1;
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if ((size_t)snprintf(c->path, sizeof c->path, "%s/ctl", c->dir) >= sizeof sa.sun_path) {
    snprintf(err, errlen, "control socket path too long: %s (set a shorter XDG_RUNTIME_DIR)", c->path);
    c->path[0] = 0;
    return -1;
  }
  strcpy(sa.sun_path, c->path);
  c->fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  mode_t old = umask(0177); /* the socket is born 0600: no window at 0777 */
  int r = c->fd < 0 ? -1 : (int)syscall(SYS_bind, c->fd, (struct sockaddr *)&sa, sizeof sa);
  umask(old);
  if (r < 0 || syscall(SYS_listen, c->fd, 128) < 0) {
    snprintf(err, errlen, "cannot create the control socket %s: %s", c->path, strerror(errno));
    return -1;
  }
  if ((r = us_chan_end_create(c->dir)) < 0) {
    snprintf(err, errlen, "cannot create %s/%s: %s", c->dir, US_CHAN_END_FILE, strerror(-r));
    return -1;
  }
  return 0;
}

void us_ctl_listen_close(struct us_ctl_listen *c) {
  if (c->fd >= 0) syscall(SYS_close, c->fd);
  c->fd = -1;
  if (c->path[0]) unlink(c->path);
  if (c->dir[0]) us_chan_end_remove(c->dir);
  if (c->dir[0]) rmdir(c->dir);
  c->path[0] = c->dir[0] = 0;
}

struct busy_query {
  struct us_ctl_server *srv;
  unsigned busy;
  uint64_t acked; /* the stack's count of ACKs that acknowledged new data */
};

static void read_busy(struct us_stack *s, void *arg) {
  struct busy_query *q = arg;
  q->busy = us_ctl_server_busy(q->srv);
  q->acked = us_stack_counter(s, US_CNT_TCP_ACK_PROGRESS);
}

/* A slow reader on the far side may need minutes for what a program wrote
 * before exiting; that is fine as long as it moves. Give up only after ms
 * without a single byte acknowledged. */
unsigned us_ctl_drain(struct us_host *h, struct us_ctl_server *srv, unsigned ms) {
  struct busy_query q = {srv, 0, 0};
  if (!srv) return 0;
  uint64_t last = UINT64_MAX;
  for (unsigned quiet = 0;; quiet += 20) {
    if (us_host_call_sync(h, read_busy, &q) < 0 || q.busy == 0) return 0;
    if (q.acked != last) quiet = 0;
    last = q.acked;
    if (quiet >= ms) return q.busy;
    usleep(20 * 1000);
  }
}
