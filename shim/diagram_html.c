/* The diagram page (--diagram FILE): one self-contained HTML file with
 * inline SVG and CSS, nothing fetched. Per connection:
 *  - a ladder diagram drawn like the textbook pictures of the 3-way and
 *    4-way handshakes: client and server lifelines, each side's state beside
 *    its lifeline (ours from the stack, the peer's inferred from the
 *    segments it sent and received), one arrow per segment labelled with
 *    flags, relative seq/ack and length; retransmissions in red; long runs
 *    of data and ACKs folded into one marked row;
 *  - plots over time of cwnd (and ssthresh), bytes in flight, RTT (samples
 *    and smoothed) and the receive windows, with retransmissions marked and
 *    loss recovery shaded.
 * Elements carry classes a test can count: line.lifeline, g.seg, g.fold,
 * g.state, svg.plot. */
#include <stdlib.h>
#include <string.h>

#include "shim/diagram_int.h"
#include "stack/tcp_sock.h"
#include "stack/tcp_wire.h"

#define W 980
#define XL 300
#define XR 760
#define ROW 34
#define SROW 20
#define FOLD_MIN 24  /* runs longer than this are folded */
#define FOLD_KEEP 8  /* segments kept at each end of a folded run */
#define PLOT_W 900
#define PLOT_H 170
#define PLOT_PTS 1500

static const char *const css =
    "body{font-family:sans-serif;margin:24px;color:#222}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:36px}"
    "p.note{color:#555;font-size:13px;max-width:900px}"
    "svg text{font-family:monospace;font-size:12px}"
    ".lifeline{stroke:#333;stroke-width:2}"
    ".seg line{stroke:#1f5fbf;stroke-width:1.5}.seg.rx line{stroke:#2a8a3a}"
    ".seg.rtx line{stroke:#d62728;stroke-width:2.5;stroke-dasharray:6 3}"
    ".seg text.lbl{fill:#111}.seg.rtx text.lbl{fill:#d62728}"
    ".time{fill:#777;font-size:11px}"
    ".state rect{fill:#fff7d6;stroke:#c9a400}.state.peer rect{fill:#eef3ff;stroke:#7b93c9}"
    ".fold rect{fill:#f4f4f4;stroke:#999;stroke-dasharray:4 3}"
    ".plot{background:#fcfcfc;border:1px solid #ddd;margin:6px 0}"
    ".axis{stroke:#999}.grid{stroke:#eee}.rtx-mark{stroke:#d62728;stroke-width:1;opacity:.6}"
    ".recovery{fill:#ffd9d9;opacity:.5}";

static void esc(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else fputc(*s, f);
  }
}

/* ---- the peer's state, inferred from the segments it sends and gets ---- */

struct peer {
  int st;
  int fin_sent;
  uint32_t fin_end; /* relative ack that covers the peer's FIN */
};

static int peer_on_send(struct peer *p, const struct diag_item *it) {
  uint8_t fl = it->flags;
  if (fl & TCP_RST) return US_TCP_CLOSE;
  if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN) return US_TCP_SYN_SENT;
  if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) return US_TCP_SYN_RECV;
  if (fl & TCP_FIN) {
    if (!p->fin_sent) p->fin_end = it->seq + it->len + 1;
    p->fin_sent = 1;
    if (p->st == US_TCP_ESTABLISHED || p->st == US_TCP_SYN_RECV) return US_TCP_FIN_WAIT1;
    if (p->st == US_TCP_CLOSE_WAIT) return US_TCP_LAST_ACK;
  }
  return p->st;
}

static int peer_on_recv(struct peer *p, const struct diag_item *it) {
  uint8_t fl = it->flags;
  int st = p->st;
  int acked = p->fin_sent && (fl & TCP_ACK) && (int32_t)(it->ack - p->fin_end) >= 0;
  if (fl & TCP_RST) return US_TCP_CLOSE;
  if (st == US_TCP_SYN_SENT && (fl & TCP_SYN)) return (fl & TCP_ACK) ? US_TCP_ESTABLISHED : US_TCP_SYN_RECV;
  if (st == US_TCP_SYN_RECV && (fl & TCP_ACK) && !(fl & TCP_SYN)) st = US_TCP_ESTABLISHED;
  if (st == US_TCP_FIN_WAIT1 && (fl & TCP_FIN)) return acked ? US_TCP_TIME_WAIT : US_TCP_CLOSING;
  if (st == US_TCP_FIN_WAIT1 && acked) return US_TCP_FIN_WAIT2;
  if (st == US_TCP_FIN_WAIT2 && (fl & TCP_FIN)) return US_TCP_TIME_WAIT;
  if (st == US_TCP_CLOSING && acked) return US_TCP_TIME_WAIT;
  if (st == US_TCP_LAST_ACK && acked) return US_TCP_CLOSE;
  if (st == US_TCP_ESTABLISHED && (fl & TCP_FIN)) return US_TCP_CLOSE_WAIT;
  return st;
}

/* ---- ladder ---------------------------------------------------------- */

struct row {
  size_t item;          /* index into the items */
  size_t nfold;         /* > 0: a fold marker for this many segments */
  size_t ndata;         /* folded segments carrying data */
  uint32_t lo, hi;      /* folded data range (sender's relative seq) */
};

struct ladder {
  FILE *f;
  const struct diag_conn *d;
  int local_left;       /* our lifeline on the left (we opened) */
  us_time_t t0;
};

static int is_plain(const struct diag_item *it) {
  return it->kind == DIAG_SEG && !(it->flags & (TCP_SYN | TCP_FIN | TCP_RST)) && !it->rtx;
}

/* Rows to draw: every segment and state change, long plain runs folded. */
static struct row *build_rows(const struct diag_conn *d, size_t *nrows) {
  struct row *rows = calloc(d->n + 1, sizeof *rows);
  size_t n = 0;
  if (!rows) return NULL;
  for (size_t i = 0; i < d->n;) {
    const struct diag_item *it = &d->v[i];
    if (it->kind != DIAG_SEG && it->kind != DIAG_STATE) { i++; continue; }
    if (!is_plain(it)) { rows[n++].item = i++; continue; }
    /* A run of plain segments (other kinds of item may sit between). */
    size_t j = i, segs = 0;
    while (j < d->n && (is_plain(&d->v[j]) || (d->v[j].kind != DIAG_SEG && d->v[j].kind != DIAG_STATE))) {
      if (d->v[j].kind == DIAG_SEG) segs++;
      j++;
    }
    size_t k = 0;
    int folded = 0;
    for (size_t x = i; x < j; x++) {
      if (d->v[x].kind != DIAG_SEG) continue;
      if (segs <= FOLD_MIN || k < FOLD_KEEP || k >= segs - FOLD_KEEP) {
        rows[n++].item = x;
      } else {
        if (!folded) {
          folded = 1;
          rows[n].item = x;
          rows[n].lo = d->v[x].seq;
          rows[n].hi = d->v[x].seq;
          n++;
        }
        struct row *r = &rows[n - 1];
        r->nfold++;
        if (d->v[x].len) {
          r->ndata++;
          uint32_t end = d->v[x].seq + d->v[x].len;
          if ((int32_t)(end - r->hi) > 0) r->hi = end;
          if ((int32_t)(d->v[x].seq - r->lo) < 0) r->lo = d->v[x].seq;
        }
      }
      k++;
    }
    i = j;
  }
  *nrows = n;
  return rows;
}

static void seg_label(const struct diag_item *it, char *out, size_t n) {
  char fl[48];
  tr_flags(it->flags, fl, sizeof fl);
  int k = snprintf(out, n, "%s%s seq=%u", it->rtx ? "retransmit " : "", fl, it->seq);
  if (it->flags & TCP_ACK) k += snprintf(out + k, n - (size_t)k, " ack=%u", it->ack);
  if (it->len) k += snprintf(out + k, n - (size_t)k, " len=%u", it->len);
  snprintf(out + k, n - (size_t)k, " win=%u", it->win);
}

static void state_box(FILE *f, int x, int left, int y, const char *name, int peer) {
  int w = (int)strlen(name) * 8 + 12;
  int bx = left ? x - 12 - w : x + 12;
  fprintf(f,
          "<g class=\"state %s\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"17\" rx=\"4\"/>"
          "<text x=\"%d\" y=\"%d\">%s</text></g>\n",
          peer ? "peer" : "local", bx, y - 12, w, bx + 6, y + 1, name);
}

static void ladder_svg(FILE *f, struct tr_conn *c, const struct diag_conn *d) {
  size_t nrows;
  struct row *rows = build_rows(d, &nrows);
  if (!rows) return;
  int local_left = c->active || !c->has_isn_r;
  int xl = local_left ? XL : XR, xp = local_left ? XR : XL;
  int height = 90;
  for (size_t r = 0; r < nrows; r++) height += d->v[rows[r].item].kind == DIAG_STATE ? SROW : ROW;
  height += 40;
  char l[32], p[32];
  tr_ep(c->key.lip, c->key.lport, l, sizeof l);
  tr_ep(c->key.rip, c->key.rport, p, sizeof p);
  fprintf(f,
          "<svg class=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\">\n",
          W, height, W, height);
  fprintf(f, "<defs><marker id=\"ah%u\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
             "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
             "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#444\"/></marker></defs>\n", c->id);
  const char *lrole = local_left ? "client" : "server", *prole = local_left ? "server" : "client";
  fprintf(f, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">%s (ustack)</text>"
             "<text x=\"%d\" y=\"36\" text-anchor=\"middle\">%s</text>\n", xl, lrole, xl, l);
  fprintf(f, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-weight=\"bold\">%s (peer)</text>"
             "<text x=\"%d\" y=\"36\" text-anchor=\"middle\">%s</text>\n", xp, prole, xp, p);
  fprintf(f, "<line class=\"lifeline\" data-side=\"%s\" x1=\"%d\" y1=\"46\" x2=\"%d\" y2=\"%d\"/>\n",
          lrole, xl, xl, height - 10);
  fprintf(f, "<line class=\"lifeline\" data-side=\"%s\" x1=\"%d\" y1=\"46\" x2=\"%d\" y2=\"%d\"/>\n",
          prole, xp, xp, height - 10);
  struct peer peer = {local_left ? US_TCP_LISTEN : US_TCP_CLOSE, 0, 0};
  int y = 70, peer_y = 0; /* peer_y: below the last peer state box */
  state_box(f, xl, local_left, y, "CLOSED", 0);
  state_box(f, xp, !local_left, y, us_tcp_state_name(peer.st), 1);
  y += 20;
  us_time_t t0 = d->n ? d->v[0].t : 0;
  for (size_t r = 0; r < nrows; r++) {
    const struct diag_item *it = &d->v[rows[r].item];
    if (it->kind == DIAG_STATE) {
      state_box(f, xl, local_left, y, us_tcp_state_name(it->to), 0);
      y += SROW;
      continue;
    }
    if (rows[r].nfold) {
      fprintf(f,
              "<g class=\"fold\" data-segments=\"%zu\"><rect x=\"%d\" y=\"%d\" width=\"%d\" "
              "height=\"%d\" rx=\"6\"/><text x=\"%d\" y=\"%d\" text-anchor=\"middle\">&#8942; %zu "
              "segments folded: %zu with data (seq %u..%u), %zu ACKs &#8942;</text></g>\n",
              rows[r].nfold, XL, y - 4, XR - XL, ROW - 10, (XL + XR) / 2, y + 13, rows[r].nfold,
              rows[r].ndata, rows[r].lo, rows[r].hi, rows[r].nfold - rows[r].ndata);
      y += ROW;
      continue;
    }
    int tx = it->dir == US_EV_TX;
    int x1 = tx ? xl : xp, x2 = tx ? xp : xl;
    int y2 = y + ROW - 12;
    char lbl[160];
    seg_label(it, lbl, sizeof lbl);
    double ms = (double)(it->t - t0) / 1000.0;
    fprintf(f,
            "<g class=\"seg %s%s\" data-flags=\"%u\" data-seq=\"%u\" data-ack=\"%u\" data-len=\"%u\">"
            "<text class=\"time\" x=\"8\" y=\"%d\">%.3f ms</text>"
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" marker-end=\"url(#ah%u)\"/>"
            "<text class=\"lbl\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
            tx ? "tx" : "rx", it->rtx ? " rtx" : "", it->flags, it->seq, it->ack, it->len,
            tx ? y + 4 : y2, ms, x1, y, x2, y2, c->id, (XL + XR) / 2, (y + y2) / 2 - 3);
    esc(f, lbl);
    fprintf(f, "</text></g>\n");
    /* The peer's state moves when it sends (at the arrow's start) or when
     * what we sent arrives (at its end). */
    int before = peer.st;
    peer.st = tx ? peer_on_recv(&peer, it) : peer_on_send(&peer, it);
    if (peer.st != before) {
      int by = tx ? y2 + 4 : y + 4;
      if (by < peer_y) by = peer_y;
      state_box(f, xp, !local_left, by, us_tcp_state_name(peer.st), 1);
      peer_y = by + 19;
    }
    y += ROW;
  }
  fprintf(f, "</svg>\n");
  free(rows);
}

/* ---- plots ------------------------------------------------------------- */

struct series {
  const char *name, *color;
  int dashed, dots;
  double *x, *y;
  size_t n;
};

static void series_add(struct series *s, size_t cap, double x, double y) {
  if (s->n < cap) {
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
  }
}

static void plot(FILE *f, const char *title, const char *unit, struct series *ss, int nss,
                 const struct diag_conn *d, us_time_t t0, double tmax) {
  double ymax = 0;
  for (int i = 0; i < nss; i++)
    for (size_t k = 0; k < ss[i].n; k++)
      if (ss[i].y[k] > ymax) ymax = ss[i].y[k];
  if (ymax <= 0) ymax = 1;
  ymax *= 1.1;
  if (tmax <= 0) tmax = 1;
  const int ml = 70, mr = 20, mt = 24, mb = 30;
  const int pw = PLOT_W - ml - mr, ph = PLOT_H - mt - mb;
#define PX(v) (ml + (v) / tmax * pw)
#define PY(v) (mt + ph - (v) / ymax * ph)
  fprintf(f,
          "<svg class=\"plot\" data-title=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
          "height=\"%d\" viewBox=\"0 0 %d %d\">\n<text x=\"%d\" y=\"16\" font-weight=\"bold\">%s</text>\n",
          title, PLOT_W, PLOT_H, PLOT_W, PLOT_H, ml, title);
  /* Loss recovery shaded, retransmissions marked. */
  int in_rec = 0;
  double rec_start = 0;
  for (size_t i = 0; i <= d->n; i++) {
    int rec = i < d->n && d->v[i].has_snap && d->v[i].ca_state >= 3;
    double x = i < d->n ? (double)(d->v[i].t - t0) / 1e3 : tmax;
    if (i < d->n && !d->v[i].has_snap) continue;
    if (rec && !in_rec) rec_start = x, in_rec = 1;
    if (!rec && in_rec) {
      fprintf(f, "<rect class=\"recovery\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"/>\n",
              PX(rec_start), mt, PX(x) - PX(rec_start) + 1, ph);
      in_rec = 0;
    }
  }
  for (size_t i = 0; i < d->n; i++)
    if (d->v[i].kind == DIAG_RTX) {
      double x = PX((double)(d->v[i].t - t0) / 1e3);
      fprintf(f, "<line class=\"rtx-mark\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", x, mt,
              x, mt + ph);
    }
  for (int g = 0; g <= 4; g++) {
    double v = ymax * g / 4;
    fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
               "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"time\">%.3g</text>\n",
            ml, PY(v), ml + pw, PY(v), ml - 4, PY(v) + 4, v);
  }
  fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
             "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
          ml, mt, ml, mt + ph, ml, mt + ph, ml + pw, mt + ph);
  fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"time\">0</text><text x=\"%d\" y=\"%d\" "
             "text-anchor=\"end\" class=\"time\">%.3f ms</text><text x=\"4\" y=\"%d\" class=\"time\">%s</text>\n",
          ml, PLOT_H - 8, ml + pw, PLOT_H - 8, tmax, mt + 10, unit);
  int lx = ml + 260;
  for (int i = 0; i < nss; i++) {
    struct series *s = &ss[i];
    fprintf(f, "<text x=\"%d\" y=\"16\" fill=\"%s\">&#9632; %s</text>\n", lx, s->color, s->name);
    lx += (int)strlen(s->name) * 8 + 30;
    if (!s->n) continue;
    size_t stride = s->n > PLOT_PTS ? s->n / PLOT_PTS + 1 : 1;
    if (s->dots) {
      for (size_t k = 0; k < s->n; k += stride)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>", PX(s->x[k]), PY(s->y[k]),
                s->color);
      fprintf(f, "\n");
      continue;
    }
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"", s->color,
            s->dashed ? " stroke-dasharray=\"5 3\"" : "");
    /* Step lines: a value holds until the next sample. */
    for (size_t k = 0; k < s->n; k += stride) {
      if (k) fprintf(f, "%.1f,%.1f ", PX(s->x[k]), PY(s->y[k - (k >= stride ? stride : k)]));
      fprintf(f, "%.1f,%.1f ", PX(s->x[k]), PY(s->y[k]));
    }
    fprintf(f, "\"/>\n");
  }
  fprintf(f, "</svg>\n");
#undef PX
#undef PY
}

static void plots(FILE *f, const struct diag_conn *d) {
  size_t cap = d->n + 1;
  double *buf = malloc(sizeof(double) * cap * 2 * 8);
  if (!buf || !d->n) {
    free(buf);
    return;
  }
  struct series s[8] = {
      {"cwnd", "#1f5fbf", 0, 0, 0, 0, 0},      {"ssthresh", "#c9a400", 1, 0, 0, 0, 0},
      {"bytes in flight", "#8e44ad", 0, 0, 0, 0, 0}, {"RTT sample", "#2a8a3a", 0, 1, 0, 0, 0},
      {"smoothed RTT", "#1f5fbf", 0, 0, 0, 0, 0}, {"our receive window", "#1f5fbf", 0, 0, 0, 0, 0},
      {"peer's window", "#d35400", 1, 0, 0, 0, 0}, {"", "#000", 0, 0, 0, 0, 0},
  };
  for (int i = 0; i < 8; i++) {
    s[i].x = buf + (size_t)i * 2 * cap;
    s[i].y = s[i].x + cap;
  }
  us_time_t t0 = d->v[0].t;
  double tmax = (double)(d->v[d->n - 1].t - t0) / 1e3;
  for (size_t i = 0; i < d->n; i++) {
    const struct diag_item *it = &d->v[i];
    double x = (double)(it->t - t0) / 1e3;
    if (it->kind == DIAG_RTT) series_add(&s[3], cap, x, it->rtt / 1e3);
    if (!it->has_snap || !it->cwnd) continue;
    series_add(&s[0], cap, x, it->cwnd / 1024.0);
    if (it->ssthresh < 0x7fffffffu) series_add(&s[1], cap, x, it->ssthresh / 1024.0);
    series_add(&s[2], cap, x, it->flight / 1024.0);
    if (it->srtt) series_add(&s[4], cap, x, it->srtt / 1e3);
    series_add(&s[5], cap, x, it->rcv_wnd / 1024.0);
    series_add(&s[6], cap, x, it->snd_wnd / 1024.0);
  }
  plot(f, "Congestion window", "KiB", s, 2, d, t0, tmax);
  plot(f, "Bytes in flight", "KiB", s + 2, 1, d, t0, tmax);
  plot(f, "Round-trip time", "ms", s + 3, 2, d, t0, tmax);
  plot(f, "Receive windows", "KiB", s + 5, 2, d, t0, tmax);
  free(buf);
}

int diag_write(struct us_trace *t, const char *path) {
  FILE *f = fopen(path, "we");
  if (!f) return -1;
  fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ustack: what happened"
             "</title><style>%s</style></head><body>\n<h1>ustack: what happened on the wire</h1>\n",
          css);
  fprintf(f, "<p class=\"note\">One section per TCP connection. Left and right are the client and the "
             "server; time runs down. Our states come from the stack; the peer's are inferred from "
             "the segments it sent and received. Sequence numbers are relative to each side's "
             "initial sequence number. Red dashed arrows are retransmissions; long runs of data and "
             "ACKs are folded. Below each ladder: cwnd, bytes in flight, RTT and receive windows "
             "over time (red lines: retransmissions; shaded: loss recovery).</p>\n");
  unsigned shown = 0;
  for (struct tr_conn *c = t->conns; c; c = c->next) {
    if (!c->diag || !c->diag->n) continue;
    char l[32], r[32];
    tr_ep(c->key.lip, c->key.lport, l, sizeof l);
    tr_ep(c->key.rip, c->key.rport, r, sizeof r);
    fprintf(f, "<section class=\"conn\" id=\"conn%u\"><h2>Connection %u: %s &#8594; %s (%s open)</h2>\n",
            c->id, c->id, l, r, c->active ? "active" : "passive");
    if (c->diag->truncated)
      fprintf(f, "<p class=\"note\">(the recording stopped at its size limit; the end is missing)</p>\n");
    ladder_svg(f, c, c->diag);
    plots(f, c->diag);
    fprintf(f, "</section>\n");
    shown++;
  }
  if (!shown) fprintf(f, "<p>No TCP connection was seen.</p>\n");
  fprintf(f, "</body></html>\n");
  return fclose(f) == 0 ? 0 : -1;
}
