/* Stack side of a program's TCP socket: the pump between the channel (the
 * stack end of a SOCK_STREAM socketpair) and the stack's TCP socket.
 *
 * Backpressure is end to end: the channel is read only while the TCP send
 * buffer has room, and TCP's received bytes are peeked, written into the
 * channel as far as it accepts them, and only that much is consumed (which
 * is what reopens the advertised window). EOF from the program becomes a
 * FIN; the peer's FIN becomes EOF for the program (shutdown of the channel's
 * write side); an error (reset, timeout, refused) closes the channel after
 * the bytes already queued and is kept for SO_ERROR and for the
 * interposer's error translation. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim/chan_end.h"
#include "shim/sock.h"
#include "common/alloc.h"
#include "stack/ipv4.h"

/* One loop thread: a single buffer between channel reads and TCP sends. */
static uint8_t pump_buf[64 * 1024];

static void tcp_ev(void *user, struct us_tcp_sock *t, uint32_t ev, int err);
static void chan_ev(uv_poll_t *p, int status, int events);
static void listener_flush(struct us_sock *l);

static void update_poll(struct us_sock *so) {
  int ev = 0;
  switch (so->state) {
  case US_CTL_ST_NONE: /* only a hang-up can come: the program closed it */
    ev = UV_READABLE;
    break;
  case US_CTL_ST_CONNECTED:
    if (!so->chan_eof && so->tcp && us_tcp_send_space(so->tcp) > 0) ev |= UV_READABLE;
    if (so->chan_full) ev |= UV_WRITABLE;
    break;
  case US_CTL_ST_LISTENING:
    ev = UV_READABLE;
    if (so->pending) ev |= UV_WRITABLE;
    break;
  default: /* connecting: the channel holds the filler until the end; only
              * a hang-up counts (the program closed it mid-connect) */
    ev = UV_DISCONNECT;
    break;
  }
  us_sock_poll(so, ev, chan_ev);
}

static void remember_names(struct us_sock *so) {
  if (!so->tcp) return;
  uint32_t ip;
  uint16_t port;
  if (us_tcp_getsockname(so->tcp, &ip, &port) == 0) {
    so->local_ip = ip;
    so->local_port = port;
  }
  if (us_tcp_getpeername(so->tcp, &ip, &port) == 0) {
    so->peer_ip = ip;
    so->peer_port = port;
  }
}

static void drain_filler(struct us_sock *so) {
  uint8_t b[64];
  while (so->filler > 0 && so->chan >= 0) {
    ssize_t n = read(so->chan, b, (size_t)so->filler < sizeof b ? (size_t)so->filler : sizeof b);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    so->filler -= (int)n;
  }
  so->filler = 0;
}

/* The TCP side is finished with this socket. */
static void release_tcp(struct us_sock *so, int abort) {
  if (so->linger_fd >= 0) { /* the close is over: a lingering close() returns */
    close(so->linger_fd);
    so->linger_fd = -1;
  }
  if (!so->tcp) return;
  remember_names(so);
  for (int o = 0; o <= US_TCP_OPT_MORE; o++) us_tcp_getopt(so->tcp, o, &so->tcp_opts[o]);
  so->tcp_opts_kept = 1;
  us_tcp_set_callback(so->tcp, 0, 0);
  if (abort) us_tcp_abort(so->tcp);
  else us_tcp_close(so->tcp);
  so->tcp = 0;
}

/* The stack is done with this socket: keep the record briefly for SO_ERROR. */
static void bury(struct us_sock *so, int abort) {
  release_tcp(so, abort);
  so->state = US_CTL_ST_CLOSED;
  so->orphan = 0;
  us_srv_sock_bury(so);
}

/* An orphan's close is over once its FIN is acknowledged (everything it
 * sent was delivered) or the connection ended; data arriving for a program
 * that is gone gets a RST, as after close() on Linux. */
static void orphan_check(struct us_sock *so) {
  if (!so->tcp) {
    bury(so, 0);
    return;
  }
  if (us_tcp_readable(so->tcp) > 0) {
    bury(so, 1);
    return;
  }
  int st = us_tcp_state(so->tcp);
  if (st == US_TCP_FIN_WAIT2 || st == US_TCP_TIME_WAIT || st == US_TCP_CLOSE) bury(so, 0);
}

/* The program is done with the socket (closed it, or both directions are
 * over). abort: reset the connection. Otherwise the channel goes, a FIN
 * follows what is queued, and the socket stays "busy" until that FIN is
 * acknowledged, so the launcher can wait for closes to finish. */
static void finish(struct us_sock *so, int abort) {
  if (abort || !so->tcp || so->state != US_CTL_ST_CONNECTED) {
    bury(so, abort);
    return;
  }
  us_sock_close_chan(so);
  if (us_tcp_readable(so->tcp) > 0) { /* unread data at close: RST */
    bury(so, 1);
    return;
  }
  us_tcp_shutdown(so->tcp, SHUT_WR);
  so->orphan = 1;
  orphan_check(so);
}

/* TCP -> channel. */
static void pump_out(struct us_sock *so) {
  while (so->tcp && so->chan >= 0 && !so->chan_full) {
    const uint8_t *p1, *p2;
    size_t n1, n2;
    size_t total = us_tcp_peek(so->tcp, &p1, &n1, &p2, &n2);
    if (!total && so->err_drain) { /* the reset's bytes are all in the channel */
      finish(so, 1);
      return;
    }
    if (!total) {
      if (us_tcp_eof(so->tcp) && !so->wr_shut) {
        us_chan_end_mark(so->id); /* first: a program may read the EOF at once */
        shutdown(so->chan, SHUT_WR);
        so->wr_shut = 1;
        if (so->chan_eof) {
          finish(so, 0);
          return;
        }
      }
      break;
    }
    struct iovec iov[2] = {{(void *)p1, n1}, {(void *)p2, n2}};
    ssize_t n = writev(so->chan, iov, n2 ? 2 : 1);
    if (n > 0) {
      us_tcp_consume(so->tcp, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      so->chan_full = 1;
      break;
    }
    /* EPIPE: the program no longer reads. Closed for good: data after
     * close gets a RST, as on Linux. Only shut for reading: drop it. */
    if (us_sock_hung_up(so)) {
      finish(so, 1);
      return;
    }
    us_tcp_consume(so->tcp, total);
  }
  update_poll(so);
}

/* SO_LINGER with l_linger 0: the program's last close is abortive (Linux
 * tcp_disconnect): RST at once, what was not yet sent is dropped. */
static int linger_zero(struct us_sock *so) {
  int v = -1;
  if (so->tcp) us_tcp_getopt(so->tcp, US_TCP_OPT_LINGER, &v);
  return v == 0;
}

/* Channel -> TCP, only as much as the send buffer takes. */
static void pump_in(struct us_sock *so) {
  if (linger_zero(so) && us_sock_hung_up(so)) {
    finish(so, 1);
    return;
  }
  while (so->tcp && so->chan >= 0 && !so->chan_eof) {
    size_t space = us_tcp_send_space(so->tcp);
    if (!space) break;
    if (space > sizeof pump_buf) space = sizeof pump_buf;
    ssize_t n = read(so->chan, pump_buf, space);
    if (n > 0) {
      ssize_t w = us_tcp_send(so->tcp, pump_buf, (size_t)n);
      if (w < 0) { /* the connection died under us: its error event follows */
        so->chan_eof = 1;
        break;
      }
      /* A short read emptied the channel: skip the read that would only say
       * EAGAIN (one system call per request in request/response traffic).
       * The poll is level-triggered: more data or EOF wakes us again. */
      if ((size_t)n < space) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    /* EOF (or an error): the program shut its write side or closed. */
    so->chan_eof = 1;
    if (us_sock_hung_up(so)) {
      finish(so, 0);
      return;
    }
    us_tcp_shutdown(so->tcp, SHUT_WR);
    if (so->wr_shut) {
      finish(so, 0);
      return;
    }
  }
  update_poll(so);
}

static void on_error(struct us_sock *so, int err) {
  /* A connect's filler is left in the channel: closing it discards the
   * bytes. Draining first would make the channel writable and not yet hung
   * up, which a waiting connect() takes for success. */
  so->filler = 0;
  so->err = err ? err : ECONNRESET;
  if (so->state == US_CTL_ST_CONNECTING && so->tcp) {
    /* A failed connect: the TCP socket (options, binding) stays for a
     * connect tried again on the same fd (sock_tcp_renew), as on Linux. */
    so->state = US_CTL_ST_CLOSED;
    us_srv_sock_bury(so);
    return;
  }
  /* Bytes already received stay readable, those still in TCP's receive
   * buffer too (a full channel holds them back); then EOF, which the
   * interposer turns into this error. Writes fail with EPIPE -> error. */
  if (so->tcp && so->chan >= 0 && so->state == US_CTL_ST_CONNECTED &&
      us_tcp_readable(so->tcp) > 0 && !us_sock_hung_up(so)) {
    so->err_drain = 1;
    pump_out(so);
    return;
  }
  finish(so, 1);
}

static void listener_accept(struct us_sock *l) {
  /* While the program is behind (the accept channel is full), connections
   * stay in TCP's accept queue, whose backlog then applies. */
  while (!l->pending) {
    int err = 0;
    struct us_tcp_sock *t = us_tcp_accept(l->tcp, &err);
    if (!t) break;
    int sv[2];
    struct us_sock *c = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
      c = us_srv_sock_new(l->srv, SOCK_STREAM, sv[0]);
      if (!c) {
        close(sv[0]);
        close(sv[1]);
      }
    }
    struct sock_pending *p = c ? us_calloc(1, sizeof *p) : 0;
    if (!p) {
      if (c) {
        c->tcp = t;
        us_srv_sock_free(c);
        close(sv[1]);
      } else {
        us_tcp_abort(t);
      }
      continue;
    }
    c->tcp = t;
    c->family = l->family;
    us_sock_note_prog_end(c, sv[1]);
    us_tcp_set_callback(t, tcp_ev, c);
    c->state = US_CTL_ST_CONNECTED;
    c->was_connected = 1;
    remember_names(c);
    int fl = fcntl(sv[1], F_GETFL);
    if (fl >= 0) fcntl(sv[1], F_SETFL, fl & ~O_NONBLOCK);
    p->conn_id = c->id;
    p->prog_fd = sv[1];
    *l->pending_tail = p;
    l->pending_tail = &p->next;
    pump_out(c);
    listener_flush(l);
  }
  update_poll(l);
}

/* Hand accepted connections to the program over the accept channel. */
static void listener_flush(struct us_sock *l) {
  while (l->pending && l->chan >= 0) {
    struct sock_pending *p = l->pending;
    struct us_sock *c = us_srv_sock_find(l->srv, p->conn_id);
    struct us_ctl_accept a = {.magic = US_CTL_MAGIC};
    if (c) {
      a.sock = c->id;
      a.peer_ip = htonl(c->peer_ip);
      a.peer_port = htons(c->peer_port);
    }
    int rc = us_ctl_send_accept(l->chan, &a, p->prog_fd);
    if (rc == -EAGAIN || rc == -ENOBUFS) break;
    close(p->prog_fd); /* sent (or the listener is gone: the conn sees a hang-up) */
    l->pending = p->next;
    if (!l->pending) l->pending_tail = &l->pending;
    us_free(p);
  }
  update_poll(l);
}

static void listener_close(struct us_sock *l) {
  while (l->pending) {
    struct sock_pending *p = l->pending;
    l->pending = p->next;
    close(p->prog_fd); /* the connection's stack end sees the hang-up */
    us_free(p);
  }
  l->pending_tail = &l->pending;
  finish(l, 0);
}

static void tcp_ev(void *user, struct us_tcp_sock *t, uint32_t ev, int err) {
  struct us_sock *so = user;
  if (!so || so->tcp != t) return;
  if (so->orphan) {
    if (ev & US_TCP_EV_ERROR) so->err = err;
    orphan_check(so);
    return;
  }
  if (ev & US_TCP_EV_CONNECTED) {
    drain_filler(so);
    so->state = US_CTL_ST_CONNECTED;
    so->was_connected = 1;
    remember_names(so);
  }
  if (ev & US_TCP_EV_ERROR) {
    on_error(so, err);
    return;
  }
  if (ev & US_TCP_EV_ACCEPT && so->state == US_CTL_ST_LISTENING) {
    listener_accept(so);
    return;
  }
  if (so->state != US_CTL_ST_CONNECTED) return;
  if (ev & (US_TCP_EV_READABLE | US_TCP_EV_RDHUP | US_TCP_EV_CONNECTED)) pump_out(so);
  if (so->tcp && ev & (US_TCP_EV_WRITABLE | US_TCP_EV_CONNECTED)) pump_in(so);
  if (so->tcp && (ev & US_TCP_EV_CLOSED) && !so->dead) finish(so, 0);
}

static void chan_ev(uv_poll_t *p, int status, int events) {
  struct us_sock *so = p->data;
  us_srv_tick(so->srv);
  switch (so->state) {
  case US_CTL_ST_NONE:
    /* Unconnected: readable means the program closed it, or it is the
     * filler of a connect whose request is on its way (leave it there). */
    if (us_sock_hung_up(so)) {
      release_tcp(so, 1);
      us_srv_sock_free(so);
    } else {
      us_sock_poll(so, 0, chan_ev);
    }
    return;
  case US_CTL_ST_CONNECTED:
    if (status < 0) {
      finish(so, 1);
      return;
    }
    if (events & UV_WRITABLE) {
      so->chan_full = 0;
      pump_out(so);
      if (so->dead) return;
    }
    if (events & UV_READABLE) pump_in(so);
    else update_poll(so);
    return;
  case US_CTL_ST_LISTENING: {
    if (events & UV_READABLE) {
      char b[16];
      ssize_t n = recv(so->chan, b, sizeof b, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        listener_close(so);
        return;
      }
    }
    if (events & UV_WRITABLE) {
      listener_flush(so);
      if (!so->pending && so->tcp) listener_accept(so); /* room again */
    }
    return;
  }
  default:
    /* close() during the handshake: as on Linux the socket is gone at once
     * (no FIN after a late SYN-ACK; the stack answers that with a RST). */
    if (us_sock_hung_up(so)) {
      release_tcp(so, 1);
      us_srv_sock_free(so);
      return;
    }
    us_sock_poll(so, 0, chan_ev);
  }
}

/* ---- requests ------------------------------------------------------------- */

int sock_tcp_linger(struct us_sock *so, struct us_ctl_msg *m) {
  m->a = 1;
  if (so->dead || !so->tcp || so->state != US_CTL_ST_CONNECTED) return -1;
  /* Another copy of the fd still open (dup, fork): not the last close, which
   * alone lingers on Linux. The program closed its copy before asking. */
  if (!so->orphan && !us_sock_hung_up(so)) return -1;
  if (!so->orphan) {
    pump_in(so); /* take the rest and the EOF now: the FIN follows the data */
    if (so->dead || !so->tcp) return -1;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -1;
  if (so->linger_fd >= 0) close(so->linger_fd);
  so->linger_fd = sv[0];
  m->a = 0;
  return sv[1];
}

int sock_tcp_open(struct us_sock *so) {
  so->tcp = us_tcp_socket(us_srv_stack(so->srv), tcp_ev, so);
  if (!so->tcp) return -ENOMEM;
  so->state = US_CTL_ST_NONE;
  update_poll(so);
  return 0;
}

void sock_tcp_destroy(struct us_sock *so) {
  if (so->state == US_CTL_ST_LISTENING) {
    while (so->pending) {
      struct sock_pending *p = so->pending;
      so->pending = p->next;
      close(p->prog_fd);
      us_free(p);
    }
  }
  release_tcp(so, 1);
}

int sock_tcp_renew(struct us_sock *so, struct us_ctl_msg *m) {
  int sv[2];
  if (!so->dead || !so->tcp || so->was_connected || us_tcp_state(so->tcp) != US_TCP_CLOSE) {
    m->err = EINVAL;
    return -1;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
    m->err = errno == EMFILE || errno == ENFILE ? errno : ENOBUFS;
    return -1;
  }
  us_srv_sock_unbury(so);
  so->chan = sv[0];
  so->state = US_CTL_ST_NONE;
  so->err = 0;
  so->filler = 0;
  so->chan_eof = so->chan_full = so->wr_shut = 0;
  update_poll(so);
  int fl = fcntl(sv[1], F_GETFL);
  if (fl >= 0) fcntl(sv[1], F_SETFL, fl & ~O_NONBLOCK);
  return sv[1];
}

void sock_tcp_bind(struct us_sock *so, struct us_ctl_msg *m) {
  if (!so->tcp) {
    m->err = EINVAL;
    return;
  }
  int rc = us_tcp_bind(so->tcp, ntohl(m->ip), ntohs(m->port));
  m->err = rc < 0 ? -rc : 0;
}

int sock_tcp_listen(struct us_sock *so, struct us_ctl_msg *m) {
  if (!so->tcp) {
    m->err = EINVAL;
    return -1;
  }
  if (m->b == 1 || so->state == US_CTL_ST_LISTENING) { /* backlog change only */
    return -1;
  }
  if (so->state != US_CTL_ST_NONE) {
    m->err = EINVAL;
    return -1;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
    m->err = ENOBUFS;
    return -1;
  }
  /* Linux clamps the backlog to [0, somaxconn]. */
  int backlog = m->a < 0 ? 0 : m->a > 4096 ? 4096 : m->a;
  int rc = us_tcp_listen(so->tcp, backlog);
  if (rc < 0) {
    close(sv[0]);
    close(sv[1]);
    m->err = -rc;
    return -1;
  }
  us_sock_close_chan(so); /* the stream channel is replaced by the program */
  so->chan = sv[0];
  so->state = US_CTL_ST_LISTENING;
  remember_names(so);
  update_poll(so);
  int fl = fcntl(sv[1], F_GETFL);
  if (fl >= 0) fcntl(sv[1], F_SETFL, fl & ~O_NONBLOCK);
  us_sock_note_prog_end(so, sv[1]); /* the accept channel takes the fd's place */
  return sv[1];
}

void sock_tcp_connect(struct us_sock *so, struct us_ctl_msg *m) {
  so->filler = m->a > 0 ? m->a : 0;
  if (m->flags & US_CTL_F_LOOPBACK) {
    /* 127.x: a listener of ours on that port is reached on our own
     * address; otherwise the kernel's loopback is the program's. */
    uint32_t own = us_srv_listener_ip(so->srv, ntohs(m->port));
    if (!own) {
      drain_filler(so);
      m->err = EADDRNOTAVAIL;
      m->flags = US_CTL_F_KERNEL;
      update_poll(so); /* notice when the program drops this channel */
      return;
    }
    m->ip = htonl(own);
  }
  m->flags = 0;
  int rc;
  switch (so->state) {
  case US_CTL_ST_CONNECTED: rc = -EISCONN; break;
  case US_CTL_ST_CONNECTING: rc = -EALREADY; break;
  case US_CTL_ST_NONE:
    rc = so->tcp ? us_tcp_connect(so->tcp, ntohl(m->ip), ntohs(m->port)) : -EBADF;
    break;
  default: rc = -EINVAL;
  }
  if (rc == -EINPROGRESS || rc == 0) {
    if (so->state == US_CTL_ST_NONE) so->state = US_CTL_ST_CONNECTING;
    m->err = 0;
  } else {
    /* The program treats the connect as over: take the filler now. */
    drain_filler(so);
    m->err = -rc;
  }
  update_poll(so);
}

void sock_tcp_shutdown(struct us_sock *so, struct us_ctl_msg *m) {
  /* Only listeners come here: stream shutdowns travel in-band. */
  if (so->state == US_CTL_ST_LISTENING && (m->a == SHUT_RD || m->a == SHUT_RDWR))
    listener_close(so);
}

void sock_tcp_getname(struct us_sock *so, struct us_ctl_msg *m) {
  if (so->tcp) remember_names(so);
  if (m->a) {
    if (!so->peer_ip || so->state == US_CTL_ST_CONNECTING || so->state == US_CTL_ST_LISTENING ||
        (so->state == US_CTL_ST_CLOSED && !so->was_connected)) { /* a failed connect */
      m->err = ENOTCONN;
      return;
    }
    m->ip = htonl(so->peer_ip);
    m->port = htons(so->peer_port);
  } else {
    m->ip = htonl(so->local_ip);
    m->port = htons(so->local_port);
  }
}

void sock_tcp_state(struct us_sock *so, struct us_ctl_msg *m) {
  int st = so->state;
  /* A connection that completed and then closed or failed was connected:
   * its error belongs to the calls after connect. */
  if (st == US_CTL_ST_CLOSED && so->was_connected) st = US_CTL_ST_CONNECTED;
  else if (st == US_CTL_ST_CLOSED && so->err) st = US_CTL_ST_FAILED;
  m->a = st;
}

static int opt_int(const struct us_ctl_msg *m, int *v) {
  if (m->len < sizeof(int)) return -EINVAL;
  memcpy(v, m->data, sizeof *v);
  return 0;
}

/* Maps a Linux (level, optname) to the stack's option; -1 if none. */
static int map_opt(int level, int opt) {
  if (level == SOL_SOCKET) {
    switch (opt) {
    case SO_KEEPALIVE: return US_TCP_OPT_KEEPALIVE;
    case SO_RCVBUF: case SO_RCVBUFFORCE: return US_TCP_OPT_RCVBUF;
    case SO_SNDBUF: case SO_SNDBUFFORCE: return US_TCP_OPT_SNDBUF;
    case SO_REUSEADDR: return US_TCP_OPT_REUSEADDR;
    }
  } else if (level == IPPROTO_TCP) {
    switch (opt) {
    case TCP_NODELAY: return US_TCP_OPT_NODELAY;
    case TCP_CORK: return US_TCP_OPT_CORK;
    case TCP_KEEPIDLE: return US_TCP_OPT_KEEPIDLE;
    case TCP_KEEPINTVL: return US_TCP_OPT_KEEPINTVL;
    case TCP_KEEPCNT: return US_TCP_OPT_KEEPCNT;
    case TCP_USER_TIMEOUT: return US_TCP_OPT_USER_TIMEOUT;
    case TCP_MAXSEG: return US_TCP_OPT_MAXSEG;
    }
  }
  return -1;
}

void sock_tcp_getopt(struct us_sock *so, struct us_ctl_msg *m) {
  int level = m->a, opt = m->b;
  m->flags = 0;
  m->a = 0;
  if (!so->tcp) { /* a dead socket: the options it had (Linux keeps them) */
    if (level == IPPROTO_TCP && opt == TCP_INFO) {
      struct us_tcp_info ti;
      memset(&ti, 0, sizeof ti);
      ti.tcpi_state = US_TCP_CLOSE;
      us_ctl_set_data(m, &ti, sizeof ti);
      m->flags = 1;
    }
    int o = map_opt(level, opt);
    if (o < 0 || !so->tcp_opts_kept) return;
  }
  if (level == IPPROTO_TCP && opt == TCP_INFO) {
    struct us_tcp_info ti;
    memset(&ti, 0, sizeof ti);
    us_tcp_get_info(so->tcp, &ti);
    us_ctl_set_data(m, &ti, sizeof ti);
    m->flags = 1;
    return;
  }
  if (level == IPPROTO_TCP && opt == TCP_CONGESTION) {
    char name[16] = {0};
    const char *cc = us_tcp_get_cc(so->tcp);
    snprintf(name, sizeof name, "%s", cc ? cc : "cubic");
    us_ctl_set_data(m, name, sizeof name);
    m->flags = 1;
    return;
  }
  if (level == SOL_SOCKET && opt == SO_LINGER) {
    int v = -1;
    us_tcp_getopt(so->tcp, US_TCP_OPT_LINGER, &v);
    struct linger l = {v >= 0, v >= 0 ? v : 0};
    us_ctl_set_data(m, &l, sizeof l);
    m->flags = 1;
    return;
  }
  if (level == SOL_SOCKET && opt == SO_REUSEPORT) {
    m->a = 0;
    return;
  }
  if (level == IPPROTO_IP) {
    switch (opt) {
    case IP_TTL: m->a = 64; return;
    case IP_TOS: m->a = 0; return;
    case IP_MTU:
      if (!so->peer_ip) m->err = ENOTCONN;
      else m->a = (int)ipv4_path_mtu(us_srv_stack(so->srv), so->peer_ip);
      return;
    default: m->err = ENOPROTOOPT; return;
    }
  }
  int o = map_opt(level, opt);
  if (o < 0) {
    if (level == SOL_SOCKET) return; /* broadcast, oobinline...: 0 */
    m->err = ENOPROTOOPT;
    return;
  }
  int v = 0;
  int rc = so->tcp ? us_tcp_getopt(so->tcp, (enum us_tcp_opt)o, &v) : 0;
  if (!so->tcp) v = so->tcp_opts[o];
  if (rc < 0) m->err = -rc;
  m->a = v; /* buffer sizes: the stack keeps them doubled, as Linux reports them */
}

void sock_tcp_setopt(struct us_sock *so, struct us_ctl_msg *m) {
  int level = m->a, opt = m->b;
  if (!so->tcp) return; /* dead: nothing to change */
  if (m->flags & US_CTL_F_MORE) { /* see ctl_proto.h */
    int v;
    if (opt_int(m, &v) < 0) return;
    if (so->state == US_CTL_ST_CONNECTED) pump_in(so);
    if (so->tcp) us_tcp_setopt(so->tcp, US_TCP_OPT_MORE, v);
    return;
  }
  if (level == IPPROTO_TCP && opt == TCP_CONGESTION) {
    char name[17] = {0};
    memcpy(name, m->data, m->len < 16 ? m->len : 16);
    int rc = us_tcp_set_cc(so->tcp, name);
    m->err = rc < 0 ? -rc : 0;
    return;
  }
  if (level == SOL_SOCKET && opt == SO_LINGER) {
    struct linger l;
    if (m->len < sizeof l) {
      m->err = EINVAL;
      return;
    }
    memcpy(&l, m->data, sizeof l);
    int rc = us_tcp_setopt(so->tcp, US_TCP_OPT_LINGER, l.l_onoff ? l.l_linger : -1);
    m->err = rc < 0 ? -rc : 0;
    return;
  }
  int v;
  if (opt_int(m, &v) < 0) {
    /* Linux accepts a shorter buffer for some options; be strict only for
     * the ones we act on. */
    m->err = map_opt(level, opt) >= 0 ? EINVAL : 0;
    return;
  }
  int o = map_opt(level, opt);
  if (o < 0) {
    if (level == IPPROTO_TCP) {
      /* Options Linux has that change nothing observable here. */
      switch (opt) {
      case TCP_QUICKACK: case TCP_DEFER_ACCEPT: case TCP_FASTOPEN: case TCP_NOTSENT_LOWAT:
      case TCP_WINDOW_CLAMP: case TCP_LINGER2: case TCP_SYNCNT:
        return;
      default: m->err = ENOPROTOOPT; return;
      }
    }
    return; /* SO_REUSEPORT, SO_BROADCAST, IP_TOS, IP_TTL...: accepted */
  }
  int rc = us_tcp_setopt(so->tcp, (enum us_tcp_opt)o, v);
  m->err = rc < 0 ? -rc : 0;
  if (o == US_TCP_OPT_SNDBUF && so->state == US_CTL_ST_CONNECTED) update_poll(so); /* more room */
}
