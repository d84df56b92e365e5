/* The control plane of a socket, interposed: socket, bind, listen, accept,
 * connect, shutdown, close, dup*, fcntl, ioctl, get/setsockopt,
 * getsockname/getpeername. Everything that is not an AF_INET/AF_INET6
 * stream or datagram socket of ours goes to libc untouched.
 *
 * A non-blocking connect must not look writable before the handshake ends.
 * The program end of the channel is made unwritable instead of interposing
 * poll/select/epoll: its SO_SNDBUF is shrunk to the minimum and filled with a
 * few filler bytes that the stack reads and discards once the connect is
 * over, which gives poll, select and epoll (level and edge) a true POLLOUT
 * transition. The buffer size is restored on the next interposed call. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "interpose/interpose.h"

#define EXPORT __attribute__((visibility("default")))

int us_interpose_active(void) { return !us_fd_bypass && us_ctl_client_enabled(); }

/* ---- addresses ------------------------------------------------------- */

int us_sa_to_v4(int family, const struct sockaddr *sa, socklen_t len, uint32_t *ip,
                uint16_t *port, int for_bind) {
  if (!sa) return -EFAULT;
  if ((int)len < 0) return -EINVAL;
  if (family == AF_INET) {
    if (len < sizeof(struct sockaddr_in)) return -EINVAL;
    const struct sockaddr_in *in = (const void *)sa;
    /* Linux lets bind(AF_UNSPEC, INADDR_ANY) through for old programs. */
    if (in->sin_family != AF_INET &&
        !(for_bind && in->sin_family == AF_UNSPEC && in->sin_addr.s_addr == 0))
      return -EAFNOSUPPORT;
    *ip = in->sin_addr.s_addr;
    *port = in->sin_port;
    return 0;
  }
  if (len < sizeof(struct sockaddr_in6)) return -EINVAL;
  const struct sockaddr_in6 *in6 = (const void *)sa;
  if (in6->sin6_family != AF_INET6) return for_bind ? -EINVAL : -EAFNOSUPPORT;
  *port = in6->sin6_port;
  if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
    *ip = 0;
    return 0;
  }
  if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
    memcpy(ip, &in6->sin6_addr.s6_addr[12], 4);
    return 0;
  }
  /* ustack speaks IPv4 only: a real IPv6 address is not reachable. */
  return for_bind ? -EADDRNOTAVAIL : -ENETUNREACH;
}

void us_v4_to_sa(int family, uint32_t ip, uint16_t port, struct sockaddr *sa, socklen_t *len) {
  union { struct sockaddr_in in; struct sockaddr_in6 in6; } u;
  memset(&u, 0, sizeof u);
  socklen_t full;
  if (family == AF_INET6) {
    u.in6.sin6_family = AF_INET6;
    u.in6.sin6_port = port;
    if (ip) {
      u.in6.sin6_addr.s6_addr[10] = 0xff;
      u.in6.sin6_addr.s6_addr[11] = 0xff;
      memcpy(&u.in6.sin6_addr.s6_addr[12], &ip, 4);
    }
    full = sizeof u.in6;
  } else {
    u.in.sin_family = AF_INET;
    u.in.sin_port = port;
    u.in.sin_addr.s_addr = ip;
    full = sizeof u.in;
  }
  memcpy(sa, &u, *len < full ? *len : full);
  *len = full;
}

/* ---- small helpers ---------------------------------------------------- */

static int ctl_simple(int op, uint32_t sock, int a, int b, uint32_t ip, uint16_t port,
                      struct us_ctl_msg *m) {
  us_ctl_init(m, op, sock);
  m->a = a;
  m->b = b;
  m->ip = ip;
  m->port = port;
  int rc = us_ctl_call(m, 0);
  if (rc < 0) return rc;
  return m->err ? -m->err : 0;
}

static int set_fd_flags(int fd, int type_flags) {
  int fl = us_real(fcntl)(fd, F_GETFD);
  if (fl >= 0) {
    int want = (type_flags & SOCK_CLOEXEC) ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
    if (want != fl) us_real(fcntl)(fd, F_SETFD, want);
  }
  if (type_flags & SOCK_NONBLOCK) {
    int st = us_real(fcntl)(fd, F_GETFL);
    if (st >= 0 && !(st & O_NONBLOCK)) us_real(fcntl)(fd, F_SETFL, st | O_NONBLOCK);
  }
  return 0;
}

/* Moves newfd onto fd (keeping fd's number, status flags and close-on-exec),
 * for listen(), which swaps the stream channel for an accept channel. */
static int replace_fd(int fd, int newfd) {
  int st = us_real(fcntl)(fd, F_GETFL);
  int fdfl = us_real(fcntl)(fd, F_GETFD);
  int r = us_real(dup3)(newfd, fd, (fdfl >= 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0);
  int e = errno;
  us_real(close)(newfd);
  if (r < 0) return -e;
  if (st >= 0 && (st & O_NONBLOCK)) us_real(fcntl)(fd, F_SETFL, O_NONBLOCK);
  return 0;
}

/* ---- socket ------------------------------------------------------------ */

static int is_ours_request(int domain, int type, int protocol) {
  if (domain != AF_INET && domain != AF_INET6) return 0;
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base == SOCK_STREAM) return protocol == 0 || protocol == IPPROTO_TCP;
  if (base == SOCK_DGRAM) return protocol == 0 || protocol == IPPROTO_UDP;
  return 0;
}

/* A kernel fd's number may still carry an entry of ours if the socket that
 * had it was closed where we could not see (glibc's internal close). */
static int kernel_fd(int fd) {
  if (fd >= 0) us_fd_clear(fd);
  return fd;
}

EXPORT int socket(int domain, int type, int protocol) {
  if (!is_ours_request(domain, type, protocol) || !us_interpose_active())
    return kernel_fd(us_real(socket)(domain, type, protocol));
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf)) return us_ret(-EINVAL);
  struct us_ctl_msg m;
  us_ctl_init(&m, US_CTL_SOCKET, 0);
  m.a = base;
  m.b = domain;
  int fd = -1;
  int rc = us_ctl_call(&m, &fd);
  if (rc == 0 && m.err) rc = -m.err;
  if (rc == 0 && fd < 0) rc = -EPROTO;
  if (rc < 0) {
    if (fd >= 0) us_real(close)(fd);
    return us_ret(rc == -ENETDOWN ? -EAFNOSUPPORT : rc);
  }
  set_fd_flags(fd, type);
  struct us_fd_info info = {.id = m.sock, .kind = US_FD_SOCK, .family = (uint8_t)domain,
                            .type = (uint8_t)base,
                            .state = base == SOCK_DGRAM ? US_FDS_DGRAM : US_FDS_NEW};
  if (base == SOCK_DGRAM && m.len == sizeof info.dgram_key) /* shim/dgram.h */
    memcpy(&info.dgram_key, m.data, sizeof info.dgram_key);
  if (us_fd_set(fd, &info) < 0) {
    us_real(close)(fd);
    return us_ret(-EMFILE);
  }
  return fd;
}

EXPORT int socketpair(int domain, int type, int protocol, int sv[2]) {
  /* AF_INET socketpairs do not exist on Linux either (EOPNOTSUPP). */
  int r = us_real(socketpair)(domain, type, protocol, sv);
  if (r == 0) {
    kernel_fd(sv[0]);
    kernel_fd(sv[1]);
  }
  return r;
}

/* ---- loopback ----------------------------------------------------------- */

/* ustack has no loopback interface: 127.0.0.0/8 belongs to the kernel's.
 * A socket bound or connected there becomes a kernel socket in place (same
 * number, type, flags and the options that matter before bind). A connect
 * to 127.x reaches a ustack listener on that port when there is one (the
 * stack asks itself on its own address); otherwise the kernel's. */
static int is_loopback(uint32_t ip) { return (ntohl(ip) >> 24) == 127; }

static int to_kernel(int fd, struct us_fd_info *e) {
  int st = us_real(fcntl)(fd, F_GETFL);
  int fdfl = us_real(fcntl)(fd, F_GETFD);
  int k = us_real(socket)(e->family, e->type | SOCK_CLOEXEC, 0);
  if (k < 0) return -errno;
  int one = 1;
  if (e->reuseaddr) us_real(setsockopt)(k, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (e->reuseport) us_real(setsockopt)(k, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (e->family == AF_INET6 && e->v6only)
    us_real(setsockopt)(k, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  int r = us_real(dup3)(k, fd, (fdfl >= 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0);
  int err = errno;
  us_real(close)(k);
  if (r < 0) return -err;
  if (st >= 0 && (st & O_NONBLOCK)) us_real(fcntl)(fd, F_SETFL, O_NONBLOCK);
  us_fd_clear(fd); /* the channel is gone: the stack frees its socket */
  return 0;
}

/* ---- IPv6 ---------------------------------------------------------------- */

/* ustack speaks IPv4. An AF_INET6 socket that cannot carry IPv4 - one set
 * IPV6_V6ONLY, or one bound or connected to a real IPv6 address (::1
 * included) - is the kernel's, as 127/8 is: it gets exactly the answers
 * Linux gives in this namespace. With IPv6 off there (the supported set-up):
 * [::]:p binds beside our 0.0.0.0:p and listens, and nothing ever arrives;
 * a connect to ::1 or any IPv6 address fails as Linux's does. Without this,
 * the V6ONLY listener that redis (bind * -::*) and ncat -l open beside their
 * IPv4 one collided with it here (EADDRINUSE) and they exited. */
static int is_real_v6(const struct sockaddr *sa, socklen_t len) {
  if (!sa || len < sizeof(struct sockaddr_in6) || sa->sa_family != AF_INET6) return 0;
  const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
  return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_V4MAPPED(a);
}

static int is_kernels_v6(const struct us_fd_info *e, const struct sockaddr *sa, socklen_t len) {
  return e->family == AF_INET6 && (e->v6only || is_real_v6(sa, len));
}

/* ---- bind, listen, accept ----------------------------------------------- */

EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(bind)(fd, sa, len);
  if (is_kernels_v6(e, sa, len)) {
    int rc = to_kernel(fd, e);
    return rc < 0 ? us_ret(rc) : us_real(bind)(fd, sa, len);
  }
  uint32_t ip;
  uint16_t port;
  int rc = us_sa_to_v4(e->family, sa, len, &ip, &port, 1);
  if (rc < 0) return us_ret(rc);
  if (is_loopback(ip) && e->state != US_FDS_LISTENING) {
    rc = to_kernel(fd, e);
    return rc < 0 ? us_ret(rc) : us_real(bind)(fd, sa, len);
  }
  struct us_ctl_msg m;
  return us_ret(ctl_simple(US_CTL_BIND, e->id, 0, 0, ip, port, &m));
}

EXPORT int listen(int fd, int backlog) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(listen)(fd, backlog);
  if (e->type != SOCK_STREAM) return us_ret(-EOPNOTSUPP);
  if (e->state == US_FDS_LISTENING) { /* Linux: changes the backlog only */
    struct us_ctl_msg m;
    ctl_simple(US_CTL_LISTEN, e->id, backlog, 1, 0, 0, &m);
    return 0;
  }
  if (e->state != US_FDS_NEW) return us_ret(-EINVAL);
  if (is_kernels_v6(e, 0, 0)) { /* V6ONLY, never bound: the kernel picks the port */
    int rc = to_kernel(fd, e);
    return rc < 0 ? us_ret(rc) : us_real(listen)(fd, backlog);
  }
  struct us_ctl_msg m;
  us_ctl_init(&m, US_CTL_LISTEN, e->id);
  m.a = backlog;
  int nfd = -1;
  int rc = us_ctl_call(&m, &nfd);
  if (rc == 0 && m.err) rc = -m.err;
  if (rc == 0 && nfd < 0) rc = -EPROTO;
  if (rc < 0) {
    if (nfd >= 0) us_real(close)(nfd);
    return us_ret(rc);
  }
  rc = replace_fd(fd, nfd);
  if (rc < 0) return us_ret(rc);
  e->state = US_FDS_LISTENING;
  return 0;
}

static int do_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (e->state != US_FDS_LISTENING) return us_ret(-EINVAL);
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return us_ret(-EINVAL);
  if (sa && !len) return us_ret(-EFAULT);
  if (sa && (int)*len < 0) return us_ret(-EINVAL);
  struct us_ctl_accept a;
  int nfd = -1;
  /* The shim's recvmsg must reach libc, not our own recvmsg. */
  us_fd_bypass = 1;
  int rc = us_ctl_recv_accept(fd, &a, &nfd, (flags & SOCK_CLOEXEC) ? MSG_CMSG_CLOEXEC : 0);
  us_fd_bypass = 0;
  if (rc < 0) return us_ret(rc);
  if (flags & SOCK_NONBLOCK) set_fd_flags(nfd, flags);
  struct us_fd_info info = {.id = a.sock, .kind = US_FD_SOCK, .family = e->family,
                            .type = SOCK_STREAM, .state = US_FDS_CONNECTED,
                            .linger_on = e->linger_on, .linger_s = e->linger_s}; /* inherited */
  us_fd_set(nfd, &info);
  if (sa) us_v4_to_sa(e->family, a.peer_ip, a.peer_port, sa, len);
  return nfd;
}

EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len) {
  if (!us_fd_sock(fd)) return kernel_fd(us_real(accept)(fd, sa, len));
  return do_accept(fd, sa, len, 0);
}

EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags) {
  if (!us_fd_sock(fd)) return kernel_fd(us_real(accept4)(fd, sa, len, flags));
  return do_accept(fd, sa, len, flags);
}

/* ---- connect ------------------------------------------------------------ */

/* Makes the program end unwritable until the stack drains what we queue.
 * Returns the number of filler bytes written. */
static int channel_fill(int fd, struct us_fd_info *e) {
  int sb = 0;
  socklen_t sl = sizeof sb;
  if (us_real(getsockopt)(fd, SOL_SOCKET, SO_SNDBUF, &sb, &sl) < 0) return 0;
  e->saved_sndbuf = sb;
  int one = 1;
  us_real(setsockopt)(fd, SOL_SOCKET, SO_SNDBUF, &one, sizeof one);
  static const char zero = 0;
  int n = 0;
  while (n < 64 && us_real(send)(fd, &zero, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) n++;
  return n;
}

static void channel_restore(int fd, struct us_fd_info *e) {
  if (e->saved_sndbuf > 0) {
    int v = e->saved_sndbuf / 2; /* the kernel doubles what it is given */
    us_real(setsockopt)(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    e->saved_sndbuf = 0;
  }
}

int us_sock_settle(int fd, struct us_fd_info *e, int clear) {
  return us_sock_query(fd, e, clear, 0);
}

int us_sock_query(int fd, struct us_fd_info *e, int clear, int *gone) {
  struct us_ctl_msg m;
  int rc = ctl_simple(US_CTL_STATE, e->id, clear, 0, 0, 0, &m);
  if (rc < 0 && m.err == 0) { /* stack unreachable: leave as is */
    if (gone) *gone = 1;
    return 0;
  }
  int err = m.err;
  if (e->state == US_FDS_CONNECTING && m.a != US_CTL_ST_CONNECTING) {
    channel_restore(fd, e);
    e->state = m.a == US_CTL_ST_CONNECTED ? US_FDS_CONNECTED : US_FDS_NEW;
    if (e->state == US_FDS_NEW) e->connect_failed = 2;
  }
  return err;
}

int us_sock_take_error(int fd, struct us_fd_info *e) {
  return us_sock_settle(fd, e, US_CTL_CLEAR);
}

int us_chan_hung_up(int fd) {
  struct pollfd p = {fd, 0, 0};
  return us_real(poll)(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static int wait_connect(int fd, struct us_fd_info *e) {
  struct pollfd p = {fd, POLLOUT, 0};
  for (;;) {
    int r = us_real(poll)(&p, 1, -1);
    if (r < 0 && errno == EINTR) return -EINTR; /* Linux: the connect goes on */
    if (r < 0) return -errno;
    if (r > 0) break;
  }
  /* The stack drains the filler when the handshake completes and closes the
   * channel when it fails: writable and not hung up means connected, with
   * no need to ask. One look is not enough: Linux's unix_poll reads the
   * hang-up flags before the send buffer, without a lock, so a poll that
   * runs while the stack closes its end can read "not hung up" just before
   * the close sets it, and then "writable" once the close has freed the
   * filler - a failed connect seen as connected (rare: a bare socketpair
   * closed under a poll shows it once in some 200,000 polls). The flags are set before the filler is freed, so a
   * second look after seeing it writable sees the hang-up if there was one. */
  if (!(p.revents & (POLLHUP | POLLERR)) && !us_chan_hung_up(fd)) {
    channel_restore(fd, e);
    e->state = US_FDS_CONNECTED;
    return 0;
  }
  /* Connected and then reset at once: connect succeeded, and the reset is
   * for the next call. Only a failed connect takes the error. */
  int err = us_sock_settle(fd, e, US_CTL_CLEAR_IF_FAILED);
  if (e->state == US_FDS_CONNECTING) { /* writable but not over: cannot happen */
    return -EINPROGRESS;
  }
  if (e->state == US_FDS_CONNECTED) return 0;
  e->connect_failed = 1;
  return err ? -err : -ECONNABORTED;
}

EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(connect)(fd, sa, len);
  uint32_t ip;
  uint16_t port;
  if (is_kernels_v6(e, sa, len) && (e->type == SOCK_DGRAM || e->state == US_FDS_NEW)) {
    int rc = to_kernel(fd, e);
    return rc < 0 ? us_ret(rc) : us_real(connect)(fd, sa, len);
  }
  if (e->type == SOCK_DGRAM) {
    struct us_ctl_msg m;
    if (sa && len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC) {
      int rc = ctl_simple(US_CTL_CONNECT, e->id, 0, 1, 0, 0, &m);
      if (rc == 0) e->dgram_connected = 0;
      return us_ret(rc);
    }
    int rc = us_sa_to_v4(e->family, sa, len, &ip, &port, 0);
    if (rc < 0) return us_ret(rc);
    if (ip == INADDR_BROADCAST && !e->broadcast) return us_ret(-EACCES); /* as Linux */
    if (is_loopback(ip)) {
      rc = to_kernel(fd, e);
      return rc < 0 ? us_ret(rc) : us_real(connect)(fd, sa, len);
    }
    rc = ctl_simple(US_CTL_CONNECT, e->id, 0, 0, ip, port, &m);
    if (rc == 0) e->dgram_connected = 1;
    return us_ret(rc);
  }
  int rc = us_sa_to_v4(e->family, sa, len, &ip, &port, 0);
  if (rc < 0) return us_ret(rc);
  switch (e->state) {
  case US_FDS_CONNECTED: return us_ret(-EISCONN);
  case US_FDS_LISTENING: return us_ret(-EINVAL);
  case US_FDS_CONNECTING: {
    /* Linux: EALREADY while under way, then 0 once (or the error). */
    int err = us_sock_settle(fd, e, US_CTL_CLEAR_IF_FAILED);
    if (e->state == US_FDS_CONNECTING) return us_ret(-EALREADY);
    if (e->state == US_FDS_CONNECTED) return 0;
    e->connect_failed = 1;
    return us_ret(err ? -err : -ECONNABORTED);
  }
  default: break;
  }
  if (e->connect_failed == 2) {
    /* Failed, and no connect() has said so yet (SO_ERROR may have taken
     * the error): Linux reports it, or ECONNABORTED, and tries the next time. */
    e->connect_failed = 1;
    int err = us_sock_take_error(fd, e);
    return us_ret(err ? -err : -ECONNABORTED);
  }
  if (e->connect_failed) { /* Linux tries again: a new channel, same socket */
    struct us_ctl_msg r;
    us_ctl_init(&r, US_CTL_RENEW, e->id);
    int nfd = -1;
    rc = us_ctl_call(&r, &nfd);
    if (rc == 0 && r.err) rc = -r.err;
    if (rc == 0 && nfd < 0) rc = -EPROTO;
    if (rc == -EBADF) { /* the stack forgot it (long ago): a fresh socket */
      us_ctl_init(&r, US_CTL_SOCKET, 0);
      r.a = SOCK_STREAM;
      r.b = e->family;
      rc = us_ctl_call(&r, &nfd);
      if (rc == 0 && r.err) rc = -r.err;
      if (rc == 0 && nfd < 0) rc = -EPROTO;
      if (rc == 0) e->id = r.sock;
    }
    if (rc == 0) rc = replace_fd(fd, nfd);
    else if (nfd >= 0) us_real(close)(nfd);
    if (rc < 0) return us_ret(rc);
    e->connect_failed = 0;
  }
  int nonblock = (us_real(fcntl)(fd, F_GETFL) & O_NONBLOCK) != 0;
  int filler = channel_fill(fd, e);
  e->state = US_FDS_CONNECTING;
  struct us_ctl_msg m;
  us_ctl_init(&m, US_CTL_CONNECT, e->id);
  m.a = filler;
  m.ip = ip;
  m.port = port;
  m.flags = is_loopback(ip) ? US_CTL_F_LOOPBACK : 0;
  rc = us_ctl_call(&m, 0);
  if (rc == 0 && m.err) rc = -m.err;
  if (rc < 0) { /* refused at once: the stack has drained the filler */
    channel_restore(fd, e);
    e->state = US_FDS_NEW;
    if (m.flags & US_CTL_F_KERNEL) { /* no ustack listener there */
      rc = to_kernel(fd, e);
      return rc < 0 ? us_ret(rc) : us_real(connect)(fd, sa, len);
    }
    return us_ret(rc);
  }
  if (nonblock) return us_ret(-EINPROGRESS);
  return us_ret(wait_connect(fd, e));
}

/* ---- shutdown, close, dup ---------------------------------------------- */

EXPORT int shutdown(int fd, int how) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(shutdown)(fd, how);
  if (how < SHUT_RD || how > SHUT_RDWR) return us_ret(-EINVAL);
  if (e->state == US_FDS_CONNECTING) us_sock_settle(fd, e, 0);
  if (e->type == SOCK_STREAM && e->state != US_FDS_CONNECTED && e->state != US_FDS_LISTENING)
    return us_ret(-ENOTCONN);
  struct us_ctl_msg m;
  if (e->state == US_FDS_LISTENING || e->type == SOCK_DGRAM)
    return us_ret(ctl_simple(US_CTL_SHUTDOWN, e->id, how, 0, 0, 0, &m));
  /* In-band: EOF on the channel becomes the FIN after the queued bytes. */
  return us_real(shutdown)(fd, how);
}

static void forget_fd(int fd) {
  struct us_fd_info *e = us_fd_get(fd);
  if (!e) return;
  if (e->kind == US_FD_CTL) us_ctl_client_forget(fd);
  else us_fd_clear(fd);
}

/* SO_LINGER with l_linger > 0: the last close of a connected socket waits
 * until its FIN is acknowledged or l_linger seconds pass, then returns 0
 * either way, as Linux's sk_stream_wait_close (the connection goes on
 * closing without the program; no RST at the end of the wait). */
static void linger_wait(uint32_t id, int secs) {
  struct us_ctl_msg m;
  int lfd = -1;
  us_ctl_init(&m, US_CTL_LINGER, id);
  if (us_ctl_call(&m, &lfd) < 0 || m.err || m.a || lfd < 0) {
    if (lfd >= 0) us_real(close)(lfd);
    return;
  }
  struct pollfd p = {lfd, POLLIN, 0};
  int ms = secs < 0 || secs > INT_MAX / 1000 ? -1 : secs * 1000;
  us_real(poll)(&p, 1, ms); /* a signal ends the wait early, as on Linux */
  us_real(close)(lfd);
}

/* The stack notices the last close of a channel by itself (hang-up), across
 * dup and fork; close only forgets the fd here (and lingers if asked). */
EXPORT int close(int fd) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (e && e->linger_on && e->linger_s != 0 && e->type == SOCK_STREAM &&
      (e->state == US_FDS_CONNECTED || e->state == US_FDS_CONNECTING)) { /* the stack knows which */
    uint32_t id = e->id;
    int secs = e->linger_s;
    forget_fd(fd);
    int r = us_real(close)(fd);
    if (r == 0) linger_wait(id, secs);
    return r;
  }
  forget_fd(fd);
  return us_real(close)(fd);
}

/* glibc's fclose closes the fd internally, out of our sight. */
EXPORT int fclose(FILE *f) {
  int fd = f ? fileno(f) : -1;
  int r = us_real(fclose)(f);
  if (fd >= 0 && us_fd_get(fd)) forget_fd(fd);
  return r;
}

EXPORT int close_range(unsigned lo, unsigned hi, int flags) {
  int r = us_real(close_range)(lo, hi, flags);
  if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) {
    for (unsigned fd = lo; fd <= hi && fd < US_FD_MAX; fd++) {
      struct us_fd_info *e = us_fd_get((int)fd);
      if (e && e->kind == US_FD_CTL) us_ctl_client_forget((int)fd);
    }
    us_fd_clear_range(lo, hi);
  }
  return r;
}

EXPORT int dup(int fd) {
  int r = us_real(dup)(fd);
  if (r >= 0 && us_fd_sock(fd)) us_fd_copy(fd, r);
  return r;
}

EXPORT int dup2(int oldfd, int newfd) {
  int r = us_real(dup2)(oldfd, newfd);
  if (r >= 0 && oldfd != newfd) {
    forget_fd(newfd);
    if (us_fd_sock(oldfd)) us_fd_copy(oldfd, newfd);
  }
  return r;
}

EXPORT int dup3(int oldfd, int newfd, int flags) {
  int r = us_real(dup3)(oldfd, newfd, flags);
  if (r >= 0) {
    forget_fd(newfd);
    if (us_fd_sock(oldfd)) us_fd_copy(oldfd, newfd);
  }
  return r;
}

static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg) {
  int r = real(fd, cmd, arg);
  if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && us_fd_sock(fd))
    us_fd_copy(fd, r);
  return r;
}

EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return fcntl_common(us_real(fcntl), fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return fcntl_common(us_real(fcntl64), fd, cmd, arg);
}

/* FIONBIO and FIONREAD act on the channel as they should: the non-blocking
 * flag is the channel's, and a stream channel's queued bytes are what TCP
 * has received. Datagram channels carry a header per message. */
EXPORT int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  struct us_fd_info *e = us_fd_sock(fd);
  if (e && e->type == SOCK_DGRAM && req == FIONREAD) {
    extern int us_dgram_fionread(int fd, int *out);
    if (!arg) return us_ret(-EFAULT);
    return us_ret(us_dgram_fionread(fd, arg));
  }
  return us_real(ioctl)(fd, req, arg);
}

/* ---- names --------------------------------------------------------------- */

static int get_name(int fd, struct us_fd_info *e, struct sockaddr *sa, socklen_t *len, int peer) {
  if (!sa || !len) return us_ret(-EFAULT);
  if ((int)*len < 0) return us_ret(-EINVAL);
  if (peer && e->state == US_FDS_CONNECTING) us_sock_settle(fd, e, 0);
  struct us_ctl_msg m;
  int rc = ctl_simple(US_CTL_GETNAME, e->id, peer, 0, 0, 0, &m);
  if (rc < 0) return us_ret(rc);
  us_v4_to_sa(e->family, m.ip, m.port, sa, len);
  return 0;
}

EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(getsockname)(fd, sa, len);
  return get_name(fd, e, sa, len, 0);
}

EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(getpeername)(fd, sa, len);
  return get_name(fd, e, sa, len, 1);
}

/* ---- socket options ----------------------------------------------------- */

/* SOL_SOCKET options the channel answers correctly by itself (timeouts,
 * low-water marks...) go to the kernel; the rest are the stack's. */
static int sol_socket_is_stacks(int opt) {
  switch (opt) {
  case SO_REUSEADDR: case SO_REUSEPORT: case SO_KEEPALIVE: case SO_LINGER:
  case SO_RCVBUF: case SO_SNDBUF: case SO_RCVBUFFORCE: case SO_SNDBUFFORCE:
  case SO_BROADCAST: case SO_OOBINLINE: case SO_DONTROUTE: case SO_PRIORITY:
  case SO_BINDTODEVICE:
    return 1;
  default:
    return 0;
  }
}

static int put_int(void *val, socklen_t *len, int v) {
  if (*len < sizeof(int)) { /* Linux copies what fits of a shorter buffer */
    if ((int)*len < 0) return -EINVAL;
    memcpy(val, &v, *len);
    return 0;
  }
  memcpy(val, &v, sizeof v);
  *len = sizeof v;
  return 0;
}

EXPORT int getsockopt(int fd, int level, int opt, void *val, socklen_t *len) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(getsockopt)(fd, level, opt, val, len);
  if (!len || !val) return us_ret(-EFAULT);
  if ((int)*len < 0) return us_ret(-EINVAL);
  if (level == SOL_SOCKET) {
    switch (opt) {
    case SO_ERROR: {
      int err = us_sock_take_error(fd, e);
      if (!err && e->type == SOCK_DGRAM) err = us_dgram_take_error(fd); /* an ICMP error */
      return us_ret(put_int(val, len, err));
    }
    case SO_TYPE: return us_ret(put_int(val, len, e->type));
    case SO_DOMAIN: return us_ret(put_int(val, len, e->family));
    case SO_PROTOCOL:
      return us_ret(put_int(val, len, e->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP));
    case SO_ACCEPTCONN: return us_ret(put_int(val, len, e->state == US_FDS_LISTENING));
    default:
      if (!sol_socket_is_stacks(opt)) return us_real(getsockopt)(fd, level, opt, val, len);
    }
  } else if (level == IPPROTO_IPV6) {
    if (e->family != AF_INET6) return us_ret(-EOPNOTSUPP);
    if (opt == IPV6_V6ONLY) return us_ret(put_int(val, len, e->v6only));
  } else if (level == IPPROTO_TCP) {
    if (e->type != SOCK_STREAM) return us_ret(-EOPNOTSUPP);
  } else if (level != IPPROTO_IP && level != IPPROTO_UDP) {
    return us_ret(-ENOPROTOOPT);
  }
  struct us_ctl_msg m;
  us_ctl_init(&m, US_CTL_GETOPT, e->id);
  m.a = level;
  m.b = opt;
  int rc = us_ctl_call(&m, 0);
  if (rc < 0) return us_ret(rc);
  if (m.err) return us_ret(-m.err);
  if (m.flags) { /* a structure (TCP_INFO, SO_LINGER, TCP_CONGESTION) */
    socklen_t n = *len < m.len ? *len : m.len;
    memcpy(val, m.data, n);
    *len = n;
    return 0;
  }
  return us_ret(put_int(val, len, m.a));
}

/* Flags that any int turns on or off, on a socket the table knows is TCP:
 * Linux returns 0 for them whatever the connection's state, so nothing needs
 * to wait for the stack's answer (nginx toggles TCP_CORK around every
 * response). */
static int setopt_cannot_fail(int level, int opt, socklen_t len) {
  if (len < sizeof(int)) return 0;
  if (level == IPPROTO_TCP) return opt == TCP_NODELAY || opt == TCP_CORK;
  return level == SOL_SOCKET && opt == SO_KEEPALIVE;
}

/* close() must know without asking whether it may have to wait. */
static void remember_linger(struct us_fd_info *e, const void *val) {
  struct linger l;
  memcpy(&l, val, sizeof l); /* the stack checked the length */
  e->linger_on = l.l_onoff != 0;
  e->linger_s = l.l_linger;
}

EXPORT int setsockopt(int fd, int level, int opt, const void *val, socklen_t len) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(setsockopt)(fd, level, opt, val, len);
  if ((int)len < 0) return us_ret(-EINVAL);
  if (!val && len) return us_ret(-EFAULT);
  if (level == SOL_SOCKET && !sol_socket_is_stacks(opt))
    return us_real(setsockopt)(fd, level, opt, val, len);
  if (level == SOL_SOCKET && (opt == SO_REUSEADDR || opt == SO_REUSEPORT || opt == SO_BROADCAST) &&
      val && len >= sizeof(int)) {
    int v;
    memcpy(&v, val, sizeof v);
    if (opt == SO_REUSEADDR) e->reuseaddr = v != 0;
    else if (opt == SO_REUSEPORT) e->reuseport = v != 0;
    else e->broadcast = v != 0;
  }
  if (level == IPPROTO_IPV6) {
    if (e->family != AF_INET6) return us_ret(-ENOPROTOOPT);
    if (opt == IPV6_V6ONLY) {
      if (len < sizeof(int) || !val) return us_ret(-EINVAL);
      /* Linux: not once the socket has a port (bound, listening, connected). */
      struct us_ctl_msg g;
      if (e->type == SOCK_STREAM && e->state != US_FDS_NEW) return us_ret(-EINVAL);
      if (ctl_simple(US_CTL_GETNAME, e->id, 0, 0, 0, 0, &g) == 0 && g.port) return us_ret(-EINVAL);
      int v;
      memcpy(&v, val, sizeof v);
      e->v6only = v != 0;
      return 0;
    }
    return 0; /* hop limits, traffic class...: nothing to do for IPv4 */
  }
  if (level == IPPROTO_TCP && e->type != SOCK_STREAM) return us_ret(-ENOPROTOOPT);
  if (level != SOL_SOCKET && level != IPPROTO_TCP && level != IPPROTO_IP &&
      level != IPPROTO_UDP)
    return us_ret(-ENOPROTOOPT);
  struct us_ctl_msg m;
  us_ctl_init(&m, US_CTL_SETOPT, e->id);
  m.a = level;
  m.b = opt;
  if (us_ctl_set_data(&m, val, len) < 0) return us_ret(-EINVAL);
  if (setopt_cannot_fail(level, opt, len)) return us_ret(us_ctl_post(&m));
  int rc = us_ctl_call(&m, 0);
  if (rc < 0) return us_ret(rc);
  if (!m.err && level == SOL_SOCKET && opt == SO_LINGER) remember_linger(e, val);
  return us_ret(m.err ? -m.err : 0);
}
