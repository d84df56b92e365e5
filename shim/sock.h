/* Stack-side sockets of the control server: one per program socket, with
 * the stack end of its channel and the stack's TCP or UDP socket.
 * Internal to ctl_server.c, sock_tcp.c, sock_udp.c and sock_resolve.c. */
#ifndef USTACK_SHIM_SOCK_H
#define USTACK_SHIM_SOCK_H

#include <stdint.h>
#include <uv.h>

#include "shim/ctl_proto.h"
#include "stack/tcp_sock.h"
#include "stack/udp.h"

struct us_ctl_server;
struct us_sock;

/* A connection accepted by the stack, waiting to be handed to the program
 * over its listener's accept channel. */
struct sock_pending {
  struct sock_pending *next;
  uint32_t conn_id; /* the connection (by id: it may die while it waits) */
  int prog_fd;      /* the program end of the connection's channel */
};

struct us_sock {
  struct us_ctl_server *srv;
  uint32_t id;
  int type;            /* SOCK_STREAM or SOCK_DGRAM */
  int chan;            /* stack end of the channel, -1 once closed */
  uv_poll_t *poll;     /* watches chan; its own allocation, freed on uv_close */
  int poll_events;     /* UV_READABLE | UV_WRITABLE currently asked */
  int state;           /* US_CTL_ST_* */
  int err;             /* pending SO_ERROR, positive errno */
  int filler;          /* connect filler bytes still to drain */
  unsigned chan_eof : 1;   /* read EOF from the program: FIN sent */
  unsigned chan_full : 1;  /* the channel refused bytes: wait for writable */
  unsigned wr_shut : 1;    /* we shut the channel's write side (peer FIN) */
  unsigned dead : 1;       /* waiting only to be freed */
  unsigned orphan : 1;     /* program gone: finishing the close (busy) */
  unsigned was_connected : 1; /* the handshake completed (an error came after) */
  unsigned err_drain : 1;  /* reset with bytes the program has not read yet: they
                              go into the channel first, as Linux's receive queue
                              stays readable after a RST */
  unsigned reuseaddr : 1, keepalive : 1, broadcast : 1;
  uint8_t family;      /* AF_INET or AF_INET6, as the program asked */
  uint64_t prog_ino;   /* inode of the channel's program end (US_CTL_RECOGNISE) */
  struct us_tcp_sock *tcp;
  int tcp_opts[US_TCP_OPT_MORE + 1]; /* the TCP socket's options when it went */
  unsigned tcp_opts_kept : 1;        /* (getsockopt answers them, as Linux) */
  struct udp_sock *udp;
  uint32_t local_ip;   /* host byte order: names kept for a dead socket */
  uint16_t local_port;
  uint32_t peer_ip;    /* 0: not connected */
  uint16_t peer_port;
  uint64_t dgram_key;  /* SOCK_DGRAM: what every program message carries (dgram.h) */
  struct sock_pending *pending, **pending_tail; /* listener: not yet handed over */
  int linger_fd;       /* -1, or the end a lingering close() waits on: closed when over */
  us_time_t dead_since;
  struct us_sock *grave_next;
};

/* ctl_server.c */
struct us_stack *us_srv_stack(struct us_ctl_server *srv);
uv_loop_t *us_srv_loop(struct us_ctl_server *srv);
/* Bring the stack's clock to now before acting on a program's request. */
void us_srv_tick(struct us_ctl_server *srv);
struct us_sock *us_srv_sock_new(struct us_ctl_server *srv, int type, int chan);
struct us_sock *us_srv_sock_find(struct us_ctl_server *srv, uint32_t id);
/* The address to reach our TCP listener on port (host order) at: its bound
 * address, or the stack's own. 0 if no listener has that port. */
uint32_t us_srv_listener_ip(struct us_ctl_server *srv, uint16_t port);
/* The socket needs nothing more from the stack: free it now, or keep it
 * briefly so SO_ERROR / getsockname still answer (dead). */
void us_srv_sock_free(struct us_sock *so);
void us_srv_sock_bury(struct us_sock *so);
/* A dead socket lives again (a failed connect tried anew). */
void us_srv_sock_unbury(struct us_sock *so);
/* Watch the channel for these UV_* events (0 = stop); cb gets so as
 * handle->data. */
void us_sock_poll(struct us_sock *so, int events, uv_poll_cb cb);
/* 1 if every program copy of the channel is closed (POLLHUP). */
int us_sock_hung_up(const struct us_sock *so);
/* The channel's program end is fd (still ours to pass on): remember its
 * inode, by which a program recognises the socket after an exec. */
void us_sock_note_prog_end(struct us_sock *so, int fd);
/* Closes the stack end of the channel (and its poll handle). */
void us_sock_close_chan(struct us_sock *so);

/* sock_tcp.c: handlers for a SOCK_STREAM socket. Each fills the answer in m. */
int sock_tcp_open(struct us_sock *so);
void sock_tcp_bind(struct us_sock *so, struct us_ctl_msg *m);
/* Returns the program end of the accept channel (or -1 with m->err set). */
int sock_tcp_listen(struct us_sock *so, struct us_ctl_msg *m);
void sock_tcp_connect(struct us_sock *so, struct us_ctl_msg *m);
/* close() with SO_LINGER > 0 waits: returns the program's end of a pair that
 * hangs up when the close is over, or -1 with m->a = 1 if nothing to wait. */
int sock_tcp_linger(struct us_sock *so, struct us_ctl_msg *m);
void sock_tcp_shutdown(struct us_sock *so, struct us_ctl_msg *m);
void sock_tcp_getname(struct us_sock *so, struct us_ctl_msg *m);
void sock_tcp_getopt(struct us_sock *so, struct us_ctl_msg *m);
void sock_tcp_setopt(struct us_sock *so, struct us_ctl_msg *m);
void sock_tcp_state(struct us_sock *so, struct us_ctl_msg *m);
void sock_tcp_destroy(struct us_sock *so);
/* US_CTL_RENEW: returns the program end of a new channel (or -1, m->err). */
int sock_tcp_renew(struct us_sock *so, struct us_ctl_msg *m);

/* sock_udp.c: the same for SOCK_DGRAM. */
int sock_udp_open(struct us_sock *so);
void sock_udp_bind(struct us_sock *so, struct us_ctl_msg *m);
void sock_udp_connect(struct us_sock *so, struct us_ctl_msg *m);
void sock_udp_getname(struct us_sock *so, struct us_ctl_msg *m);
void sock_udp_getopt(struct us_sock *so, struct us_ctl_msg *m);
void sock_udp_setopt(struct us_sock *so, struct us_ctl_msg *m);
/* US_CTL_DGRAM_KEY, and the socket() answer: data = the channel's key. */
void sock_udp_key(struct us_sock *so, struct us_ctl_msg *m);
void sock_udp_destroy(struct us_sock *so);

/* sock_resolve.c: name resolution for programs. done(arg, m) is called once
 * with the answer filled in; if that happens before sock_resolve returns,
 * it returns NULL, else a handle valid until done runs. */
typedef void (*sock_resolve_done)(void *arg, struct us_ctl_msg *m);
struct sock_resolve;
struct sock_resolve *sock_resolve(struct us_ctl_server *srv, struct us_ctl_msg *m,
                                  sock_resolve_done done, void *arg);
void sock_resolve_cancel(struct sock_resolve *r);
struct sock_resolve *sock_resolve_ptr(struct us_ctl_server *srv, struct us_ctl_msg *m,
                                      sock_resolve_done done, void *arg);
void sock_resolve_shutdown(struct us_ctl_server *srv);

#endif
