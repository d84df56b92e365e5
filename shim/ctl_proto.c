/* Control protocol encoding and transport (see ctl_proto.h). */
#define _GNU_SOURCE
#include "shim/ctl_proto.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void us_ctl_init(struct us_ctl_msg *m, enum us_ctl_op op, uint32_t sock) {
  memset(m, 0, sizeof *m);
  m->magic = US_CTL_MAGIC;
  m->op = (uint16_t)op;
  m->sock = sock;
}

int us_ctl_set_data(struct us_ctl_msg *m, const void *data, size_t len) {
  if (len > US_CTL_DATA_MAX) return -EMSGSIZE;
  if (len) memcpy(m->data, data, len);
  m->len = (uint16_t)len;
  return 0;
}

int us_ctl_validate(const struct us_ctl_msg *m) {
  if (m->magic != US_CTL_MAGIC) return -EPROTO;
  if (m->op == 0 || m->op >= US_CTL__MAX) return -EPROTO;
  if (m->len > US_CTL_DATA_MAX) return -EPROTO;
  return 0;
}

static void close_fds_in(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int f;
      memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
      close(f);
    }
  }
}

/* Takes the first passed fd out of mh (closing any others). -1 if none. */
static int take_fd(struct msghdr *mh) {
  int got = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int f;
      memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
      if (got < 0) got = f;
      else close(f);
    }
  }
  return got;
}

static int send_with_fd(int fd, const void *buf, size_t len, int pass_fd) {
  size_t off = 0;
  while (off < len) {
    struct iovec iov = {(char *)buf + off, len - off};
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cbuf;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (pass_fd >= 0 && off == 0) {
      memset(&cbuf, 0, sizeof cbuf);
      mh.msg_control = cbuf.b;
      mh.msg_controllen = sizeof cbuf.b;
      struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && off > 0) { /* a partial message must be finished */
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, 1000);
        continue;
      }
      return -errno;
    }
    off += (size_t)n;
  }
  return 0;
}

int us_ctl_send(int fd, const struct us_ctl_msg *m, int pass_fd) {
  return send_with_fd(fd, m, sizeof *m, pass_fd);
}

int us_ctl_recv(int fd, struct us_ctl_msg *m, int *got_fd) {
  size_t have = 0;
  int got = -1;
  while (have < sizeof *m) {
    struct iovec iov = {(char *)m + have, sizeof *m - have};
    union { char b[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } cbuf;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
                        .msg_controllen = sizeof cbuf.b};
    ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {fd, POLLIN, 0};
      poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) {
      int e = n < 0 ? -errno : -ECONNRESET;
      if (got >= 0) close(got);
      return e;
    }
    if (mh.msg_controllen) {
      if (got < 0) got = take_fd(&mh);
      else close_fds_in(&mh);
    }
    have += (size_t)n;
  }
  int rc = us_ctl_validate(m);
  if (rc < 0) {
    if (got >= 0) close(got);
    return rc;
  }
  if (got_fd) *got_fd = got;
  else if (got >= 0) close(got);
  return 0;
}

void us_ctl_rxbuf_init(struct us_ctl_rxbuf *rb) {
  rb->have = 0;
  rb->fd = -1;
}

int us_ctl_rx(int fd, struct us_ctl_rxbuf *rb) {
  for (;;) {
    struct iovec iov = {(char *)&rb->msg + rb->have, sizeof rb->msg - rb->have};
    union { char b[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } cbuf;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
                        .msg_controllen = sizeof cbuf.b};
    ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return -ECONNRESET;
    if (mh.msg_controllen) {
      if (rb->fd < 0) rb->fd = take_fd(&mh);
      else close_fds_in(&mh);
    }
    rb->have += (size_t)n;
    if (rb->have < sizeof rb->msg) continue;
    rb->have = 0;
    if (us_ctl_validate(&rb->msg) < 0) return -EPROTO;
    return 1;
  }
}

int us_ctl_send_accept(int chan, const struct us_ctl_accept *a, int pass_fd) {
  struct iovec iov = {(void *)a, sizeof *a};
  union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } cbuf;
  memset(&cbuf, 0, sizeof cbuf);
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
                      .msg_controllen = sizeof cbuf.b};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  ssize_t n;
  do n = sendmsg(chan, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  return n == (ssize_t)sizeof *a ? 0 : -EPROTO;
}

int us_ctl_recv_accept(int chan, struct us_ctl_accept *a, int *got_fd, int flags) {
  union { char b[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } cbuf;
  struct iovec iov = {a, sizeof *a};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
                      .msg_controllen = sizeof cbuf.b};
  ssize_t n = recvmsg(chan, &mh, flags);
  if (n < 0) return -errno;
  int got = mh.msg_controllen ? take_fd(&mh) : -1;
  /* Channel shut: the listener was shut down (or its stack died). Linux's
   * accept on a socket that no longer listens is EINVAL; ECONNABORTED would
   * make a server retry forever. */
  if (n == 0 && got < 0) return -EINVAL;
  if (n != (ssize_t)sizeof *a || a->magic != US_CTL_MAGIC || got < 0) {
    if (got >= 0) close(got);
    return -ECONNABORTED;
  }
  *got_fd = got;
  return 0;
}

int us_ctl_check_peer(int fd, uid_t uid) {
  struct ucred cr;
  socklen_t len = sizeof cr;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) return -errno;
  return cr.uid == uid ? 0 : -EPERM;
}
