/* Internals shared by the event sinks (trace_*.c, diagram_*.c, stats_*.c):
 * the hub, its table of connections seen in the event stream, and the
 * formatting helpers. */
#ifndef USTACK_SHIM_TRACE_INT_H
#define USTACK_SHIM_TRACE_INT_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "shim/trace.h"
#include "stack/event.h"

#define TR_HASH 1024u

/* What a data segment is, judged from the sequence numbers seen before. */
enum { TR_NOTE_NONE = 0, TR_NOTE_RETRANS, TR_NOTE_GAP };

struct diag_conn;

/* One connection as the event stream showed it (a 4-tuple reused after
 * CLOSED is a new one). */
struct tr_conn {
  struct tr_conn *hnext, *next;
  unsigned id;                /* 1, 2, ... in order of appearance */
  struct us_ev_conn key;
  uint32_t isn_l, isn_r;      /* for relative sequence numbers */
  uint8_t has_isn_l, has_isn_r;
  int8_t ws_l, ws_r;          /* window scale from each SYN, -1 unknown */
  uint8_t active;             /* we sent the first SYN */
  uint8_t state;              /* our last state (US_TCP_*), 0 unknown */
  uint8_t closed;
  /* Highest sequence number seen each way, to tell retransmitted and
   * out-of-order data the way Wireshark does (either side's). */
  uint32_t tx_max, rx_max;
  uint8_t has_tx_max, has_rx_max;
  uint8_t note;               /* TR_NOTE_* of the segment being handled */
  us_time_t t_first, t_last, t_closed;
  struct us_ev_tcp_snap snap; /* latest */
  uint8_t has_snap;
  /* The text printer's memory of congestion control. */
  uint32_t cc_cwnd, cc_ssthresh;
  uint8_t cc_ca, cc_seen;
  uint32_t cc_undos;
  struct diag_conn *diag;     /* what the diagram recorded */
};

struct us_trace {
  struct us_stack *s;
  us_time_t t0;               /* time of the first event */
  us_time_t (*clock)(void);   /* NULL: the stack's time */
  int started;
  unsigned cats;              /* text trace categories, 0 = none */
  FILE *text, *json;
  int text_close;
  int stats;
  char stats_json[PATH_MAX];
  char diagram[PATH_MAX];
  struct tr_conn *hash[TR_HASH];
  struct tr_conn *conns, **tail;
  unsigned nconns;
  uint64_t diag_items;        /* bound on what the diagram keeps */
};

/* trace_hub.c */
struct tr_conn *tr_conn_of(struct us_trace *t, const struct us_event *ev);

/* trace_fmt.c */
void tr_ip(uint32_t ip, char *out, size_t n);
void tr_ep(uint32_t ip, uint16_t port, char *out, size_t n); /* "198.18.0.1:80" */
void tr_flags(uint8_t flags, char *out, size_t n);           /* "SYN, ACK" */
/* Sequence and acknowledgment numbers relative to each side's ISN. */
uint32_t tr_rel_seq(const struct tr_conn *c, const struct us_event *ev);
uint32_t tr_rel_ack(const struct tr_conn *c, const struct us_event *ev);
/* The window in bytes (scaled once both SYNs agreed on scaling). */
uint32_t tr_win(const struct tr_conn *c, const struct us_event *ev);
/* One readable line about ev (no time, no newline); the category it
 * belongs to in *cat (US_TRACE_*), 0 when it is not printed. */
void tr_describe(struct us_trace *t, struct tr_conn *c, const struct us_event *ev, char *out,
                 size_t n, unsigned *cat);
const char *tr_qtype(uint16_t t);
int tr_counter_is_drop(enum us_counter c);
/* JSON string body (escaped, no quotes) of s into out. */
void tr_json_str(const char *s, char *out, size_t n);

/* trace_text.c / trace_json.c */
void tr_text_event(struct us_trace *t, struct tr_conn *c, const struct us_event *ev);
void tr_json_event(struct us_trace *t, struct tr_conn *c, const struct us_event *ev);

/* diagram_record.c / diagram_html.c */
void diag_record(struct us_trace *t, struct tr_conn *c, const struct us_event *ev);
int diag_write(struct us_trace *t, const char *path);
void diag_free(struct us_trace *t);

/* stats_table.c */
void stats_print(struct us_trace *t, struct us_stack *s, FILE *f);
int stats_write_json(struct us_trace *t, struct us_stack *s, const char *path);
/* One connection like a line of `ss -ti` (two lines, the second indented). */
void stats_conn_lines(FILE *f, const struct us_ev_conn *k, const struct us_ev_tcp_snap *p,
                      uint32_t rq, uint32_t sq);
void stats_counters(FILE *f, struct us_stack *s);

#endif
