/* The stack's event stream: typed events with timestamps, one stream that
 * the trace printer, the JSON writer, the diagram builder and the
 * statistics all read (shim/trace_*.c, diagram_*.c, stats_*.c).
 *
 * Protocol code never formats text: at the places where something happens
 * it calls US_EVENT(s, us_ev_xxx(...)). When no sink is attached that is one
 * load and one predictable branch; the helpers (event.c) that fill the event
 * in run only when a sink listens. A sink is called synchronously on the
 * stack's thread and must not call back into the stack. */
#ifndef USTACK_EVENT_H
#define USTACK_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "stack/counters.h"
#include "stack/us_stack.h"

enum us_ev_type {
  US_EV_ARP = 1,     /* an ARP packet sent or received */
  US_EV_DNS_QUERY,   /* a DNS query sent (one transmission) */
  US_EV_DNS_ANSWER,  /* a DNS answer accepted for one question */
  US_EV_DNS_RESULT,  /* a name lookup finished (from the wire or the cache) */
  US_EV_TCP_SEG,     /* a TCP segment sent or received */
  US_EV_TCP_STATE,   /* a connection changed state */
  US_EV_TCP_RETRANS, /* data (or a SYN) sent again */
  US_EV_TCP_RTT,     /* a round-trip time measured */
  US_EV_TCP_SAMPLE,  /* a connection's variables after an input was processed */
  US_EV_COUNT,       /* a counter moved (drops are counters named by reason) */
  US_EV__MAX
};

enum { US_EV_TX = 0, US_EV_RX = 1 };

/* Why data was sent again (us_ev_retrans.why). */
enum {
  US_EV_RTX_TIMEOUT = 0, /* the RTO fired: go-back-N */
  US_EV_RTX_FAST = 1,    /* fast retransmit: DupThresh segments SACKed above (or dup ACKs) */
  US_EV_RTX_SYN = 2,
  US_EV_RTX_RACK = 3,    /* RACK: sent before something delivered, by more than RTT + reo_wnd */
  US_EV_RTX_TLP = 4,     /* tail loss probe */
};

/* A connection, from our side. Host byte order. */
struct us_ev_conn {
  uint32_t lip, rip;
  uint16_t lport, rport;
};

/* A connection's variables at the time of the event (like tcp_info). */
struct us_ev_tcp_snap {
  uint8_t state, ca_state, backoff, sack_ok;
  uint32_t cwnd, ssthresh, flight, snd_wnd, rcv_wnd, mss;
  uint32_t srtt_us, rttvar_us, min_rtt_us, rto_us;
  uint32_t iss, irs;
  uint64_t bytes_sent, bytes_acked, bytes_received, bytes_retrans;
  uint32_t segs_in, segs_out, total_retrans;
  uint32_t undos; /* congestion responses undone: every resend was spurious */
};

struct us_ev_arp {
  uint16_t op; /* 1 request, 2 reply */
  uint32_t spa, tpa;
  uint8_t sha[6], tha[6];
};

#define US_EV_DNS_NAME 256
#define US_EV_DNS_ADDRS 4
struct us_ev_dns {
  char name[US_EV_DNS_NAME];
  uint16_t qtype, id;
  int tries;       /* query: which transmission (1 = first) */
  int rcode;       /* answer: DNS RCODE */
  int status;      /* result: enum us_dns_status */
  int from_cache;  /* result */
  us_time_t elapsed; /* result */
  uint32_t naddrs; /* result/answer: addresses found (v4 + v6) */
  uint8_t n4, n6;  /* how many of each are in the arrays below */
  uint32_t v4[US_EV_DNS_ADDRS];     /* host byte order */
  uint8_t v6[2][16];
};

struct us_ev_seg {
  uint32_t sip, dip;   /* as on the wire */
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t flags;       /* TCP_FIN.. as tcp_wire.h */
  uint16_t win;        /* raw field, unscaled */
  uint32_t len;        /* payload bytes */
  uint8_t opt_has;     /* TCP_OPT_F_* */
  uint8_t wscale, nsack;
  uint16_t mss;
  uint32_t tsval, tsecr;
  uint32_t sack[4][2];
  uint16_t gso;        /* >0: a GSO unit of this segment size (several on the wire) */
};

struct us_ev_state {
  uint8_t from, to; /* US_TCP_* (Linux numbering) */
};

struct us_ev_retrans {
  uint32_t seq, len;
  uint8_t why;       /* US_EV_RTX_* */
};

struct us_ev_rtt {
  uint32_t rtt_us;
};

struct us_ev_count {
  uint16_t counter; /* enum us_counter */
};

struct us_event {
  uint16_t type;    /* enum us_ev_type */
  uint8_t dir;      /* US_EV_TX / US_EV_RX (ARP, DNS, TCP_SEG) */
  uint8_t has_conn; /* conn valid */
  uint8_t has_snap; /* snap valid */
  us_time_t t;      /* the stack's clock */
  struct us_ev_conn conn;
  struct us_ev_tcp_snap snap;
  union {
    struct us_ev_arp arp;
    struct us_ev_dns dns;
    struct us_ev_seg seg;
    struct us_ev_state state;
    struct us_ev_retrans rtx;
    struct us_ev_rtt rtt;
    struct us_ev_count count;
  } u;
};

typedef void (*us_event_fn)(void *ctx, const struct us_event *ev);

struct us_stack;
/* Attach (fn != NULL) or detach the sink. */
void us_stack_set_event_sink(struct us_stack *s, us_event_fn fn, void *ctx);

/* The one branch on the hot path; none at all in a build with the hooks
 * compiled out (cmake -DUSTACK_EVENTS=OFF), which bench/ compares against. */
#ifdef USTACK_NO_EVENTS
#define US_EVENT_ON(s) ((void)(s), 0)
#else
#define US_EVENT_ON(s) __builtin_expect((s)->ev_fn != 0, 0)
#endif
#define US_EVENT(s, call) \
  do {                    \
    if (US_EVENT_ON(s)) call; \
  } while (0)

/* Emission helpers (event.c), called only through US_EVENT. */
struct us_tcp_sock;
struct ipv4_rx;
struct tcp_seg;
struct us_dns_result;
void us_ev_arp(struct us_stack *s, int dir, uint16_t op, uint32_t spa, const uint8_t *sha,
               uint32_t tpa, const uint8_t *tha);
void us_ev_dns_query(struct us_stack *s, const uint8_t *qname, size_t qlen, uint16_t qtype,
                     uint16_t id, int tries);
void us_ev_dns_answer(struct us_stack *s, const uint8_t *qname, size_t qlen, uint16_t qtype,
                      int rcode);
void us_ev_dns_result(struct us_stack *s, const struct us_dns_result *r);
/* A segment built at h (header + payload contiguous, hlen + len bytes). c may be NULL. */
void us_ev_tcp_tx(struct us_stack *s, struct us_tcp_sock *c, uint32_t lip, uint32_t rip,
                  const uint8_t *h, size_t hlen, size_t len, uint16_t gso);
void us_ev_tcp_rx(struct us_stack *s, const struct ipv4_rx *ip, const struct tcp_seg *seg);
void us_ev_tcp_state(struct us_tcp_sock *c, int from, int to);
void us_ev_tcp_retrans(struct us_tcp_sock *c, uint32_t seq, uint32_t len, int why);
void us_ev_tcp_rtt(struct us_tcp_sock *c, us_time_t rtt);
void us_ev_tcp_sample(struct us_tcp_sock *c);
void us_ev_count(struct us_stack *s, enum us_counter c);

/* Snapshot of one connection, for tools that ask a running stack (`ustack
 * ss`) and for the statistics at exit. */
struct us_ev_conn_info {
  struct us_ev_conn conn;
  struct us_ev_tcp_snap snap;
  us_time_t last_rx, last_tx;
  uint32_t sndq, rcvq;  /* bytes queued to send / unread */
  int listening;
};
/* Calls fn for every TCP control block (listeners included). */
void us_stack_tcp_foreach(struct us_stack *s, void (*fn)(void *arg, const struct us_ev_conn_info *ci),
                          void *arg);
/* How many connections are between their first FIN and TIME-WAIT/CLOSED
 * (FIN-WAIT-1/2, CLOSING, LAST-ACK): a tracer waits for these to finish so
 * the close shows whole. */
unsigned us_stack_tcp_closing(struct us_stack *s);

const char *us_tcp_state_name(int state); /* "ESTABLISHED" */

#endif
