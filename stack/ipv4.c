/* IPv4: header format, input checks and dispatch, output with routing and
 * fragmentation, path MTU memory, and error delivery to the upper layers. */
#include <errno.h>
#include <string.h>

#include "stack/byteorder.h"
#include "stack/eth.h"
#include "stack/stack.h"
#include "stack/tcp.h"

#define IPV4_MIN_PMTU 552 /* Linux min_pmtu: lower ICMP claims are raised to it */

/* Options: syntax only (each TLV inside the header); source routes refused. */
static int ipv4_check_options(const uint8_t *o, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t type = o[i];
    if (type == 0) break;      /* end of list */
    if (type == 1) { i++; continue; } /* no-op */
    if (i + 1 >= n) return -1;
    uint8_t l = o[i + 1];
    if (l < 2 || i + l > n) return -1;
    if (type == IPV4_OPT_LSRR || type == IPV4_OPT_SSRR) return -1;
    i += l;
  }
  return 0;
}

int ipv4_parse(const uint8_t *p, size_t len, struct ipv4_hdr *h, int *has_opts,
               enum us_counter *why) {
  if (len < IPV4_HLEN) { *why = US_CNT_IPV4_DROP_SHORT; return -1; }
  if (p[0] >> 4 != 4) { *why = US_CNT_IPV4_DROP_VERSION; return -1; }
  h->hlen = (uint8_t)((p[0] & 0xf) * 4);
  if (h->hlen < IPV4_HLEN || h->hlen > len) { *why = US_CNT_IPV4_DROP_HDRLEN; return -1; }
  h->tos = p[1];
  h->tot_len = us_rd16(p + 2);
  if (h->tot_len < h->hlen || h->tot_len > len) { *why = US_CNT_IPV4_DROP_TOTLEN; return -1; }
  if (us_csum_fold(us_csum_add(0, p, h->hlen)) != 0) { *why = US_CNT_IPV4_DROP_CSUM; return -1; }
  h->id = us_rd16(p + 4);
  h->frag = us_rd16(p + 6);
  h->ttl = p[8];
  h->proto = p[9];
  h->csum = us_rd16(p + 10);
  h->src = us_rd32(p + 12);
  h->dst = us_rd32(p + 16);
  *has_opts = h->hlen > IPV4_HLEN;
  if (*has_opts && ipv4_check_options(p + IPV4_HLEN, h->hlen - IPV4_HLEN) < 0) {
    *why = US_CNT_IPV4_DROP_OPTIONS;
    return -1;
  }
  return 0;
}

void ipv4_emit(uint8_t *out, const struct ipv4_hdr *h) {
  out[0] = 0x45;
  out[1] = h->tos;
  us_wr16(out + 2, h->tot_len);
  us_wr16(out + 4, h->id);
  us_wr16(out + 6, h->frag);
  out[8] = h->ttl;
  out[9] = h->proto;
  us_wr16(out + 10, 0);
  us_wr32(out + 12, h->src);
  us_wr32(out + 16, h->dst);
  us_wr16(out + 10, us_csum_fold(us_csum_add(0, out, IPV4_HLEN)));
}

int ipv4_is_bcast(const struct us_stack *s, uint32_t ip) {
  if (ip == 0xffffffffu) return 1;
  uint32_t m = s->netmask;
  if (s->cfg.prefix_len == 0 || s->cfg.prefix_len > 30) return 0;
  return ((ip ^ s->cfg.ip) & m) == 0 && (ip & ~m) == ~m;
}

static int ipv4_is_mcast(uint32_t ip) { return (ip >> 28) == 0xe; }

/* ---- input ---- */

static void ipv4_dispatch(struct us_stack *s, const struct ipv4_hdr *h, const uint8_t *pkt,
                          size_t len, uint32_t csum_valid, int bcast) {
  struct ipv4_rx rx = {
      .src = h->src, .dst = h->dst, .proto = h->proto, .ttl = h->ttl, .tos = h->tos,
      .csum_valid = csum_valid, .pkt = pkt, .pkt_len = (uint32_t)len, .bcast = (uint8_t)bcast,
  };
  const uint8_t *l4 = pkt + h->hlen;
  size_t l4len = len - h->hlen;
  switch (h->proto) {
  case IPPROTO_ICMP_:
    icmp_input(s, &rx, l4, l4len);
    break;
  case IPPROTO_UDP_:
    udp_input(s, &rx, l4, l4len);
    break;
  case IPPROTO_TCP_:
    if (bcast) { us_count(s, US_CNT_IPV4_DROP_NOT_US); break; }
    tcp_input(s, &rx, l4, l4len);
    break;
  default:
    us_count(s, US_CNT_IPV4_DROP_PROTO);
    if (!bcast) icmp_send_error(s, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0, pkt, len);
  }
}

/* looped: sent by ourselves to our own address (its source is ours). */
static void ipv4_receive(struct us_stack *s, const uint8_t *p, size_t len,
                    const struct us_frame_meta *meta, int looped) {
  struct ipv4_hdr h;
  int has_opts;
  enum us_counter why;
  us_count(s, US_CNT_IPV4_RX);
  if (ipv4_parse(p, len, &h, &has_opts, &why) < 0) {
    us_count(s, why);
    return;
  }
  if (has_opts) us_count(s, US_CNT_IPV4_RX_OPTIONS);
  int bcast = 0;
  if (h.dst != s->cfg.ip) {
    if (!ipv4_is_bcast(s, h.dst) && !ipv4_is_mcast(h.dst)) {
      us_count(s, US_CNT_IPV4_DROP_NOT_US);
      return;
    }
    bcast = 1;
  }
  if ((h.src == s->cfg.ip && !looped) || ipv4_is_bcast(s, h.src) || ipv4_is_mcast(h.src) ||
      (h.src >> 24) == 127 || (h.src == 0 && !bcast)) {
    us_count(s, US_CNT_IPV4_DROP_MARTIAN);
    return;
  }
  if (ipv4_is_fragment(&h)) {
    uint8_t *whole;
    size_t whole_len;
    us_count(s, US_CNT_IPV4_FRAG_RX);
    if (ipv4_frag_input(s, &h, p, &whole, &whole_len)) {
      struct ipv4_hdr wh = h;
      wh.tot_len = (uint16_t)whole_len;
      wh.frag = 0;
      ipv4_dispatch(s, &wh, whole, whole_len, 0, bcast);
      us_free(whole);
    }
    return;
  }
  uint32_t csum_valid = meta && (meta->flags & US_FRAME_CSUM_VALID);
  ipv4_dispatch(s, &h, p, h.tot_len, csum_valid, bcast);
}

void ipv4_input(struct us_stack *s, const uint8_t *p, size_t len,
                const struct us_frame_meta *meta, int link_bcast) {
  (void)link_bcast;
  ipv4_receive(s, p, len, meta, 0);
}

/* ---- errors about what we sent ---- */

void ipv4_report_err(struct us_stack *s, const uint8_t *orig, size_t len, int err,
                     uint32_t mtu) {
  if (len < IPV4_HLEN || orig[0] >> 4 != 4) return;
  size_t hlen = (size_t)(orig[0] & 0xf) * 4;
  if (hlen < IPV4_HLEN || hlen + 8 > len) return;
  uint32_t src = us_rd32(orig + 12), dst = us_rd32(orig + 16);
  if (src != s->cfg.ip) return;
  /* A "fragmentation needed" lowers the path MTU only once the transport
   * found the quoted packet to be its own (tcp_err, udp_err), as Linux:
   * a blind ICMP must not shrink every later connection to dst. */
  if (us_rd16(orig + 6) & IPV4_OFF_MASK) return; /* no L4 header in a later fragment */
  switch (orig[9]) {
  case IPPROTO_UDP_:
    udp_err(s, src, dst, orig + hlen, len - hlen, err, mtu);
    break;
  case IPPROTO_TCP_:
    tcp_err(s, src, dst, orig + hlen, len - hlen, err, mtu);
    break;
  default:
    break;
  }
}

/* ---- path MTU ---- */

uint32_t ipv4_path_mtu(struct us_stack *s, uint32_t dst) {
  uint32_t mtu = s->dev->mtu;
  for (int i = 0; i < IPV4_PMTU_SLOTS; i++) {
    struct ipv4_pmtu *p = &s->pmtu[i];
    if (p->mtu && p->dst == dst && p->expires > s->now && p->mtu < mtu) mtu = p->mtu;
  }
  return mtu;
}

void ipv4_pmtu_update(struct us_stack *s, uint32_t dst, uint32_t mtu) {
  if (mtu < IPV4_MIN_PMTU) mtu = IPV4_MIN_PMTU;
  if (mtu >= s->dev->mtu) return;
  struct ipv4_pmtu *slot = &s->pmtu[0];
  for (int i = 0; i < IPV4_PMTU_SLOTS; i++) {
    struct ipv4_pmtu *p = &s->pmtu[i];
    if (p->mtu && p->dst == dst) { slot = p; break; }
    if (!p->mtu || p->expires < slot->expires) slot = p; /* free or oldest */
  }
  if (slot->mtu && slot->dst == dst && slot->expires > s->now && slot->mtu <= mtu) return;
  slot->dst = dst;
  slot->mtu = mtu;
  slot->expires = s->now + IPV4_PMTU_EXPIRE_US;
}

/* ---- our own address ---- */

struct ipv4_loop_pkt {
  struct ipv4_loop_pkt *next;
  uint32_t len;
  uint8_t data[];
};

static void ipv4_loop_run(struct us_stack *s, struct us_timer *t) {
  (void)t;
  struct ipv4_loop *l = &s->loop;
  struct ipv4_loop_pkt *p = l->head;
  l->head = l->tail = 0;
  l->count = 0;
  l->bytes = 0;
  /* Checksums were completed when queued; replies queue anew. */
  const struct us_frame_meta meta = {.flags = US_FRAME_CSUM_VALID};
  while (p) {
    struct ipv4_loop_pkt *n = p->next;
    ipv4_receive(s, p->data, p->len, &meta, 1);
    us_free(p);
    p = n;
  }
}

void ipv4_init(struct us_stack *s) {
  memset(&s->loop, 0, sizeof(s->loop));
  us_timer_init(&s->loop.timer, ipv4_loop_run);
}

void ipv4_free(struct us_stack *s) {
  struct ipv4_loop_pkt *p = s->loop.head;
  while (p) {
    struct ipv4_loop_pkt *n = p->next;
    us_free(p);
    p = n;
  }
  s->loop.head = s->loop.tail = 0;
  us_timer_cancel(s, &s->loop.timer);
}

static int ipv4_loop_queue(struct us_stack *s, struct us_pkt *pkt) {
  struct ipv4_loop *l = &s->loop;
  if (l->count >= IPV4_LOOP_MAX || l->bytes + pkt->len > IPV4_LOOP_BYTES) {
    us_count(s, US_CNT_IPV4_LOOP_DROP);
    return -ENOBUFS;
  }
  struct ipv4_loop_pkt *p = us_malloc(sizeof(*p) + pkt->len);
  if (!p) {
    us_count(s, US_CNT_IPV4_TX_NOMEM);
    return -ENOBUFS;
  }
  p->next = 0;
  p->len = pkt->len;
  memcpy(p->data, pkt->data, pkt->len);
  us_csum_finalize(p->data, p->len, &pkt->meta);
  if (l->tail) l->tail->next = p;
  else l->head = p;
  l->tail = p;
  l->count++;
  l->bytes += p->len;
  us_count(s, US_CNT_IPV4_LOOP);
  if (!us_timer_armed(&l->timer)) us_timer_arm(s, &l->timer, s->now);
  return 0;
}

/* ---- output ---- */

static int ipv4_route(struct us_stack *s, uint32_t dst, uint32_t *nexthop) {
  if (!dst) return -EDESTADDRREQ;
  if (ipv4_is_bcast(s, dst) || ipv4_is_mcast(dst) || ((dst ^ s->cfg.ip) & s->netmask) == 0) {
    *nexthop = dst; /* on the link */
    return 0;
  }
  if (!s->cfg.gw) return -ENETUNREACH;
  *nexthop = s->cfg.gw;
  return 0;
}

int ipv4_source_for(struct us_stack *s, uint32_t dst, uint32_t *src) {
  uint32_t nexthop;
  int rc = ipv4_route(s, dst, &nexthop);
  if (rc < 0) return rc;
  *src = s->cfg.ip;
  return 0;
}

static void ipv4_push_hdr(struct us_stack *s, struct us_pkt *pkt, uint32_t src, uint32_t dst,
                          uint8_t proto, uint16_t frag, uint16_t id, uint8_t tos) {
  struct ipv4_hdr h = {
      .hlen = IPV4_HLEN, .tos = tos, .tot_len = (uint16_t)(pkt->len + IPV4_HLEN), .id = id, .frag = frag,
      .ttl = IPV4_DEFAULT_TTL, .proto = proto, .src = src, .dst = dst,
  };
  ipv4_emit(us_pkt_push(pkt, IPV4_HLEN), &h);
  us_count(s, US_CNT_IPV4_TX);
}

static int ipv4_fragment(struct us_stack *s, struct us_pkt *pkt, uint32_t src, uint32_t dst,
                         uint8_t proto, uint32_t mtu, uint32_t nexthop) {
  /* Fragments cannot carry a partial checksum: finish it here. */
  us_csum_finalize(pkt->data, pkt->len, &pkt->meta);
  if (mtu < IPV4_MIN_MTU) { /* a device this small cannot carry fragments */
    us_count(s, US_CNT_IPV4_TX_MSGSIZE);
    return -EMSGSIZE;
  }
  uint32_t maxpay = (mtu - IPV4_HLEN) & ~7u;
  uint32_t cap = ETH_HLEN + IPV4_HLEN + maxpay;
  uint8_t *buf = us_malloc(cap);
  if (!buf) {
    us_count(s, US_CNT_IPV4_TX_NOMEM);
    return -ENOBUFS;
  }
  uint16_t id = s->ip_id++;
  int rc = 0;
  for (uint32_t off = 0; off < pkt->len && rc == 0; off += maxpay) {
    uint32_t n = pkt->len - off < maxpay ? pkt->len - off : maxpay;
    struct us_pkt f;
    us_pkt_init(&f, buf, cap, ETH_HLEN + IPV4_HLEN);
    memcpy(us_pkt_put(&f, n), pkt->data + off, n);
    uint16_t frag = (uint16_t)(off / 8) | (off + n < pkt->len ? IPV4_F_MF : 0);
    ipv4_push_hdr(s, &f, src, dst, proto, frag, id, 0);
    us_count(s, US_CNT_IPV4_FRAGS_SENT);
    rc = arp_output(s, &f, nexthop);
  }
  us_free(buf);
  return rc;
}

void ipv4_confirm(struct us_stack *s, uint32_t dst) {
  uint32_t nexthop;
  if (dst != s->cfg.ip && ipv4_route(s, dst, &nexthop) == 0) arp_confirm(s, nexthop);
}

int ipv4_output(struct us_stack *s, struct us_pkt *pkt, uint32_t src, uint32_t dst,
                uint8_t proto, int df) {
  return ipv4_output_tos(s, pkt, src, dst, proto, df, 0);
}

int ipv4_output_tos(struct us_stack *s, struct us_pkt *pkt, uint32_t src, uint32_t dst,
                    uint8_t proto, int df, uint8_t tos) {
  uint32_t nexthop;
  int rc = ipv4_route(s, dst, &nexthop);
  if (rc < 0) {
    us_count(s, US_CNT_IPV4_TX_NOROUTE);
    return rc;
  }
  if (!src) src = s->cfg.ip;
  uint32_t total = pkt->len + IPV4_HLEN;
  if (total > IPV4_MAX_LEN) {
    us_count(s, US_CNT_IPV4_TX_MSGSIZE);
    return -EMSGSIZE;
  }
  uint32_t mtu = dst == s->cfg.ip ? IPV4_MAX_LEN : ipv4_path_mtu(s, dst);
  if (total > mtu && !pkt->meta.gso_size) {
    if (df) {
      us_count(s, US_CNT_IPV4_TX_MSGSIZE);
      return -EMSGSIZE;
    }
    return ipv4_fragment(s, pkt, src, dst, proto, mtu, nexthop);
  }
  ipv4_push_hdr(s, pkt, src, dst, proto, df ? IPV4_F_DF : 0, s->ip_id++, tos);
  if (dst == s->cfg.ip) return ipv4_loop_queue(s, pkt);
  return arp_output(s, pkt, nexthop);
}
