/* The data path, interposed only where an AF_UNIX channel would answer
 * differently from a TCP or UDP socket:
 *  - stream sockets: EOF after a reset/timeout becomes ECONNRESET/ETIMEDOUT;
 *    EPIPE after a reset becomes ECONNRESET; SIGPIPE is raised by us (not by
 *    the channel) so MSG_NOSIGNAL and the error order match Linux; peer
 *    addresses from recvfrom/recvmsg are not the channel's AF_UNIX ones;
 *  - datagram sockets: each message carries a small header with the peer
 *    address (shim/dgram.h), added on send and taken off on receive.
 * Every call on an fd that is not ours goes straight to libc. */
#define _GNU_SOURCE
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "interpose/interpose.h"
#include "shim/chan_end.h"
#include "shim/dgram.h"

#define EXPORT __attribute__((visibility("default")))
#define IOV_MAX_OURS 1024

/* ---- stream sockets ------------------------------------------------------- */

/* A connect still under way: the channel refuses writes; settle first so a
 * finished connect restores the buffer. */
static void settle_if_connecting(int fd, struct us_fd_info *e) {
  if (e->state == US_FDS_CONNECTING) us_sock_settle(fd, e, 0);
}

/* The stack is gone (killed, crashed): a network failure unless it had
 * ended this stream cleanly before it went (shim/chan_end.h). Never a clean
 * EOF in the middle of a stream: that would truncate downloads silently. */
static int stack_gone_error(struct us_fd_info *e) {
  return us_chan_end_clean(e->id) ? 0 : ECONNRESET;
}

/* read() returned 0: the stack closed the channel after an error (reset,
 * timeout) or the peer's FIN, or the stack died. Only the first read after an
 * error reports it, as on Linux. A FIN only shuts the stack's end for
 * writing; an error closes it whole (POLLHUP here), and only then is the
 * stack asked which. */
static ssize_t stream_eof(int fd, struct us_fd_info *e, size_t asked) {
  if (asked == 0 || us_ctl_sandboxed || !us_chan_hung_up(fd)) return 0;
  int gone = 0;
  int err = us_sock_query(fd, e, US_CTL_CLEAR, &gone);
  if (gone) err = stack_gone_error(e);
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}

/* A send failed with EPIPE: ECONNRESET if the connection died by error
 * (no signal, like Linux), else EPIPE with SIGPIPE unless MSG_NOSIGNAL. */
static ssize_t stream_epipe(int fd, struct us_fd_info *e, int flags) {
  int gone = 0;
  int err = us_sock_query(fd, e, US_CTL_CLEAR, &gone);
  if (gone) err = 0; /* a dead stack: EPIPE, as after the peer's reset */
  if (err && err != EPIPE) {
    errno = err;
    return -1;
  }
  if (!(flags & MSG_NOSIGNAL)) raise(SIGPIPE);
  errno = EPIPE;
  return -1;
}

static ssize_t stream_recvmsg(int fd, struct us_fd_info *e, struct msghdr *mh, int flags) {
  if (e->state == US_FDS_LISTENING) {
    errno = ENOTCONN;
    return -1;
  }
  struct msghdr m = *mh;
  m.msg_name = 0;
  m.msg_namelen = 0;
  m.msg_control = 0;
  m.msg_controllen = 0;
  size_t asked = 0;
  for (size_t i = 0; i < m.msg_iovlen; i++) asked += m.msg_iov[i].iov_len;
  ssize_t n = us_ctl_sandboxed && !flags ? us_real(readv)(fd, m.msg_iov, (int)m.msg_iovlen)
                                          : us_real(recvmsg)(fd, &m, flags & ~MSG_TRUNC);
  mh->msg_namelen = 0; /* TCP has no per-message address */
  mh->msg_controllen = 0;
  mh->msg_flags = m.msg_flags & ~MSG_CTRUNC;
  if (n == 0) return stream_eof(fd, e, asked);
  return n;
}

/* send(MSG_MORE) corks the connection until a send without it, as on
 * Linux. The flag means nothing to the channel: the stack is told, before
 * the first such bytes enter the channel (a call, so it is in force when
 * they arrive) and after the next bytes without it (posted). */
static void stream_more(struct us_fd_info *e, int on) {
  struct us_ctl_msg m;
  us_ctl_init(&m, US_CTL_SETOPT, e->id);
  m.a = IPPROTO_TCP;
  m.b = TCP_CORK;
  m.flags = US_CTL_F_MORE;
  us_ctl_set_data(&m, &on, sizeof on);
  if (on) us_ctl_call(&m, 0);
  else us_ctl_post(&m);
  e->more = (uint8_t)on;
}

static ssize_t stream_sendmsg(int fd, struct us_fd_info *e, const struct msghdr *mh, int flags) {
  settle_if_connecting(fd, e);
  if (e->state == US_FDS_NEW || e->state == US_FDS_LISTENING) {
    /* Linux: sending on an unconnected TCP socket is EPIPE (and SIGPIPE). */
    if (!(flags & MSG_NOSIGNAL)) raise(SIGPIPE);
    errno = EPIPE;
    return -1;
  }
  struct msghdr m = *mh;
  m.msg_name = 0; /* TCP ignores a destination on a connected socket */
  m.msg_namelen = 0;
  m.msg_control = 0;
  m.msg_controllen = 0;
  /* MSG_MORE / MSG_CONFIRM / MSG_EOR mean nothing to the channel. */
  int f = (flags & (MSG_DONTWAIT | MSG_OOB)) | MSG_NOSIGNAL;
  if (us_ctl_sandboxed && !(flags & (MSG_DONTWAIT | MSG_OOB))) /* sendmsg may kill it */
    return m.msg_iovlen == 1 ? us_real(write)(fd, m.msg_iov[0].iov_base, m.msg_iov[0].iov_len)
                             : us_real(writev)(fd, m.msg_iov, (int)m.msg_iovlen);
  if ((flags & MSG_MORE) && !e->more) stream_more(e, 1);
  ssize_t n = us_real(sendmsg)(fd, &m, f);
  if (!(flags & MSG_MORE) && e->more) stream_more(e, 0);
  if (n < 0 && errno == EPIPE) return stream_epipe(fd, e, flags);
  return n;
}

/* ---- datagram sockets ------------------------------------------------------ */

/* The channel's key (shim/dgram.h): from the socket() answer, or asked once
 * for an fd the table learned some other way. */
static int dgram_key(struct us_fd_info *e, uint64_t *key) {
  if (!e->dgram_key) {
    struct us_ctl_msg m;
    us_ctl_init(&m, US_CTL_DGRAM_KEY, e->id);
    int rc = us_ctl_call(&m, 0);
    if (rc < 0) return rc;
    if (m.err) return -m.err;
    if (m.len != sizeof e->dgram_key) return -EPROTO;
    memcpy(&e->dgram_key, m.data, sizeof e->dgram_key);
  }
  *key = e->dgram_key;
  return 0;
}

/* Peek, then take: a thread of the program that receives the error between
 * the two makes the take swallow the next datagram instead, a loss UDP may
 * have anyway; nothing else can dequeue from the program's end. */
int us_dgram_take_error(int fd) {
  struct us_dgram_hdr h;
  ssize_t n = us_real(recv)(fd, &h, sizeof h, MSG_PEEK | MSG_DONTWAIT);
  if (n != (ssize_t)sizeof h || !(h.flags & US_DGRAM_ERR)) return 0;
  us_real(recv)(fd, &h, sizeof h, MSG_DONTWAIT); /* taken: reported once */
  return h.err;
}

static ssize_t dgram_sendmsg(int fd, struct us_fd_info *e, const struct msghdr *mh, int flags) {
  struct us_dgram_hdr h = {0};
  if (mh->msg_name && mh->msg_namelen) {
    uint32_t ip;
    uint16_t port;
    int rc = us_sa_to_v4(e->family, mh->msg_name, mh->msg_namelen, &ip, &port, 0);
    if (rc < 0) return us_ret(rc);
    if (!port) return us_ret(-EINVAL);
    /* Linux: the limited broadcast address only with SO_BROADCAST. */
    if (ip == INADDR_BROADCAST && !e->broadcast) return us_ret(-EACCES);
    h.ip = ip;
    h.port = port;
  } else if (!e->dgram_connected) {
    return us_ret(-EDESTADDRREQ);
  }
  if (mh->msg_iovlen > IOV_MAX_OURS - 1) return us_ret(-EMSGSIZE);
  size_t total = 0;
  struct iovec iov[IOV_MAX_OURS];
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof h;
  for (size_t i = 0; i < mh->msg_iovlen; i++) {
    iov[i + 1] = mh->msg_iov[i];
    total += mh->msg_iov[i].iov_len;
  }
  if (total > US_DGRAM_MAX) return us_ret(-EMSGSIZE);
  /* Linux checks the socket's error before it queues a datagram: an ICMP
   * error on a connected socket fails the next send or receive, whichever
   * comes first, and is then gone. */
  int err = us_dgram_take_error(fd);
  if (err) return us_ret(-err);
  int rc = dgram_key(e, &h.key);
  if (rc < 0) return us_ret(rc);
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = mh->msg_iovlen + 1};
  ssize_t n = us_real(sendmsg)(fd, &m, (flags & MSG_DONTWAIT) | MSG_NOSIGNAL);
  if (n < 0 && errno == EPIPE) return us_ret(-ENETDOWN); /* the stack died */
  if (n < 0) return -1;
  return n - (ssize_t)sizeof h;
}

static ssize_t dgram_recvmsg(int fd, struct us_fd_info *e, struct msghdr *mh, int flags) {
  if (mh->msg_iovlen > IOV_MAX_OURS - 1) return us_ret(-EMSGSIZE);
  struct us_dgram_hdr h;
  struct iovec iov[IOV_MAX_OURS];
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof h;
  for (size_t i = 0; i < mh->msg_iovlen; i++) iov[i + 1] = mh->msg_iov[i];
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = mh->msg_iovlen + 1};
  int f = flags & (MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);
  ssize_t n = us_real(recvmsg)(fd, &m, f);
  if (n < 0) return -1;
  /* The stack never hangs up a datagram channel while it lives: it died.
   * A UDP socket has no end of stream, so that is a network failure. */
  if ((size_t)n < sizeof h) return us_ret(-ENETDOWN);
  if (h.flags & US_DGRAM_ERR) {
    if (flags & MSG_PEEK) /* consume the error so it is reported once */
      us_real(recv)(fd, &h, sizeof h, MSG_DONTWAIT);
    errno = h.err;
    return -1;
  }
  if (mh->msg_name) {
    socklen_t len = mh->msg_namelen;
    us_v4_to_sa(e->family, h.ip, h.port, mh->msg_name, &len);
    mh->msg_namelen = len;
  } else {
    mh->msg_namelen = 0;
  }
  mh->msg_controllen = 0;
  mh->msg_flags = m.msg_flags & MSG_TRUNC;
  return n - (ssize_t)sizeof h;
}

int us_dgram_fionread(int fd, int *out) {
  int n = 0;
  if (us_real(ioctl)(fd, FIONREAD, &n) < 0) return -errno;
  *out = n > (int)sizeof(struct us_dgram_hdr) ? n - (int)sizeof(struct us_dgram_hdr) : 0;
  return 0;
}

/* ---- dispatch ---------------------------------------------------------------- */

/* An fd we believed ours is not a socket any more: it was closed behind our
 * back (glibc's fclose closes internally) and its number reused. Forget it;
 * the caller then redoes the call on libc. */
static int went_stale(int fd, ssize_t r) {
  if (r >= 0 || errno != ENOTSOCK) return 0;
  us_fd_clear(fd);
  return 1;
}

static ssize_t our_recvmsg(int fd, struct us_fd_info *e, struct msghdr *mh, int flags) {
  return e->type == SOCK_DGRAM ? dgram_recvmsg(fd, e, mh, flags) : stream_recvmsg(fd, e, mh, flags);
}

static ssize_t our_sendmsg(int fd, struct us_fd_info *e, const struct msghdr *mh, int flags) {
  return e->type == SOCK_DGRAM ? dgram_sendmsg(fd, e, mh, flags) : stream_sendmsg(fd, e, mh, flags);
}

EXPORT ssize_t read(int fd, void *buf, size_t len) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(read)(fd, buf, len);
  if (e->type == SOCK_STREAM) { /* the fast path: a plain read */
    ssize_t n = us_real(read)(fd, buf, len);
    return n == 0 ? stream_eof(fd, e, len) : n;
  }
  struct iovec iov = {buf, len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t r = our_recvmsg(fd, e, &mh, 0);
  return went_stale(fd, r) ? us_real(read)(fd, buf, len) : r;
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen) {
  if (len > buflen) abort(); /* what glibc's __chk_fail does, minus the message */
  return read(fd, buf, len);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(readv)(fd, iov, cnt);
  if (cnt < 0 || cnt > IOV_MAX_OURS - 1) return us_ret(-EINVAL);
  struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
  ssize_t r = our_recvmsg(fd, e, &mh, 0);
  return went_stale(fd, r) ? us_real(readv)(fd, iov, cnt) : r;
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(recv)(fd, buf, len, flags);
  struct iovec iov = {buf, len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t r = our_recvmsg(fd, e, &mh, flags);
  return went_stale(fd, r) ? us_real(recv)(fd, buf, len, flags) : r;
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags) {
  if (len > buflen) abort();
  return recv(fd, buf, len, flags);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa,
                        socklen_t *salen) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(recvfrom)(fd, buf, len, flags, sa, salen);
  if (sa && !salen) return us_ret(-EFAULT);
  struct iovec iov = {buf, len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_name = sa,
                      .msg_namelen = sa ? *salen : 0};
  ssize_t n = our_recvmsg(fd, e, &mh, flags);
  if (went_stale(fd, n)) return us_real(recvfrom)(fd, buf, len, flags, sa, salen);
  if (n >= 0 && sa) *salen = mh.msg_namelen;
  return n;
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                              struct sockaddr *sa, socklen_t *salen) {
  if (len > buflen) abort();
  return recvfrom(fd, buf, len, flags, sa, salen);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *mh, int flags) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(recvmsg)(fd, mh, flags);
  if (!mh) return us_ret(-EFAULT);
  ssize_t r = our_recvmsg(fd, e, mh, flags);
  return went_stale(fd, r) ? us_real(recvmsg)(fd, mh, flags) : r;
}

EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *t) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(recvmmsg)(fd, v, n, flags, t);
  if (!v && n) return us_ret(-EFAULT); /* Linux: a count of 0 is 0 */
  unsigned i = 0;
  for (; i < n; i++) {
    ssize_t r = our_recvmsg(fd, e, &v[i].msg_hdr, i ? (flags | MSG_DONTWAIT) : flags);
    if (r < 0) {
      if (i) break;
      return -1;
    }
    v[i].msg_len = (unsigned)r;
    if (flags & MSG_WAITFORONE) flags |= MSG_DONTWAIT;
  }
  return (int)i;
}

EXPORT ssize_t write(int fd, const void *buf, size_t len) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(write)(fd, buf, len);
  struct iovec iov = {(void *)buf, len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t r = our_sendmsg(fd, e, &mh, 0);
  return went_stale(fd, r) ? us_real(write)(fd, buf, len) : r;
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(writev)(fd, iov, cnt);
  if (cnt < 0 || cnt > IOV_MAX_OURS - 1) return us_ret(-EINVAL);
  struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
  ssize_t r = our_sendmsg(fd, e, &mh, 0);
  return went_stale(fd, r) ? us_real(writev)(fd, iov, cnt) : r;
}

/* sendfile() fills the channel by itself; as on Linux (whose sendfile
 * pushes its last chunk) it ends a run of send(MSG_MORE). */
static ssize_t after_sendfile(int out, ssize_t r) {
  struct us_fd_info *e = us_fd_sock(out);
  if (e && e->type == SOCK_STREAM && e->more) stream_more(e, 0);
  return r;
}

EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n) {
  return after_sendfile(out, us_real(sendfile)(out, in, off, n));
}

EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t n) {
  return after_sendfile(out, us_real(sendfile64)(out, in, off, n));
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(send)(fd, buf, len, flags);
  struct iovec iov = {(void *)buf, len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t r = our_sendmsg(fd, e, &mh, flags);
  return went_stale(fd, r) ? us_real(send)(fd, buf, len, flags) : r;
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa,
                      socklen_t salen) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(sendto)(fd, buf, len, flags, sa, salen);
  struct iovec iov = {(void *)buf, len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_name = (void *)sa,
                      .msg_namelen = sa ? salen : 0};
  ssize_t r = our_sendmsg(fd, e, &mh, flags);
  return went_stale(fd, r) ? us_real(sendto)(fd, buf, len, flags, sa, salen) : r;
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *mh, int flags) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(sendmsg)(fd, mh, flags);
  if (!mh) return us_ret(-EFAULT);
  ssize_t r = our_sendmsg(fd, e, mh, flags);
  return went_stale(fd, r) ? us_real(sendmsg)(fd, mh, flags) : r;
}

EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags) {
  struct us_fd_info *e = us_fd_sock(fd);
  if (!e) return us_real(sendmmsg)(fd, v, n, flags);
  if (!v && n) return us_ret(-EFAULT); /* Linux: a count of 0 is 0 */
  unsigned i = 0;
  for (; i < n; i++) {
    ssize_t r = our_sendmsg(fd, e, &v[i].msg_hdr, flags);
    if (r < 0) {
      if (i) break;
      return -1;
    }
    v[i].msg_len = (unsigned)r;
  }
  return (int)i;
}
