/* The TCP socket API of the stack, used by the shim (and by tests).
 *
 * All calls run on the stack thread. A socket reports what happened through
 * one callback with a user pointer; events are delivered when the stack has
 * finished processing the segment, timer or call that caused them, never in
 * the middle of it, so the callback may call any us_tcp_* function
 * (including close). Errors are negative errnos as Linux returns them.
 *
 * Lifetime: the handle from us_tcp_socket() or us_tcp_accept() stays valid
 * until us_tcp_close() or us_tcp_abort(). After close the stack finishes the
 * connection on its own (sends what is buffered, FIN, TIME_WAIT) and never
 * calls the callback again. */
#ifndef USTACK_TCP_SOCK_H
#define USTACK_TCP_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stack/us_stack.h"

struct us_tcp_sock;

/* States, numbered like Linux (tcpi_state, /proc/net/tcp). */
enum {
  US_TCP_ESTABLISHED = 1, US_TCP_SYN_SENT, US_TCP_SYN_RECV, US_TCP_FIN_WAIT1,
  US_TCP_FIN_WAIT2, US_TCP_TIME_WAIT, US_TCP_CLOSE, US_TCP_CLOSE_WAIT, US_TCP_LAST_ACK,
  US_TCP_LISTEN, US_TCP_CLOSING,
};

/* Event bits. */
enum {
  US_TCP_EV_READABLE = 1 << 0,  /* data to recv, or EOF (peer FIN) */
  US_TCP_EV_WRITABLE = 1 << 1,  /* send buffer space opened */
  US_TCP_EV_CONNECTED = 1 << 2, /* active open completed */
  US_TCP_EV_ACCEPT = 1 << 3,    /* a connection waits in the accept queue */
  US_TCP_EV_ERROR = 1 << 4,     /* err holds a positive errno; the connection is dead */
  US_TCP_EV_STATE = 1 << 5,     /* the state changed (us_tcp_state) */
  US_TCP_EV_RDHUP = 1 << 6,     /* the peer sent FIN */
  US_TCP_EV_CLOSED = 1 << 7,    /* reached CLOSED (after an error, or a full close) */
};

typedef void (*us_tcp_event_fn)(void *user, struct us_tcp_sock *t, uint32_t events, int err);

/* Options (setsockopt/getsockopt equivalents; the shim maps Linux's names). */
enum us_tcp_opt {
  US_TCP_OPT_NODELAY,       /* TCP_NODELAY: 0/1 */
  US_TCP_OPT_CORK,          /* TCP_CORK: 0/1 (uncork sends what waits) */
  US_TCP_OPT_KEEPALIVE,     /* SO_KEEPALIVE: 0/1 */
  US_TCP_OPT_KEEPIDLE,      /* TCP_KEEPIDLE: seconds, 1..32767 */
  US_TCP_OPT_KEEPINTVL,     /* TCP_KEEPINTVL: seconds, 1..32767 */
  US_TCP_OPT_KEEPCNT,       /* TCP_KEEPCNT: 1..127 */
  US_TCP_OPT_USER_TIMEOUT,  /* TCP_USER_TIMEOUT: ms, 0 = system default */
  US_TCP_OPT_MAXSEG,        /* TCP_MAXSEG: bytes, 88..65495; before connect/listen */
  US_TCP_OPT_RCVBUF,        /* SO_RCVBUF: bytes (window scale from it before connect/listen) */
  US_TCP_OPT_SNDBUF,        /* SO_SNDBUF: bytes */
  US_TCP_OPT_REUSEADDR,     /* SO_REUSEADDR: 0/1 */
  US_TCP_OPT_LINGER,        /* SO_LINGER: -1 off, else seconds (0: close sends RST) */
  US_TCP_OPT_MORE,          /* send(MSG_MORE) in force: 0/1, corks apart from TCP_CORK */
};

struct us_tcp_sock *us_tcp_socket(struct us_stack *s, us_tcp_event_fn cb, void *user);
void us_tcp_set_callback(struct us_tcp_sock *t, us_tcp_event_fn cb, void *user);
void *us_tcp_user(const struct us_tcp_sock *t);

/* ip 0 = any; port 0 = ephemeral. -EADDRINUSE, -EINVAL (already bound). */
int us_tcp_bind(struct us_tcp_sock *t, uint32_t ip, uint16_t port);
/* -EINVAL if connected; binds an ephemeral port if unbound. */
int us_tcp_listen(struct us_tcp_sock *t, int backlog);
/* A connection from the accept queue, or NULL with *err = -EAGAIN (or
 * -EINVAL if not listening). It inherits the listener's callback and options. */
struct us_tcp_sock *us_tcp_accept(struct us_tcp_sock *l, int *err);
/* Non-blocking: returns -EINPROGRESS; completion is EV_CONNECTED or EV_ERROR
 * (ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH). -EISCONN, -EALREADY, -EADDRNOTAVAIL. */
int us_tcp_connect(struct us_tcp_sock *t, uint32_t ip, uint16_t port);

/* Copy into the send buffer: bytes accepted (maybe fewer than len), or
 * -EAGAIN (buffer full / not yet connected), -EPIPE (after shutdown(WR) or
 * the connection ended), -ECONNRESET / -ETIMEDOUT (the error that killed it,
 * reported once), -ENOTCONN. */
ssize_t us_tcp_send(struct us_tcp_sock *t, const void *buf, size_t len);
/* Free bytes in the send buffer right now. */
size_t us_tcp_send_space(struct us_tcp_sock *t); /* may grow the buffer (tcp_wmem) */
/* Copy out: bytes (>0), 0 at EOF, -EAGAIN, or the connection's error. */
ssize_t us_tcp_recv(struct us_tcp_sock *t, void *buf, size_t len);
/* Zero-copy read: the readable bytes as up to two spans (ring wrap); returns
 * the total. us_tcp_consume(n) then releases n of them. */
size_t us_tcp_peek(struct us_tcp_sock *t, const uint8_t **p1, size_t *n1, const uint8_t **p2,
                   size_t *n2);
void us_tcp_consume(struct us_tcp_sock *t, size_t n);
/* Bytes ready to read. */
size_t us_tcp_readable(const struct us_tcp_sock *t);
/* 1 once the peer's FIN has been read up to (recv would return 0). */
int us_tcp_eof(const struct us_tcp_sock *t);

/* how: 0 = SHUT_RD, 1 = SHUT_WR, 2 = SHUT_RDWR (Linux values). */
int us_tcp_shutdown(struct us_tcp_sock *t, int how);
/* Graceful close (RST instead if unread data or SO_LINGER 0, as Linux). The
 * handle is invalid afterwards. */
void us_tcp_close(struct us_tcp_sock *t);
/* Send RST (if synchronized) and release the handle. */
void us_tcp_abort(struct us_tcp_sock *t);

int us_tcp_getsockname(const struct us_tcp_sock *t, uint32_t *ip, uint16_t *port);
int us_tcp_getpeername(const struct us_tcp_sock *t, uint32_t *ip, uint16_t *port);
int us_tcp_state(const struct us_tcp_sock *t);
/* SO_ERROR: the pending error (positive errno) and clear it; 0 if none. */
int us_tcp_error(struct us_tcp_sock *t);

int us_tcp_setopt(struct us_tcp_sock *t, enum us_tcp_opt opt, int val);
int us_tcp_getopt(const struct us_tcp_sock *t, enum us_tcp_opt opt, int *val);
/* TCP_CONGESTION: "cubic" (default) or "reno". -ENOENT if unknown. */
int us_tcp_set_cc(struct us_tcp_sock *t, const char *name);
const char *us_tcp_get_cc(const struct us_tcp_sock *t);

/* Linux's struct tcp_info (uapi <linux/tcp.h>) layout, field for field, so the
 * shim can copy it out for getsockopt(TCP_INFO). Times in microseconds. */
struct us_tcp_info {
  uint8_t tcpi_state, tcpi_ca_state, tcpi_retransmits, tcpi_probes, tcpi_backoff, tcpi_options;
  uint8_t tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4;
  uint8_t tcpi_delivery_rate_app_limited : 1, tcpi_fastopen_client_fail : 2;
  uint32_t tcpi_rto, tcpi_ato, tcpi_snd_mss, tcpi_rcv_mss;
  uint32_t tcpi_unacked, tcpi_sacked, tcpi_lost, tcpi_retrans, tcpi_fackets;
  uint32_t tcpi_last_data_sent, tcpi_last_ack_sent, tcpi_last_data_recv, tcpi_last_ack_recv;
  uint32_t tcpi_pmtu, tcpi_rcv_ssthresh, tcpi_rtt, tcpi_rttvar, tcpi_snd_ssthresh,
      tcpi_snd_cwnd, tcpi_advmss, tcpi_reordering;
  uint32_t tcpi_rcv_rtt, tcpi_rcv_space;
  uint32_t tcpi_total_retrans;
  uint64_t tcpi_pacing_rate, tcpi_max_pacing_rate;
  uint64_t tcpi_bytes_acked, tcpi_bytes_received;
  uint32_t tcpi_segs_out, tcpi_segs_in;
  uint32_t tcpi_notsent_bytes, tcpi_min_rtt, tcpi_data_segs_in, tcpi_data_segs_out;
  uint64_t tcpi_delivery_rate;
  uint64_t tcpi_busy_time, tcpi_rwnd_limited, tcpi_sndbuf_limited;
  uint32_t tcpi_delivered, tcpi_delivered_ce;
  uint64_t tcpi_bytes_sent, tcpi_bytes_retrans;
  uint32_t tcpi_dsack_dups, tcpi_reord_seen;
  uint32_t tcpi_rcv_ooopack;
  uint32_t tcpi_snd_wnd;
};
void us_tcp_get_info(const struct us_tcp_sock *t, struct us_tcp_info *info);

/* The net.ipv4 sysctls TCP obeys, per stack as Linux keeps them per network
 * namespace. The stack never reads files: the host refreshes them (from
 * /proc/sys/net/ipv4 of its namespace) and the stack applies each one when
 * Linux does - buffer sizes at socket(), options and window scale at connect
 * and SYN arrival, port range at bind/connect, retry counts and timeouts when
 * their timer fires - so a change reaches the next socket of a running
 * program. Defaults are Linux 6.12+'s. */
struct us_tcp_sysctls {
  uint32_t rmem[3], wmem[3];  /* tcp_rmem, tcp_wmem: min, default, max (bytes) */
  uint32_t core_rmem_max;     /* net.core.rmem_max: also bounds the window scale */
  uint8_t window_scaling, timestamps, sack; /* 0 off, else on */
  uint8_t ecn;                /* tcp_ecn: 0 off, 1 request and accept, 2 accept only */
  uint8_t syn_retries, synack_retries, retries2;
  uint8_t recovery;           /* tcp_recovery bits (1: RACK); kept, see README */
  uint32_t fin_timeout;       /* seconds in FIN-WAIT-2 after close */
  uint32_t keepalive_time, keepalive_intvl, keepalive_probes; /* s, s, count */
  uint16_t port_lo, port_hi;  /* ip_local_port_range */
};
void us_tcp_sysctls_default(struct us_tcp_sysctls *v);
/* Takes v if every value is in Linux's range (else -EINVAL, nothing changed);
 * sockets that exist keep what they already took. */
int us_tcp_set_sysctls(struct us_stack *s, const struct us_tcp_sysctls *v);
void us_tcp_get_sysctls(const struct us_stack *s, struct us_tcp_sysctls *v);

/* One on/off switch of the above (tests). */
enum us_tcp_sysctl { US_TCP_SYSCTL_SACK, US_TCP_SYSCTL_TIMESTAMPS, US_TCP_SYSCTL_WINDOW_SCALING };
int us_tcp_sysctl(struct us_stack *s, enum us_tcp_sysctl key, int on);

/* Test hook: the next ISN this stack chooses is `isn` (once). */
void us_tcp_test_force_isn(struct us_stack *s, uint32_t isn);
/* Number of TCP control blocks alive (tests: leaks, TIME_WAIT). */
uint32_t us_tcp_conn_count(const struct us_stack *s);

#endif
