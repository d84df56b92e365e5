/* Formatting events as text: one readable summary per event, with
 * sequence numbers relative to each side's initial sequence number as
 * Wireshark shows them. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>

#include "shim/trace_int.h"
#include "stack/dns_client.h"
#include "stack/tcp_sock.h"
#include "stack/tcp_wire.h"

void tr_ip(uint32_t ip, char *out, size_t n) {
  struct in_addr a = {htonl(ip)};
  if (!inet_ntop(AF_INET, &a, out, (socklen_t)n) && n) out[0] = 0;
}

void tr_ep(uint32_t ip, uint16_t port, char *out, size_t n) {
  char a[INET_ADDRSTRLEN];
  tr_ip(ip, a, sizeof a);
  snprintf(out, n, "%s:%u", a, port);
}

void tr_flags(uint8_t flags, char *out, size_t n) {
  static const struct { uint8_t bit; const char *name; } names[] = {
      {TCP_SYN, "SYN"}, {TCP_FIN, "FIN"}, {TCP_RST, "RST"}, {TCP_PSH, "PSH"},
      {TCP_ACK, "ACK"}, {TCP_URG, "URG"}, {TCP_ECE, "ECE"}, {TCP_CWR, "CWR"},
  };
  size_t used = 0;
  if (n) out[0] = 0;
  for (size_t i = 0; i < sizeof names / sizeof *names && used < n; i++)
    if (flags & names[i].bit)
      used += (size_t)snprintf(out + used, n - used, "%s%s", used ? ", " : "", names[i].name);
  if (!used && n) snprintf(out, n, "none");
}

uint32_t tr_rel_seq(const struct tr_conn *c, const struct us_event *ev) {
  uint32_t seq = ev->u.seg.seq;
  if (!c) return seq;
  return ev->dir == US_EV_TX ? seq - c->isn_l : seq - c->isn_r;
}

uint32_t tr_rel_ack(const struct tr_conn *c, const struct us_event *ev) {
  uint32_t ack = ev->u.seg.ack;
  if (!c) return ack;
  return ev->dir == US_EV_TX ? ack - c->isn_r : ack - c->isn_l;
}

uint32_t tr_win(const struct tr_conn *c, const struct us_event *ev) {
  uint32_t w = ev->u.seg.win;
  if (!c || (ev->u.seg.flags & TCP_SYN) || c->ws_l < 0 || c->ws_r < 0) return w;
  return w << (ev->dir == US_EV_TX ? c->ws_l : c->ws_r);
}

const char *tr_qtype(uint16_t t) {
  switch (t) {
  case 1: return "A";
  case 28: return "AAAA";
  case 12: return "PTR";
  case 5: return "CNAME";
  default: return "?";
  }
}

int tr_counter_is_drop(enum us_counter c) {
  const char *n = us_counter_name(c), *d = us_counter_desc(c);
  return strstr(n, "_DROP") || strstr(d, "dropped") || strstr(d, "ignored");
}

/* Appends to a buffer, never past its end. */
struct sbuf { char *p; size_t n, used; };
static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...) {
  if (b->used >= b->n) return;
  va_list ap;
  va_start(ap, fmt);
  int r = vsnprintf(b->p + b->used, b->n - b->used, fmt, ap);
  va_end(ap);
  if (r > 0) b->used += (size_t)r;
  if (b->used > b->n) b->used = b->n;
}

static void mac_str(const uint8_t *m, char *out, size_t n) {
  snprintf(out, n, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void describe_arp(const struct us_event *ev, struct sbuf *b) {
  char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN], m[24];
  const struct us_ev_arp *a = &ev->u.arp;
  tr_ip(a->spa, s, sizeof s);
  tr_ip(a->tpa, d, sizeof d);
  mac_str(a->sha, m, sizeof m);
  if (a->op == 1 && a->spa == 0) sb_add(b, "who-has %s tell 0.0.0.0 (probe, from %s)", d, m);
  else if (a->op == 1) sb_add(b, "who-has %s tell %s", d, s);
  else if (a->op == 2) sb_add(b, "%s is-at %s", s, m);
  else sb_add(b, "op %u from %s", a->op, s);
}

static void describe_dns(const struct us_event *ev, struct sbuf *b) {
  const struct us_ev_dns *d = &ev->u.dns;
  static const char *const rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                       "NOTIMP", "REFUSED"};
  switch (ev->type) {
  case US_EV_DNS_QUERY:
    sb_add(b, "%s? %s (id 0x%04x)", tr_qtype(d->qtype), d->name, d->id);
    if (d->tries > 1) sb_add(b, " try %d", d->tries);
    break;
  case US_EV_DNS_ANSWER:
    sb_add(b, "answer %s? %s: %s", tr_qtype(d->qtype), d->name,
           d->rcode >= 0 && d->rcode < 6 ? rcodes[d->rcode] : "rcode?");
    break;
  default: {
    sb_add(b, "%s ->", d->name);
    char a[INET6_ADDRSTRLEN];
    for (unsigned i = 0; i < d->n4; i++) {
      tr_ip(d->v4[i], a, sizeof a);
      sb_add(b, " %s", a);
    }
    for (unsigned i = 0; i < d->n6; i++) {
      inet_ntop(AF_INET6, d->v6[i], a, sizeof a);
      sb_add(b, " %s", a);
    }
    if (d->status != US_DNS_OK) sb_add(b, " %s", us_dns_status_str(d->status));
    if (d->from_cache) sb_add(b, " (cached)");
    else sb_add(b, " (%llu ms)", (unsigned long long)(d->elapsed / 1000));
  }
  }
}

static void describe_opts(const struct us_ev_seg *g, struct sbuf *b) {
  if (!g->opt_has) return;
  int first = 1;
  sb_add(b, " <");
#define SEP (first ? (first = 0, "") : ",")
  if (g->opt_has & TCP_OPT_F_MSS) sb_add(b, "%smss %u", SEP, g->mss);
  if (g->opt_has & TCP_OPT_F_SACKOK) sb_add(b, "%ssackOK", SEP);
  if (g->opt_has & TCP_OPT_F_TS) sb_add(b, "%sTS val %u ecr %u", SEP, g->tsval, g->tsecr);
  if (g->opt_has & TCP_OPT_F_WS) sb_add(b, "%swscale %u", SEP, g->wscale);
  if ((g->opt_has & TCP_OPT_F_SACK) && g->nsack) {
    sb_add(b, "%ssack", SEP);
    for (unsigned i = 0; i < g->nsack; i++) sb_add(b, " %u-%u", g->sack[i][0], g->sack[i][1]);
  }
#undef SEP
  sb_add(b, ">");
}

static void describe_seg(struct tr_conn *c, const struct us_event *ev, struct sbuf *b) {
  const struct us_ev_seg *g = &ev->u.seg;
  char s[32], d[32], f[48];
  tr_ep(g->sip, g->sport, s, sizeof s);
  tr_ep(g->dip, g->dport, d, sizeof d);
  tr_flags(g->flags, f, sizeof f);
  sb_add(b, "%s > %s [%s] seq=%u", s, d, f, tr_rel_seq(c, ev));
  if (g->flags & TCP_ACK) sb_add(b, " ack=%u", tr_rel_ack(c, ev));
  sb_add(b, " win=%u len=%u", tr_win(c, ev), g->len);
  if (g->gso) sb_add(b, " (GSO %u x %u)", (g->len + g->gso - 1) / g->gso, g->gso);
  describe_opts(g, b);
  if (c && c->note == TR_NOTE_RETRANS) sb_add(b, " (retransmission)");
  if (c && c->note == TR_NOTE_GAP) sb_add(b, " (previous segment not seen: lost or reordered)");
}

static void conn_str(const struct us_event *ev, char *out, size_t n) {
  char l[32], r[32];
  tr_ep(ev->conn.lip, ev->conn.lport, l, sizeof l);
  tr_ep(ev->conn.rip, ev->conn.rport, r, sizeof r);
  snprintf(out, n, "%s > %s", l, r);
}

void tr_describe(struct us_trace *t, struct tr_conn *c, const struct us_event *ev, char *out,
                 size_t n, unsigned *cat) {
  struct sbuf b = {out, n, 0};
  char cs[80];
  (void)t;
  if (n) out[0] = 0;
  *cat = 0;
  switch (ev->type) {
  case US_EV_ARP:
    *cat = US_TRACE_ARP;
    sb_add(&b, "arp  ");
    describe_arp(ev, &b);
    break;
  case US_EV_DNS_QUERY: case US_EV_DNS_ANSWER: case US_EV_DNS_RESULT:
    *cat = US_TRACE_DNS;
    sb_add(&b, "dns  ");
    describe_dns(ev, &b);
    break;
  case US_EV_TCP_SEG:
    *cat = US_TRACE_TCP;
    sb_add(&b, "tcp  ");
    describe_seg(c, ev, &b);
    break;
  case US_EV_TCP_STATE:
    *cat = US_TRACE_STATE;
    conn_str(ev, cs, sizeof cs);
    sb_add(&b, "tcp  state %s -> %s (%s)", us_tcp_state_name(ev->u.state.from),
           us_tcp_state_name(ev->u.state.to), cs);
    break;
  case US_EV_TCP_RETRANS:
    *cat = US_TRACE_TCP | US_TRACE_CC;
    conn_str(ev, cs, sizeof cs);
    if (ev->u.rtx.why == US_EV_RTX_SYN)
      sb_add(&b, "tcp  retransmit SYN (RTO %u ms, backoff %u) (%s)", ev->snap.rto_us / 1000,
             ev->snap.backoff, cs);
    else if (ev->u.rtx.why == US_EV_RTX_TIMEOUT)
      sb_add(&b, "tcp  retransmit seq=%u len=%u (RTO %u ms, backoff %u) (%s)",
             ev->u.rtx.seq - (c ? c->isn_l : 0), ev->u.rtx.len, ev->snap.rto_us / 1000,
             ev->snap.backoff, cs);
    else
      sb_add(&b, "tcp  retransmit seq=%u len=%u (%s) (%s)", ev->u.rtx.seq - (c ? c->isn_l : 0),
             ev->u.rtx.len,
             ev->u.rtx.why == US_EV_RTX_RACK  ? "RACK: lost by time"
             : ev->u.rtx.why == US_EV_RTX_TLP ? "tail loss probe"
                                              : "fast retransmit",
             cs);
    break;
  case US_EV_TCP_RTT:
    *cat = US_TRACE_CC;
    sb_add(&b, "tcp  rtt %.3f ms (srtt %.3f ms, rttvar %.3f ms, rto %u ms)",
           ev->u.rtt.rtt_us / 1000.0, ev->snap.srtt_us / 1000.0, ev->snap.rttvar_us / 1000.0,
           ev->snap.rto_us / 1000);
    break;
  case US_EV_COUNT:
    *cat = US_TRACE_DROP;
    sb_add(&b, "drop %s (%s)", us_counter_desc((enum us_counter)ev->u.count.counter),
           us_counter_name((enum us_counter)ev->u.count.counter));
    break;
  default:
    break;
  }
}

void tr_json_str(const char *s, char *out, size_t n) {
  size_t k = 0;
  for (; *s && k + 7 < n; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') out[k++] = '\\', out[k++] = (char)ch;
    else if (ch < 0x20) k += (size_t)snprintf(out + k, n - k, "\\u%04x", ch);
    else out[k++] = (char)ch;
  }
  if (n) out[k < n ? k : n - 1] = 0;
}
