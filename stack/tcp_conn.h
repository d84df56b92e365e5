/* The TCP control block and the per-stack TCP state (internal to tcp_*.c).
 *
 * Memory per connection is bounded and stated: one struct us_tcp_sock
 * (about 1.5 KiB) plus a send ring (tcp_wmem[1], growing with cwnd up to
 * tcp_wmem[2]) and a receive ring (tcp_rmem[1], growing as the application
 * reads up to tcp_rmem[2]) that also holds out-of-order data in place, so the
 * out-of-order queue costs only its interval list (TCP_OOO_MAX entries),
 * and a record of what is in flight and when it left (RACK: 32 bytes per
 * segment or burst in flight, at most TCP_TXQ_MAX records).
 * Rings exist only while they are needed: a SYN-RECEIVED child has none (a
 * SYN flood costs ~1.5 KiB per queued SYN, bounded by the SYN queue, and SYN
 * cookies beyond it), and TIME-WAIT releases them. The stack holds at most
 * TCP_MAX_CONNS control blocks. */
#ifndef USTACK_TCP_CONN_H
#define USTACK_TCP_CONN_H

#include <stdint.h>

#include "stack/stack.h"
#include "stack/tcp.h"
#include "stack/tcp_cc.h"
#include "stack/tcp_isn.h"
#include "stack/tcp_seq.h"
#include "stack/tcp_sock.h"
#include "stack/tcp_wire.h"
#include "stack/timer.h"

#define TCP_HASH_BUCKETS 4096u  /* 4-tuple hash */
#define TCP_PORT_BUCKETS 1024u  /* local-port hash (bind, listen) */
#define TCP_MAX_CONNS 65536u
#define TCP_OOO_MAX 32          /* out-of-order intervals kept */
#define TCP_SB_MAX 32           /* SACK scoreboard intervals kept */
#define TCP_MIN_BUF 4096u
#define TCP_MAX_BUF (64u << 20)
#define TCP_RTO_INIT US_SEC(1)
#define TCP_RTO_MIN US_MS(200)
#define TCP_RTO_MAX US_SEC(120)
#define TCP_DELACK_MAX US_MS(40)
#define TCP_PTO_MARGIN US_MS(2)  /* Linux: TCP_TIMEOUT_MIN, 2 jiffies at HZ=1000 */
#define TCP_QUICKACKS 16
#define TCP_GSO_MAX 65000u      /* payload of one GSO unit (+headers < 64 KiB) */
#define TCP_CHALLENGE_PER_SEC 1000 /* Linux tcp_challenge_ack_limit */
#define TCP_CHALLENGE_GAP US_MS(500) /* Linux tcp_invalid_ratelimit, per connection */

/* Congestion states, numbered as Linux's tcpi_ca_state. */
enum { TCP_CA_OPEN = 0, TCP_CA_DISORDER = 1, TCP_CA_RECOVERY = 3, TCP_CA_LOSS = 4 };

/* A byte ring: len valid bytes from head; bytes beyond len (up to cap) may
 * hold out-of-order data on the receive side. */
struct tcp_ring {
  uint8_t *buf;
  uint32_t cap, head, len;
};

struct tcp_iv { uint32_t start, end; };

/* Out-of-order intervals (receive side), sorted, disjoint, above rcv_nxt. */
struct tcp_ooo {
  uint32_t n;
  struct tcp_iv iv[TCP_OOO_MAX];
  struct tcp_iv last; /* the block most recently changed: first SACK block */
  int has_last;
};

/* SACK scoreboard (send side), sorted, disjoint, above snd_una. */
struct tcp_sb {
  uint32_t n;
  uint32_t sacked;    /* total bytes covered */
  uint16_t dupthresh; /* reordering degree in segments (0: 3), Linux's tp->reordering */
  struct tcp_iv iv[TCP_SB_MAX];
};

/* What was sent and when (RACK, RFC 8985): [snd_una, snd_max) as ranges
 * in sequence order, each sent at one time - a segment, or a burst that
 * left together - with its SACK, loss and retransmission state. A range is
 * split where a SACK block or a retransmission begins or ends, as Linux
 * splits an skb, so each record is wholly SACKed or not. */
enum {
  TCP_TX_SACKED = 1,   /* the receiver holds it */
  TCP_TX_LOST = 2,     /* judged lost, not sent again since */
  TCP_TX_RETRANS = 4,  /* sent more than once (Linux's TCPCB_EVER_RETRANS) */
};
/* Why a record was judged lost (the retransmission's reason in the trace). */
enum { TCP_LOST_DUPTHRESH = 0, TCP_LOST_RACK = 1 };

struct tcp_txrec {
  uint32_t start, end;
  us_time_t xmit;        /* when it last left */
  uint32_t order;        /* which send it was: orders sends of the same instant */
  uint8_t flags;         /* TCP_TX_* */
  uint8_t why;           /* TCP_LOST_* while TCP_TX_LOST */
};

#define TCP_TXQ_MAX 16384u /* records (32 bytes); beyond, a send joins the newest record */

struct tcp_txq {
  struct tcp_txrec *r;   /* ring of cap records, n valid from head */
  uint32_t cap, head, n;
  uint32_t order;        /* sends so far */
  uint32_t lost_bytes;   /* in records marked lost and not resent (left pipe) */
};

/* RACK state (RFC 8985 6.1): the most recently sent segment known
 * delivered, and the reordering window. */
struct tcp_rack {
  us_time_t xmit;        /* RACK.xmit_ts */
  uint32_t order;        /* ... and which send of that instant */
  uint32_t end_seq;      /* RACK.end_seq */
  uint32_t rtt_us;       /* RACK.rtt: of the segment that set xmit */
  uint32_t fack;         /* highest end delivered before this ACK (RACK.fack) */
  uint32_t pending_fack; /* ... and including it */
  uint32_t dsack_round;  /* snd_max when reo_steps last grew; valid with dsack_wait */
  uint8_t advanced;      /* xmit moved since the last loss detection */
  uint8_t reord_seen;    /* RACK.reordering_seen */
  uint8_t dsack_seen, dsack_wait;
  uint8_t reo_steps;     /* RACK.reo_wnd_mult */
  uint8_t reo_persist;   /* recoveries left before reo_steps returns to 1 */
  uint8_t timer;         /* t_rtx is armed for the reordering timeout */
};

/* Proportional rate reduction (RFC 6937) state. */
struct tcp_prr {
  uint32_t prior_cwnd;   /* RecoverFS, bytes: cwnd when recovery began (as Linux) */
  uint32_t delivered;    /* prr_delivered, segments */
  uint32_t out;          /* prr_out, segments */
};

struct us_tcp_sock {
  struct us_tcp_sock *hnext, **hpprev; /* 4-tuple hash */
  struct us_tcp_sock *pnext, **ppprev; /* local-port hash */
  struct us_tcp_sock *evnext;          /* pending-event list */
  struct us_tcp_sock *reapnext;        /* deferred free */
  struct us_tcp_sock *all_next, **all_pprev; /* every control block */
  struct us_stack *s;

  uint32_t lip, rip;
  uint16_t lport, rport;
  uint8_t state;         /* US_TCP_* (Linux numbering) */
  uint8_t ca_state;

  /* Ownership and lifetime. */
  uint8_t app_ref;       /* 1 while the application holds the handle */
  uint8_t on_ev, on_reap, hashed, port_hashed;
  uint8_t autobind;      /* port picked by connect(), not bind() */
  uint8_t passive;       /* came from a listener */
  uint8_t rd_shut, wr_shut; /* application shut down reading / writing */
  uint8_t closed_by_app;

  /* Options set by the application. */
  uint8_t reuseaddr, nodelay, cork, keepalive;
  uint8_t more;           /* MSG_MORE in force: corked like TCP_CORK, apart from it */
  uint8_t push_pending;   /* TCP_NODELAY set while corked: what was queued goes */
  uint32_t push_seq;      /* ...up to here (Linux's one-shot TCP_NAGLE_PUSH) */
  int32_t linger;         /* -1 off; 0: close sends RST */
  uint32_t keepidle, keepintvl, keepcnt; /* s, s, count; 0: the sysctl's, read when used */
  uint32_t user_timeout_ms;
  uint16_t user_mss;      /* TCP_MAXSEG, 0 = none */
  uint32_t rcvbuf, sndbuf;
  uint8_t rcvbuf_set;      /* SO_RCVBUF given: window scale from it, no autotuning */
  uint8_t sndbuf_set;      /* SO_SNDBUF given: the send buffer does not grow */
  const struct tcp_cc_ops *cc_ops;

  /* Listener. */
  struct us_tcp_sock *listener;     /* for a child */
  struct us_tcp_sock *acc_head, *acc_tail, *acc_next; /* accept queue */
  uint8_t in_accq;
  uint32_t backlog, acc_len, syn_len;

  /* Send side. */
  uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
  uint32_t snd_buf_seq;   /* sequence number of snd ring byte 0 */
  struct tcp_ring snd;
  uint8_t fin_queued, fin_acked;
  uint32_t fin_seq;       /* valid when fin_queued */
  uint8_t snd_wscale, rcv_wscale, ws_ok, sack_ok, ts_ok;
  uint16_t peer_mss;      /* from the SYN (or 536) */
  uint16_t mss;           /* payload bytes per segment we send (after options) */
  uint16_t adv_mss;       /* what we announced */
  uint16_t rcv_mss;       /* estimate of the peer's segment size */
  uint8_t cwnd_limited;

  /* Receive side. */
  uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge last advertised */
  struct tcp_ring rcv;    /* head = first unread byte (seq rcv_read) */
  uint32_t rcv_read;      /* sequence number of the first unread byte */
  struct tcp_ooo ooo;
  uint8_t fin_rcvd, ooo_fin;
  uint32_t ooo_fin_seq;
  uint32_t last_ack_sent;
  uint8_t dsack_pending;  /* report dsack in the next ACK (RFC 2883) */
  struct tcp_iv dsack;
  uint32_t ts_recent;
  us_time_t ts_recent_stamp;
  uint32_t ts_offset;
  /* Receive-buffer autotuning (Linux's tcp_rcv_space_adjust): bytes the
   * application took per RTT, measured from rcvq_seq at rcvq_time. */
  uint32_t rcvq_seq, rcvq_space;
  us_time_t rcvq_time;

  /* ECN (RFC 3168), tcp_ecn.c. */
  uint8_t ecn_ok;         /* negotiated: our data goes out ECT(0) */
  uint8_t ecn_ece;        /* a CE arrived: set ECE on our ACKs until a CWR comes */
  uint8_t ecn_cwr;        /* we reduced on ECE: set CWR on the next new data */
  uint8_t ecn_reduced;    /* a reduction for ECE happened, ecn_high is valid */
  uint32_t ecn_high;      /* no second reduction before snd_una passes this */

  /* ACK policy. */
  uint8_t ack_now, quickack;
  uint32_t unacked_bytes; /* received since our last ACK */

  /* RTT and retransmission. */
  uint32_t srtt_us, rttvar_us, min_rtt_us;
  us_time_t rto;
  uint32_t rtt_seq;
  us_time_t rtt_time;     /* 0: no segment being timed */
  uint8_t backoff, retransmits, probes, syn_retries;
  uint8_t persist_backoff; /* zero-window probes sent in this stall */
  us_time_t probe_start;   /* the stall's first probe: TCP_USER_TIMEOUT counts from it */
  us_time_t rtx_start;    /* when the oldest unacked data was first retransmitted */

  /* Loss recovery. */
  uint32_t recover, rtx_next, dupacks;
  uint32_t rtx_hi;        /* snd_max when the latest retransmission left */
  uint8_t rtx_hi_valid;
  uint8_t rtx_first;       /* recovery entered, first retransmission not yet sent */
  uint8_t tlp_pending;     /* t_rtx is armed for a tail loss probe */
  uint8_t tlp_out;         /* a probe is out, until tlp_high is ACKed */
  uint32_t tlp_high;
  uint32_t tlp_rtx_seq;     /* start of the probe's retransmission (its D-SACK is no reordering) */
  uint32_t loss_mark;       /* after a timeout: snd_nxt when the holes were last resent */
  uint32_t sack_new_start, sack_new_end; /* lowest start, highest end SACKed anew by this ACK */
  uint8_t sack_new;
  /* Undo of a reduction that proved unnecessary (RFC 3522 Eifel detection
   * by timestamps, RFC 3708 D-SACK detection; the response restores the
   * window as Linux's tcp_try_undo_*): valid from the start of a loss
   * episode until the next one or an undo. */
  uint8_t undo_valid, undo_any, undo_ts_set; /* undo_any: the episode resent something */
  uint32_t undo_fack;       /* highest byte SACKed during the episode */
  uint32_t undo_marker;     /* snd_una when the episode began */
  int32_t undo_retrans;     /* segments resent in the episode, less those D-SACKed */
  uint32_t undo_tsval;      /* our TSval on the first resend since none was out */
  uint32_t undo_rtx_end;    /* highest end of a resend since then */
  struct tcp_cc undo_cc;    /* congestion state before the reduction */
  struct tcp_sb sb;
  struct tcp_cc cc;
  struct tcp_txq txq;
  struct tcp_rack rack;
  struct tcp_prr prr;
  uint8_t rtx_why;          /* US_EV_RTX_* for the next retransmission */
  uint8_t tlp_retrans;      /* the probe out resent data (RFC 8985 7.4) */

  /* Timers. */
  struct us_timer t_rtx, t_delack, t_persist, t_keep;
  us_time_t last_rx, last_tx, last_data_tx, last_data_rx, last_ack_rx;
  us_time_t last_chal_tx;  /* last challenge ACK: at most one per TCP_CHALLENGE_GAP */

  /* Events. */
  us_tcp_event_fn cb;
  void *user;
  uint32_t ev_pending;
  int so_error;           /* pending error (SO_ERROR), positive errno */
  int fatal_error;        /* why the connection died, returned by send/recv */
  int soft_error;         /* last ICMP/ARP error, reported if we time out */

  /* Statistics for TCP_INFO. */
  uint32_t total_retrans, lost_out, segs_in, segs_out, data_segs_in, data_segs_out;
  uint32_t undos;           /* congestion responses undone (tcp_undo.c) */
  uint32_t ooo_pkts;
  uint64_t bytes_acked, bytes_received, bytes_sent, bytes_retrans;
};

struct tcp_state {
  struct us_tcp_sock *hash[TCP_HASH_BUCKETS];
  struct us_tcp_sock *ports[TCP_PORT_BUCKETS];
  /* LISTEN sockets per port bucket, never fewer than there are: a listener
   * lookup stops once it has seen them all, instead of walking every child
   * and TIME-WAIT connection that shares the port (connection-rate bench). */
  uint16_t listen_n[TCP_PORT_BUCKETS];
  struct us_tcp_sock *all;
  struct us_tcp_sock *ev_head, *ev_tail;
  struct us_tcp_sock *reap;
  uint32_t nconns;
  uint32_t depth;          /* nesting of entry points; events and frees run at 0 */
  struct tcp_key key;
  uint32_t port_seq;
  us_time_t chal_window;   /* challenge-ACK rate limit */
  uint32_t chal_count;
  struct us_tcp_sysctls sys; /* net.ipv4 as the host last read it (tcp_sock.h) */
  int force_isn;           /* test hook */
  uint32_t forced_isn;
  uint8_t *txbuf;          /* scratch for building one segment */
  uint32_t txcap;
};

/* tcp_conn.c */
struct us_tcp_sock *tcp_conn_alloc(struct us_stack *s);
void tcp_hash_insert(struct tcp_state *t, struct us_tcp_sock *c);
void tcp_hash_remove(struct us_tcp_sock *c);
struct us_tcp_sock *tcp_lookup(struct tcp_state *t, uint32_t lip, uint16_t lport, uint32_t rip,
                               uint16_t rport);
struct us_tcp_sock *tcp_lookup_listener(struct tcp_state *t, uint32_t lip, uint16_t lport);
void tcp_port_insert(struct tcp_state *t, struct us_tcp_sock *c);
/* c starts (on=1) or stops listening: keeps listen_n and puts a new
 * listener at the front of its bucket. */
void tcp_port_listening(struct tcp_state *t, struct us_tcp_sock *c, int on);
/* Port-hash c just behind prev (a listener's child stays behind it). */
void tcp_port_insert_after(struct tcp_state *t, struct us_tcp_sock *c, struct us_tcp_sock *prev);
void tcp_port_remove(struct us_tcp_sock *c);
int tcp_port_conflict(struct tcp_state *t, const struct us_tcp_sock *c, uint32_t ip, uint16_t port);
int tcp_pick_port(struct tcp_state *t, struct us_tcp_sock *c);
int tcp_alloc_bufs(struct us_tcp_sock *c);
void tcp_free_bufs(struct us_tcp_sock *c);
/* SO_SNDBUF/SO_RCVBUF after the rings exist: a ring grows to cap (its
 * bytes keep their offsets from head); it never shrinks under its contents,
 * the smaller size then only limits the window and the send space. */
int tcp_ring_grow(struct tcp_ring *r, uint32_t cap);
/* Send buffer room: the ring, as far as SO_SNDBUF allows. */
static inline uint32_t tcp_snd_room(const struct us_tcp_sock *c) {
  uint32_t cap = c->snd.cap < c->sndbuf ? c->snd.cap : c->sndbuf;
  return cap > c->snd.len ? cap - c->snd.len : 0;
}
void tcp_set_state(struct us_tcp_sock *c, int state);
/* Connection is over: timers off, unhashed; freed once the app let go. */
void tcp_done(struct us_tcp_sock *c);
void tcp_maybe_reap(struct us_tcp_sock *c);
void tcp_event(struct us_tcp_sock *c, uint32_t ev);
/* Fatal error: remember it, report it, connection done. */
void tcp_fail(struct us_tcp_sock *c, int err);
void tcp_enter(struct us_stack *s);
void tcp_leave(struct us_stack *s);
/* Window scale for a new connection (Linux's tcp_select_initial_window):
 * from tcp_rmem's maximum, or from the buffer SO_RCVBUF fixed. */
uint8_t tcp_initial_wscale(const struct us_tcp_sock *c);
/* The keepalive and FIN-WAIT-2 times in force (socket option, else sysctl). */
us_time_t tcp_keepidle(const struct us_tcp_sock *c);
us_time_t tcp_keepintvl(const struct us_tcp_sock *c);
uint32_t tcp_keepcnt(const struct us_tcp_sock *c);
us_time_t tcp_fin_timeout(const struct us_tcp_sock *c);
/* The application took bytes: grow the receive buffer as Linux's
 * tcp_rcv_space_adjust (tcp_sock.c). */
void tcp_rcv_space_adjust(struct us_tcp_sock *c);

/* tcp_ecn.c: RFC 3168 as Linux does it. */
/* Flags for our SYN (ECE|CWR when tcp_ecn=1 asked at connect) or SYN-ACK (ECE
 * when the peer's SYN asked and tcp_ecn allows). */
uint8_t tcp_ecn_syn_flags(const struct us_tcp_sock *c);
/* A SYN arrived (passive side): note whether the peer asks for ECN. */
void tcp_ecn_syn_rcvd(struct us_tcp_sock *c, uint8_t ip_tos, uint8_t flags);
/* Our SYN's answer arrived (active side): ECN on if the SYN-ACK has ECE only. */
void tcp_ecn_synack_rcvd(struct us_tcp_sock *c, uint8_t flags);
/* A segment arrived with the IP ECN codepoint ecn: CE -> echo ECE; CWR ends it. */
void tcp_ecn_rx(struct us_tcp_sock *c, uint8_t ip_ecn, uint8_t flags);
/* An ACK carries ECE: reduce cwnd once per window (1 if it did). */
int tcp_ecn_ece(struct us_tcp_sock *c, uint8_t flags);
/* ECE/CWR for a segment we send (not a SYN); retrans: it resends data. */
uint8_t tcp_ecn_out_flags(struct us_tcp_sock *c, uint32_t len, int retrans);
uint32_t tcp_msl2(struct us_stack *s);
us_time_t tcp_msl2_time(struct us_stack *s);

/* Ring helpers (tcp_conn.c). */
void tcp_ring_write(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t n);
void tcp_ring_read(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t n);
static inline void tcp_ring_consume(struct tcp_ring *r, uint32_t n) {
  r->head = (r->head + n) % (r->cap ? r->cap : 1);
  r->len -= n;
}

/* tcp_output.c */
void tcp_output(struct us_tcp_sock *c);
void tcp_send_ack(struct us_tcp_sock *c);
int tcp_send_forced(struct us_tcp_sock *c);
void tcp_send_range(struct us_tcp_sock *c, uint32_t seq, uint32_t n);
/* After a timeout: resend the unSACKed ranges below `mark` (within cwnd,
 * at least one segment). */
void tcp_resend_holes(struct us_tcp_sock *c, uint32_t mark);
void tcp_send_syn(struct us_tcp_sock *c);
void tcp_send_rst(struct us_tcp_sock *c);
void tcp_send_probe(struct us_tcp_sock *c);
void tcp_send_challenge_ack(struct us_tcp_sock *c);
void tcp_reply_rst(struct us_stack *s, const struct ipv4_rx *ip, const struct tcp_seg *seg);
uint32_t tcp_rcv_space(const struct us_tcp_sock *c);
uint32_t tcp_pipe(struct us_tcp_sock *c);
void tcp_update_mss(struct us_tcp_sock *c);
uint32_t tcp_ts_now(const struct us_tcp_sock *c);
void tcp_sendq_fin(struct us_tcp_sock *c);
int tcp_xmit_raw(struct us_stack *s, uint32_t lip, uint32_t rip, uint16_t lport, uint16_t rport,
                 uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, const uint8_t *opts,
                 uint32_t optlen);

/* tcp_timer.c */
void tcp_timers_init(struct us_tcp_sock *c);
void tcp_timers_stop(struct us_tcp_sock *c);
void tcp_rearm_rtx(struct us_tcp_sock *c);
void tcp_rtt_sample(struct us_tcp_sock *c, us_time_t rtt);
void tcp_set_rto(struct us_tcp_sock *c);
void tcp_schedule_delack(struct us_tcp_sock *c);
void tcp_rearm_keepalive(struct us_tcp_sock *c);
void tcp_enter_timewait(struct us_tcp_sock *c);
void tcp_arm_persist(struct us_tcp_sock *c);

/* tcp_sack.c */
void tcp_sb_clear(struct tcp_sb *sb);
/* A loss episode begins (before cwnd is reduced): remember what to restore. */
void tcp_undo_begin(struct us_tcp_sock *c);
/* After an ACK was processed: undo the episode's reduction if every resend
 * proved spurious; 1 if undone. */
int tcp_undo_try(struct us_tcp_sock *c, const struct tcp_seg *seg, int advanced);
void tcp_sb_add(struct tcp_sb *sb, uint32_t start, uint32_t end);
void tcp_sb_ack(struct tcp_sb *sb, uint32_t snd_una);
uint32_t tcp_sb_sacked_below(const struct tcp_sb *sb, uint32_t seq);
const struct tcp_iv *tcp_sb_find(const struct tcp_sb *sb, uint32_t seq);
uint32_t tcp_sb_next_start(const struct tcp_sb *sb, uint32_t seq);

/* tcp_rack.c: the send-time record and RACK loss detection (RFC 8985) */
void tcp_txq_free(struct us_tcp_sock *c);
void tcp_txq_reset(struct us_tcp_sock *c);
/* [seq, end) left now (end includes a FIN); the part below snd_max is a
 * retransmission. Call before snd_max moves. */
void tcp_txq_sent(struct us_tcp_sock *c, uint32_t seq, uint32_t end);
/* [start, end) newly SACKed. */
void tcp_rack_sacked(struct us_tcp_sock *c, uint32_t start, uint32_t end);
/* Everything below ack is cumulatively acknowledged. */
void tcp_rack_acked(struct us_tcp_sock *c, uint32_t ack);
/* A D-SACK arrived (RFC 8985 6.2 step 4). */
void tcp_rack_dsack(struct us_tcp_sock *c);
/* Mark what RACK judges lost; arm the reordering timer for the rest.
 * Returns the bytes newly marked lost. */
uint32_t tcp_rack_detect(struct us_tcp_sock *c);
/* The reordering timer fired. */
void tcp_rack_timeout(struct us_tcp_sock *c);
/* Nothing is lost after all (undo) or everything is (timeout). */
void tcp_txq_clear_lost(struct us_tcp_sock *c);
void tcp_txq_clear_sacked(struct us_tcp_sock *c);
/* The first lost range at or after seq, not SACKed, at most max bytes of
 * one reason; 0 if none. */
int tcp_txq_next_lost(const struct us_tcp_sock *c, uint32_t max, uint32_t *start, uint32_t *end,
                      uint8_t *why);
/* The highest range not SACKed, at most mss bytes (the tail loss probe). */
int tcp_txq_last_unsacked(const struct us_tcp_sock *c, uint32_t *start, uint32_t *end);
/* A recovery ended: the reordering window's persistence counts down. */
void tcp_rack_recovery_done(struct us_tcp_sock *c);

/* tcp_recovery.c: entering and pacing fast recovery */
/* Loss detection after an ACK (RACK with SACK, duplicate ACKs without). */
void tcp_recovery_detect(struct us_tcp_sock *c, uint32_t delivered, int una_advanced);
void tcp_enter_recovery(struct us_tcp_sock *c);
/* PRR (RFC 6937, PRR-SSRB as Linux's tcp_cwnd_reduction): cwnd for this
 * ACK from what it delivered. */
void tcp_prr_ack(struct us_tcp_sock *c, uint32_t delivered, uint32_t newly_lost, int una_advanced);
/* After a timeout: resends that go-back-N lost (sequence order). */
void tcp_detect_lost_retransmit(struct us_tcp_sock *c);

/* tcp_ooo.c */
/* Record [start, end) as held; returns 0, or -1 if the list is full. */
int tcp_ooo_add(struct tcp_ooo *q, uint32_t start, uint32_t end);
/* rcv_nxt reached `nxt`: drop covered intervals; returns the new rcv_nxt. */
uint32_t tcp_ooo_advance(struct tcp_ooo *q, uint32_t nxt);
unsigned tcp_ooo_sack(const struct tcp_ooo *q, struct tcp_sack_block *out, unsigned max);

/* tcp_listen.c */
uint16_t tcp_local_mss(struct us_tcp_sock *c);
uint32_t tcp_new_isn(struct us_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
                     uint16_t rport);
void tcp_listen_input(struct us_tcp_sock *l, const struct ipv4_rx *ip, struct tcp_seg *seg);
void tcp_child_established(struct us_tcp_sock *c);
void tcp_listen_close(struct us_tcp_sock *l);
void tcp_child_unlink(struct us_tcp_sock *c);

/* tcp_input.c */
void tcp_conn_input(struct us_tcp_sock *c, const struct ipv4_rx *ip, struct tcp_seg *seg);
void tcp_apply_syn_opts(struct us_tcp_sock *c, const struct tcp_seg *seg);

static inline struct tcp_state *tcp_st(struct us_stack *s) { return s->tcp; }

#endif
