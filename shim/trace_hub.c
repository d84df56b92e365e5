/* The event hub (see trace.h): one sink on the stack that keeps a table of
 * the connections seen and hands each event to the text trace, the JSON
 * writer, the diagram recorder and the statistics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/host.h" /* us_host_call_sync */
#include "shim/log.h"
#include "shim/trace_int.h"
#include "stack/tcp_sock.h"
#include "stack/tcp_wire.h"

static unsigned key_hash(const struct us_ev_conn *k) {
  uint32_t h = k->lip * 2654435761u ^ k->rip * 40503u ^ ((uint32_t)k->lport << 16 | k->rport);
  h ^= h >> 15;
  return h % TR_HASH;
}

static int key_eq(const struct us_ev_conn *a, const struct us_ev_conn *b) {
  return a->lip == b->lip && a->rip == b->rip && a->lport == b->lport && a->rport == b->rport;
}

static struct tr_conn *conn_new(struct us_trace *t, const struct us_ev_conn *k, us_time_t now) {
  struct tr_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->key = *k;
  c->id = ++t->nconns;
  c->ws_l = c->ws_r = -1;
  c->t_first = c->t_last = now;
  unsigned h = key_hash(k);
  c->hnext = t->hash[h];
  t->hash[h] = c;
  *t->tail = c;
  t->tail = &c->next;
  return c;
}

/* A SYN without ACK, or an active open, on a 4-tuple whose last
 * connection is over starts a new connection. */
static int starts_new(const struct us_event *ev) {
  if (ev->type == US_EV_TCP_SEG)
    return (ev->u.seg.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
  if (ev->type == US_EV_TCP_STATE)
    return ev->u.state.to == US_TCP_SYN_SENT || ev->u.state.to == US_TCP_SYN_RECV;
  return 0;
}

struct tr_conn *tr_conn_of(struct us_trace *t, const struct us_event *ev) {
  if (!ev->has_conn) return NULL;
  unsigned h = key_hash(&ev->conn);
  struct tr_conn *c;
  for (c = t->hash[h]; c; c = c->hnext)
    if (key_eq(&c->key, &ev->conn)) break; /* newest first */
  if (c && c->closed && starts_new(ev)) c = NULL;
  if (!c) {
    /* Stray segments (RSTs for unknown ports) get no connection of their own
     * unless they carry a SYN. */
    if (ev->type == US_EV_TCP_SEG && !ev->has_snap && !starts_new(ev)) return NULL;
    c = conn_new(t, &ev->conn, ev->t);
    if (!c) return NULL;
  }
  return c;
}

/* Learn from ev what relative numbers and window scaling need. */
static void conn_learn(struct tr_conn *c, const struct us_event *ev) {
  c->t_last = ev->t;
  if (ev->has_snap) {
    c->snap = ev->snap;
    c->has_snap = 1;
  }
  if (ev->type == US_EV_TCP_SEG) {
    const struct us_ev_seg *g = &ev->u.seg;
    int tx = ev->dir == US_EV_TX;
    if (g->flags & TCP_SYN) {
      int8_t ws = (g->opt_has & TCP_OPT_F_WS) ? (int8_t)g->wscale : -1;
      if (tx) {
        c->isn_l = g->seq, c->has_isn_l = 1, c->ws_l = ws;
        if (!(g->flags & TCP_ACK)) c->active = 1;
      } else {
        c->isn_r = g->seq, c->has_isn_r = 1, c->ws_r = ws;
      }
    }
    c->note = TR_NOTE_NONE;
    uint32_t end = g->seq + g->len + !!(g->flags & TCP_FIN) + !!(g->flags & TCP_SYN);
    uint32_t *max = tx ? &c->tx_max : &c->rx_max;
    uint8_t *has = tx ? &c->has_tx_max : &c->has_rx_max;
    if (*has && (g->len || (g->flags & TCP_FIN))) {
      if ((int32_t)(g->seq - *max) < 0) c->note = TR_NOTE_RETRANS;
      else if ((int32_t)(g->seq - *max) > 0) c->note = TR_NOTE_GAP;
    }
    if (!*has || (int32_t)(end - *max) > 0) *max = end, *has = 1;
    /* Joined late: the first numbers seen stand in for the ISNs. */
    if (tx && !c->has_isn_l) c->isn_l = g->seq - 1, c->has_isn_l = 1;
    if (!tx && !c->has_isn_r) c->isn_r = g->seq - 1, c->has_isn_r = 1;
  }
  if (ev->type == US_EV_TCP_STATE) {
    c->state = ev->u.state.to;
    if (ev->u.state.from == US_TCP_CLOSE && ev->u.state.to == US_TCP_SYN_SENT) c->active = 1;
    if (ev->u.state.to == US_TCP_CLOSE) c->closed = 1, c->t_closed = ev->t;
  }
}

static void hub_event(void *ctx, const struct us_event *in) {
  struct us_trace *t = ctx;
  struct us_event stamped;
  const struct us_event *ev = in;
  if (t->clock) {
    stamped = *in;
    stamped.t = t->clock();
    ev = &stamped;
  }
  if (!t->started) t->started = 1, t->t0 = ev->t; /* times count from the first event */
  if (ev->type == US_EV_COUNT && !tr_counter_is_drop((enum us_counter)ev->u.count.counter))
    return; /* counters are read whole at exit; only drops are events */
  struct tr_conn *c = tr_conn_of(t, ev);
  if (c) conn_learn(c, ev);
  if (t->cats) tr_text_event(t, c, ev);
  if (t->json) tr_json_event(t, c, ev);
  if (t->diagram[0] && c) diag_record(t, c, ev);
}

void us_trace_set_clock(struct us_trace *t, us_time_t (*clock)(void)) {
  if (t) t->clock = clock;
}

static FILE *open_out(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "we");
  if (!f) snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
  return f;
}

int us_trace_attach(struct us_trace **out, struct us_stack *s, const struct us_config *cfg,
                    char *err, size_t errlen) {
  *out = NULL;
  if (!cfg->trace && !cfg->trace_json[0] && !cfg->diagram[0] && !cfg->stats &&
      !cfg->stats_json[0])
    return 0;
#ifdef USTACK_NO_EVENTS
  snprintf(err, errlen, "this ustack was built with -DUSTACK_EVENTS=OFF: --trace, --diagram and "
                        "--stats need a build with the event hooks");
  return -1;
#endif
  struct us_trace *t = calloc(1, sizeof *t);
  if (!t) return snprintf(err, errlen, "out of memory"), -1;
  t->s = s;
  t->tail = &t->conns;
  t->cats = cfg->trace;
  t->stats = cfg->stats;
  snprintf(t->stats_json, sizeof t->stats_json, "%s", cfg->stats_json);
  snprintf(t->diagram, sizeof t->diagram, "%s", cfg->diagram);
  if (t->cats) {
    if (cfg->trace_file[0]) {
      if (!(t->text = open_out(cfg->trace_file, err, errlen))) goto fail;
      t->text_close = 1;
    } else {
      t->text = stderr;
    }
    setvbuf(t->text, NULL, _IOLBF, 0); /* as it happens */
  }
  if (cfg->trace_json[0]) {
    if (!(t->json = open_out(cfg->trace_json, err, errlen))) goto fail;
    setvbuf(t->json, NULL, _IOLBF, 0);
  }
  /* Check now that the files at exit can be written, not after the run. */
  const char *later[2] = {cfg->diagram, cfg->stats_json};
  for (int i = 0; i < 2; i++) {
    if (!later[i][0]) continue;
    FILE *f = open_out(later[i], err, errlen);
    if (!f) goto fail;
    fclose(f);
  }
  us_stack_set_event_sink(s, hub_event, t);
  *out = t;
  return 0;
fail:
  if (t->text_close) fclose(t->text);
  if (t->json) fclose(t->json);
  free(t);
  return -1;
}

static void count_closing(struct us_stack *s, void *arg) {
  *(unsigned *)arg = us_stack_tcp_closing(s);
}

void us_trace_settle(struct us_host *h, unsigned ms) {
  for (unsigned waited = 0; waited < ms; waited += 10) {
    unsigned n = 0;
    if (us_host_call_sync(h, count_closing, &n) < 0 || n == 0) return;
    usleep(10000);
  }
}

static void refresh_live(void *arg, const struct us_ev_conn_info *ci) {
  struct us_trace *t = arg;
  if (ci->listening) return;
  unsigned h = key_hash(&ci->conn);
  for (struct tr_conn *c = t->hash[h]; c; c = c->hnext) {
    if (!key_eq(&c->key, &ci->conn)) continue;
    if (!c->closed) {
      c->snap = ci->snap;
      c->has_snap = 1;
    }
    break;
  }
}

void us_trace_detach(struct us_trace *t, struct us_stack *s) {
  if (!t) return;
  us_stack_set_event_sink(s, NULL, NULL);
  us_stack_tcp_foreach(s, refresh_live, t); /* final numbers of open connections */
  if (t->stats) stats_print(t, s, stderr);
  if (t->stats_json[0] && stats_write_json(t, s, t->stats_json) < 0)
    us_log_error("cannot write %s: %s", t->stats_json, strerror(errno));
  if (t->diagram[0]) {
    if (diag_write(t, t->diagram) < 0)
      us_log_error("cannot write %s: %s", t->diagram, strerror(errno));
    else
      fprintf(stderr, "ustack: diagram written to %s\n", t->diagram);
  }
  diag_free(t);
  if (t->text_close) fclose(t->text);
  else if (t->text) fflush(t->text);
  if (t->json) fclose(t->json);
  for (struct tr_conn *c = t->conns, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  free(t);
}
