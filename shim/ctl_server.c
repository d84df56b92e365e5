/* Stack side of the control protocol (see ctl_server.h): the listening
 * socket, one connection per program thread pool slot, the socket table and
 * the dispatch of requests to sock_tcp.c, sock_udp.c and sock_resolve.c. */
#define _GNU_SOURCE
#include "shim/ctl_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim/fdtable.h"
#include "shim/host.h"
#include "shim/log.h"
#include "shim/sock.h"
#include "shim/sysctl_ns.h"
#include "shim/trace.h"
#include "stack/stack.h"
#include "common/alloc.h"

#define SLOT_BITS 20
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define GRAVE_MAX 1024              /* dead sockets kept for SO_ERROR */
#define GRAVE_AGE US_SEC(120)

struct ctl_conn {
  struct us_ctl_server *srv;
  int fd;
  uv_poll_t poll;
  struct us_ctl_rxbuf rb;
  struct sock_resolve *resolving; /* answer still owed */
  struct ctl_conn *next, **pprev;
};

struct us_ctl_server {
  uv_loop_t *loop;
  struct us_stack *stack;
  int lfd;
  uv_poll_t lpoll;
  uid_t uid;
  struct ctl_conn *conns;
  struct us_sock **slots;
  uint16_t *gens;
  uint32_t nslots, cap;
  uint32_t *free_slots;
  uint32_t nfree;
  struct us_sock *grave_head, *grave_tail;
  unsigned ngrave;
  unsigned live;
  us_time_t (*clock)(void); /* the host's clock; NULL on a test's hand-turned loop */
  struct us_sysctl_ns *sysctl; /* the namespace's net.ipv4, for the stack; host only */
};

struct us_stack *us_srv_stack(struct us_ctl_server *srv) { return srv->stack; }
uv_loop_t *us_srv_loop(struct us_ctl_server *srv) { return srv->loop; }

/* The stack learns the time only from frames and timers. A program's request
 * can come after seconds of quiet, and a SYN or a segment stamped with that
 * stale time would get an early retransmission timer and an inflated RTT
 * sample: bring the stack to now (running what came due) before acting. */
void us_srv_tick(struct us_ctl_server *srv) {
  if (srv->clock) us_stack_advance(srv->stack, srv->clock());
}

/* ---- socket table ------------------------------------------------------- */

static int table_grow(struct us_ctl_server *srv) {
  uint32_t cap = srv->cap ? srv->cap * 2 : 256;
  if (cap > SLOT_MASK) return -1;
  struct us_sock **s = us_realloc(srv->slots, cap * sizeof *s);
  if (!s) return -1;
  srv->slots = s;
  uint16_t *g = us_realloc(srv->gens, cap * sizeof *g);
  if (!g) return -1;
  srv->gens = g;
  uint32_t *f = us_realloc(srv->free_slots, cap * sizeof *f);
  if (!f) return -1;
  srv->free_slots = f;
  memset(srv->gens + srv->cap, 0, (cap - srv->cap) * sizeof *g);
  srv->cap = cap;
  return 0;
}

struct us_sock *us_srv_sock_new(struct us_ctl_server *srv, int type, int chan) {
  uint32_t slot;
  if (srv->nfree) {
    slot = srv->free_slots[--srv->nfree];
  } else {
    if (srv->nslots == srv->cap && table_grow(srv) < 0) return 0;
    slot = srv->nslots++;
  }
  struct us_sock *so = us_calloc(1, sizeof *so);
  if (!so) {
    srv->free_slots[srv->nfree++] = slot;
    return 0;
  }
  so->srv = srv;
  so->type = type;
  so->chan = chan;
  so->pending_tail = &so->pending;
  so->linger_fd = -1;
  /* The generation makes a stale id from a closed socket miss. Ids are
   * never 0. */
  srv->gens[slot] = (uint16_t)((srv->gens[slot] + 1) & 0x7ff);
  so->id = ((uint32_t)srv->gens[slot] << SLOT_BITS) | (slot + 1);
  if (!so->id) so->id = 1u << SLOT_BITS | (slot + 1);
  srv->slots[slot] = so;
  srv->live++;
  return so;
}

struct us_sock *us_srv_sock_find(struct us_ctl_server *srv, uint32_t id) {
  uint32_t slot = (id & SLOT_MASK) - 1;
  if ((id & SLOT_MASK) == 0 || slot >= srv->nslots) return 0;
  struct us_sock *so = srv->slots[slot];
  return so && so->id == id ? so : 0;
}

uint32_t us_srv_listener_ip(struct us_ctl_server *srv, uint16_t port) {
  for (uint32_t i = 0; i < srv->nslots; i++) {
    struct us_sock *so = srv->slots[i];
    if (so && !so->dead && so->type == SOCK_STREAM && so->state == US_CTL_ST_LISTENING &&
        so->local_port == port)
      return so->local_ip ? so->local_ip : srv->stack->cfg.ip;
  }
  return 0;
}

void us_sock_note_prog_end(struct us_sock *so, int fd) {
  struct stat st;
  so->prog_ino = fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static void poll_closed(uv_handle_t *h) { us_free(h); }

void us_sock_close_chan(struct us_sock *so) {
  if (so->poll) {
    uv_close((uv_handle_t *)so->poll, poll_closed);
    so->poll = 0;
  }
  so->poll_events = 0;
  if (so->chan >= 0) close(so->chan);
  so->chan = -1;
}

void us_sock_poll(struct us_sock *so, int events, uv_poll_cb cb) {
  if (so->chan < 0) return;
  if (!so->poll) {
    if (!events) return;
    so->poll = us_malloc(sizeof *so->poll);
    if (!so->poll) return;
    if (uv_poll_init(so->srv->loop, so->poll, so->chan) < 0) {
      us_free(so->poll);
      so->poll = 0;
      return;
    }
    so->poll->data = so;
  }
  if (events == so->poll_events) return;
  so->poll_events = events;
  if (events) uv_poll_start(so->poll, events, cb);
  else uv_poll_stop(so->poll);
}

int us_sock_hung_up(const struct us_sock *so) {
  if (so->chan < 0) return 1;
  struct pollfd p = {so->chan, 0, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void sock_unlink(struct us_sock *so) {
  struct us_ctl_server *srv = so->srv;
  uint32_t slot = (so->id & SLOT_MASK) - 1;
  if (slot < srv->nslots && srv->slots[slot] == so) {
    srv->slots[slot] = 0;
    srv->free_slots[srv->nfree++] = slot;
    srv->live--;
  }
}

void us_srv_sock_free(struct us_sock *so) {
  if (so->type == SOCK_STREAM) sock_tcp_destroy(so);
  else sock_udp_destroy(so);
  us_sock_close_chan(so);
  sock_unlink(so);
  us_free(so);
}

static void grave_trim(struct us_ctl_server *srv, us_time_t now) {
  while (srv->grave_head &&
         (srv->ngrave > GRAVE_MAX || now - srv->grave_head->dead_since > GRAVE_AGE)) {
    struct us_sock *so = srv->grave_head;
    srv->grave_head = so->grave_next;
    if (!srv->grave_head) srv->grave_tail = 0;
    srv->ngrave--;
    us_srv_sock_free(so);
  }
}

void us_srv_sock_bury(struct us_sock *so) {
  if (so->dead) return;
  struct us_ctl_server *srv = so->srv;
  us_sock_close_chan(so);
  so->dead = 1;
  so->dead_since = uv_now(srv->loop) * 1000;
  so->grave_next = 0;
  if (srv->grave_tail) srv->grave_tail->grave_next = so;
  else srv->grave_head = so;
  srv->grave_tail = so;
  srv->ngrave++;
  grave_trim(srv, so->dead_since);
}

void us_srv_sock_unbury(struct us_sock *so) {
  struct us_ctl_server *srv = so->srv;
  if (!so->dead) return;
  struct us_sock **pp = &srv->grave_head, *prev = 0;
  while (*pp && *pp != so) {
    prev = *pp;
    pp = &(*pp)->grave_next;
  }
  if (!*pp) return; /* not in the grave: being freed */
  *pp = so->grave_next;
  if (srv->grave_tail == so) srv->grave_tail = prev;
  srv->ngrave--;
  so->grave_next = 0;
  so->dead = 0;
}

unsigned us_ctl_server_busy(const struct us_ctl_server *srv) {
  return srv->live - srv->ngrave;
}

/* ---- requests ------------------------------------------------------------ */

static int do_socket(struct us_ctl_server *srv, struct us_ctl_msg *m) {
  int type = m->a;
  if (type != SOCK_STREAM && type != SOCK_DGRAM) {
    m->err = EPROTONOSUPPORT;
    return -1;
  }
  /* Stream: bytes as they are. Datagram: one message per datagram. */
  int sv[2];
  int kind = type == SOCK_STREAM ? SOCK_STREAM : SOCK_SEQPACKET;
  if (socketpair(AF_UNIX, kind | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
    m->err = errno == EMFILE || errno == ENFILE ? errno : ENOBUFS;
    return -1;
  }
  struct us_sock *so = us_srv_sock_new(srv, type, sv[0]);
  int rc = so ? (type == SOCK_STREAM ? sock_tcp_open(so) : sock_udp_open(so)) : -ENOMEM;
  if (rc < 0) {
    if (so) us_srv_sock_free(so);
    else close(sv[0]);
    close(sv[1]);
    m->err = -rc;
    return -1;
  }
  /* The program end goes without blocking flags: the program sets its own. */
  int fl = fcntl(sv[1], F_GETFL);
  if (fl >= 0) fcntl(sv[1], F_SETFL, fl & ~O_NONBLOCK);
  so->family = m->b == AF_INET6 ? AF_INET6 : AF_INET;
  us_sock_note_prog_end(so, sv[1]);
  m->sock = so->id;
  if (type == SOCK_DGRAM) sock_udp_key(so, m);
  return sv[1];
}

/* A program after exec asks which of the AF_UNIX sockets it inherited are
 * ours. Rare (only at the start of a program that inherited sockets), so a
 * walk over the table: nothing is kept for it on the hot path. */
static void sockinfo_of(const struct us_sock *so, struct us_ctl_sockinfo *si) {
  si->sock = so->id;
  si->type = (uint8_t)so->type;
  si->family = so->family ? so->family : AF_INET;
  int st = so->state;
  if (so->type == SOCK_STREAM && st == US_CTL_ST_CLOSED)
    st = so->was_connected ? US_CTL_ST_CONNECTED : so->err ? US_CTL_ST_FAILED : st;
  si->state = (uint8_t)st;
  si->flags = (uint8_t)((so->reuseaddr ? US_CTL_SI_REUSEADDR : 0) |
                        (so->broadcast ? US_CTL_SI_BROADCAST : 0));
}

static void do_recognise(struct us_ctl_server *srv, struct us_ctl_msg *m) {
  uint64_t ino[US_CTL_RECOGNISE_MAX];
  int n = m->a;
  if (n < 0 || n > US_CTL_RECOGNISE_MAX || m->len < (size_t)n * sizeof *ino) {
    m->err = EINVAL;
    return;
  }
  memcpy(ino, m->data, (size_t)n * sizeof *ino);
  struct us_ctl_sockinfo out[US_CTL_RECOGNISE_MAX];
  memset(out, 0, sizeof out);
  for (uint32_t i = 0; i < srv->nslots; i++) {
    struct us_sock *so = srv->slots[i];
    if (!so || !so->prog_ino) continue;
    for (int k = 0; k < n; k++)
      if (ino[k] == so->prog_ino) sockinfo_of(so, &out[k]);
  }
  us_ctl_set_data(m, out, (size_t)n * sizeof *out);
  m->b = (int32_t)sizeof *out;
}

static void conn_close(struct ctl_conn *c);

static void reply(struct ctl_conn *c, struct us_ctl_msg *m, int pass_fd) {
  int rc = us_ctl_send(c->fd, m, pass_fd);
  if (pass_fd >= 0) close(pass_fd);
  if (rc < 0) {
    us_log_debug("control reply failed: %s", strerror(-rc));
    conn_close(c);
  }
}

static void resolve_done(void *arg, struct us_ctl_msg *m) {
  struct ctl_conn *c = arg;
  c->resolving = 0;
  reply(c, m, -1);
}

static void handle(struct ctl_conn *c, struct us_ctl_msg *m) {
  struct us_ctl_server *srv = c->srv;
  int pass_fd = -1;
  m->err = 0;
  /* The requests that apply net.ipv4 sysctls read them first, as Linux. */
  if (srv->sysctl && (m->op == US_CTL_SOCKET || m->op == US_CTL_BIND ||
                      m->op == US_CTL_CONNECT || m->op == US_CTL_LISTEN))
    us_sysctl_ns_refresh(srv->sysctl, srv->stack, srv->clock());
  if (m->op == US_CTL_SOCKET) {
    pass_fd = do_socket(srv, m);
    reply(c, m, pass_fd);
    return;
  }
  if (m->op == US_CTL_RESOLVE) {
    c->resolving = sock_resolve(srv, m, resolve_done, c);
    return;
  }
  if (m->op == US_CTL_RESOLVE_PTR) {
    c->resolving = sock_resolve_ptr(srv, m, resolve_done, c);
    return;
  }
  if (m->op == US_CTL_RECOGNISE) {
    do_recognise(srv, m);
    reply(c, m, -1);
    return;
  }
  if (m->op == US_CTL_STATS) { /* `ustack ss`: shim/stats_ctl.c */
    pass_fd = us_stats_live_fd(srv->stack);
    m->err = pass_fd < 0 ? -pass_fd : 0;
    m->a = getpid();
    reply(c, m, pass_fd);
    return;
  }
  struct us_sock *so = us_srv_sock_find(srv, m->sock);
  if (m->op == US_CTL_SETOPT && (m->flags & US_CTL_F_POSTED)) {
    if (so) so->type == SOCK_STREAM ? sock_tcp_setopt(so, m) : sock_udp_setopt(so, m);
    if (so && m->err) us_log_debug("posted setsockopt(%d, %d) failed: %s", m->a, m->b, strerror(m->err));
    return; /* nobody waits for an answer */
  }
  if (!so) {
    if (m->op == US_CTL_STATE || m->op == US_CTL_GETERR) m->a = US_CTL_ST_CLOSED;
    else m->err = EBADF;
    reply(c, m, -1);
    return;
  }
  int tcp = so->type == SOCK_STREAM;
  switch (m->op) {
  case US_CTL_BIND: tcp ? sock_tcp_bind(so, m) : sock_udp_bind(so, m); break;
  case US_CTL_LISTEN:
    if (!tcp) m->err = EOPNOTSUPP;
    else pass_fd = sock_tcp_listen(so, m);
    break;
  case US_CTL_CONNECT: tcp ? sock_tcp_connect(so, m) : sock_udp_connect(so, m); break;
  case US_CTL_RENEW:
    if (!tcp) m->err = EINVAL;
    else pass_fd = sock_tcp_renew(so, m);
    break;
  case US_CTL_SHUTDOWN:
    if (tcp) sock_tcp_shutdown(so, m);
    break;
  case US_CTL_LINGER:
    if (tcp) pass_fd = sock_tcp_linger(so, m);
    else m->a = 1;
    break;
  case US_CTL_GETNAME: tcp ? sock_tcp_getname(so, m) : sock_udp_getname(so, m); break;
  case US_CTL_GETOPT: tcp ? sock_tcp_getopt(so, m) : sock_udp_getopt(so, m); break;
  case US_CTL_SETOPT: tcp ? sock_tcp_setopt(so, m) : sock_udp_setopt(so, m); break;
  case US_CTL_DGRAM_KEY:
    if (tcp) m->err = EOPNOTSUPP;
    else sock_udp_key(so, m);
    break;
  case US_CTL_GETERR:
  case US_CTL_STATE: {
    int clear = m->a;
    if (tcp) sock_tcp_state(so, m);
    else m->a = so->state;
    m->err = so->err;
    if (clear == US_CTL_CLEAR || (clear == US_CTL_CLEAR_IF_FAILED && m->a == US_CTL_ST_FAILED))
      so->err = 0;
    break;
  }
  default: m->err = EINVAL;
  }
  reply(c, m, pass_fd);
}

/* ---- connections ---------------------------------------------------------- */

static void conn_handle_closed(uv_handle_t *h) { us_free(h->data); }

static void conn_close(struct ctl_conn *c) {
  if (c->fd < 0) return;
  if (c->resolving) sock_resolve_cancel(c->resolving);
  c->resolving = 0;
  if (c->rb.fd >= 0) close(c->rb.fd);
  c->rb.fd = -1;
  *c->pprev = c->next;
  if (c->next) c->next->pprev = c->pprev;
  close(c->fd);
  c->fd = -1;
  uv_close((uv_handle_t *)&c->poll, conn_handle_closed);
}

static void on_conn(uv_poll_t *p, int status, int events) {
  struct ctl_conn *c = p->data;
  us_srv_tick(c->srv);
  if (status < 0) {
    conn_close(c);
    return;
  }
  /* One request at a time: the client waits for each answer. While a
   * resolve is outstanding the connection is quiet. */
  while (c->fd >= 0 && !c->resolving) {
    int rc = us_ctl_rx(c->fd, &c->rb);
    if (rc == -EAGAIN) return;
    if (rc < 0) {
      if (rc != -ECONNRESET) us_log_debug("control connection dropped: %s", strerror(-rc));
      conn_close(c);
      return;
    }
    if (rc == 0) continue;
    if (c->rb.fd >= 0) { /* programs never send fds */
      close(c->rb.fd);
      c->rb.fd = -1;
    }
    handle(c, &c->rb.msg);
  }
}

static void on_listen(uv_poll_t *p, int status, int events) {
  struct us_ctl_server *srv = p->data;
  for (;;) {
    int fd = accept4(srv->lfd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    if (us_ctl_check_peer(fd, srv->uid) < 0) {
      us_log_warn("refused a control connection from another user");
      close(fd);
      continue;
    }
    struct ctl_conn *c = us_calloc(1, sizeof *c);
    if (!c || uv_poll_init(srv->loop, &c->poll, fd) < 0) {
      us_free(c);
      close(fd);
      continue;
    }
    c->srv = srv;
    c->fd = fd;
    us_ctl_rxbuf_init(&c->rb);
    c->poll.data = c;
    c->next = srv->conns;
    if (c->next) c->next->pprev = &c->next;
    c->pprev = &srv->conns;
    srv->conns = c;
    uv_poll_start(&c->poll, UV_READABLE, on_conn);
  }
}

struct us_ctl_server *us_ctl_server_start(uv_loop_t *loop, struct us_stack *s, int listen_fd,
                                          uid_t uid) {
  /* This is the stack thread. Inside a preloaded program (direct mode) its
   * own socket calls must never be taken for the program's. */
  us_fd_bypass = 1;
  struct us_ctl_server *srv = us_calloc(1, sizeof *srv);
  if (!srv) return 0;
  srv->loop = loop;
  srv->stack = s;
  srv->lfd = listen_fd;
  srv->uid = uid;
  int fl = fcntl(listen_fd, F_GETFL);
  if (fl >= 0) fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK);
  if (uv_poll_init(loop, &srv->lpoll, listen_fd) < 0) {
    us_free(srv);
    return 0;
  }
  srv->lpoll.data = srv;
  uv_poll_start(&srv->lpoll, UV_READABLE, on_listen);
  return srv;
}

static void srv_closed(uv_handle_t *h) {
  struct us_ctl_server *srv = h->data;
  us_free(srv->slots);
  us_free(srv->gens);
  us_free(srv->free_slots);
  us_sysctl_ns_close(srv->sysctl);
  us_free(srv);
}

void us_ctl_server_stop(struct us_ctl_server *srv) {
  if (!srv) return;
  while (srv->conns) conn_close(srv->conns);
  sock_resolve_shutdown(srv);
  for (uint32_t i = 0; i < srv->nslots; i++)
    if (srv->slots[i]) us_srv_sock_free(srv->slots[i]);
  srv->grave_head = srv->grave_tail = 0;
  uv_close((uv_handle_t *)&srv->lpoll, srv_closed);
}

/* ---- attaching to a host ------------------------------------------------------ */

/* Weak: the launcher links whether or not the host exposes its loop yet. */
extern uv_loop_t *us_host_loop(struct us_host *h) __attribute__((weak));

struct attach_args {
  struct us_host *h;
  int fd;
  uid_t uid;
  struct us_ctl_server *srv;
};

static void attach_on_loop(struct us_stack *s, void *arg) {
  struct attach_args *a = arg;
  a->srv = us_ctl_server_start(us_host_loop(a->h), s, a->fd, a->uid);
  if (a->srv) {
    a->srv->clock = us_host_now;
    a->srv->sysctl = us_sysctl_ns_open("/proc/sys");
  }
}

int us_ctl_server_attach(struct us_host *h, int listen_fd, struct us_ctl_server **out) {
  *out = 0;
  if (!us_host_loop) return -ENOSYS;
  struct attach_args a = {h, listen_fd, getuid(), 0};
  int rc = us_host_call_sync(h, attach_on_loop, &a);
  if (rc < 0) return rc;
  if (!a.srv) return -ENOMEM;
  *out = a.srv;
  return 0;
}

static void detach_on_loop(struct us_stack *s, void *arg) { us_ctl_server_stop(arg); }

void us_ctl_server_detach(struct us_host *h, struct us_ctl_server *srv) {
  if (srv) us_host_call_sync(h, detach_on_loop, srv);
}

