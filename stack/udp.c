/* UDP: header format, demultiplexing, sockets. */
#include <errno.h>
#include <string.h>

#include "stack/byteorder.h"
#include "stack/eth.h"
#include "stack/ipv4.h"
#include "stack/stack.h"
#include "stack/udp.h"

struct udp_sock {
  struct udp_sock *next;
  struct us_stack *s;
  const struct udp_sock_ops *ops;
  void *user;
  uint32_t lip, rip;
  uint16_t lport, rport;
  uint8_t bound, connected;
};

int udp_parse(const uint8_t *p, size_t len, struct udp_hdr *h, enum us_counter *why) {
  if (len < UDP_HLEN) {
    *why = US_CNT_UDP_DROP_SHORT;
    return -1;
  }
  h->sport = us_rd16(p);
  h->dport = us_rd16(p + 2);
  h->len = us_rd16(p + 4);
  h->csum = us_rd16(p + 6);
  if (h->len < UDP_HLEN || h->len > len) {
    *why = US_CNT_UDP_DROP_LEN;
    return -1;
  }
  return 0;
}

void udp_emit(uint8_t *out, const struct udp_hdr *h) {
  us_wr16(out, h->sport);
  us_wr16(out + 2, h->dport);
  us_wr16(out + 4, h->len);
  us_wr16(out + 6, h->csum);
}

static struct udp_sock **udp_bucket(struct us_stack *s, uint16_t port) {
  return &s->udp.bucket[port % UDP_HASH];
}

void udp_init(struct us_stack *s) { memset(&s->udp, 0, sizeof(s->udp)); }

void udp_free(struct us_stack *s) {
  for (int i = 0; i < UDP_HASH; i++) {
    while (s->udp.bucket[i]) {
      struct udp_sock *u = s->udp.bucket[i];
      s->udp.bucket[i] = u->next;
      us_free(u);
    }
  }
}

/* Best socket for a datagram to (lip, lport) from (rip, rport): connected
 * beats bound-to-address beats wildcard. */
static struct udp_sock *udp_lookup(struct us_stack *s, uint32_t lip, uint16_t lport,
                                   uint32_t rip, uint16_t rport) {
  struct udp_sock *best = 0;
  int best_score = -1;
  for (struct udp_sock *u = *udp_bucket(s, lport); u; u = u->next) {
    if (u->lport != lport) continue;
    if (u->lip && u->lip != lip) continue;
    if (u->connected && (u->rip != rip || u->rport != rport)) continue;
    int score = (u->lip ? 1 : 0) + (u->connected ? 2 : 0);
    if (score > best_score) {
      best = u;
      best_score = score;
    }
  }
  return best;
}

void udp_input(struct us_stack *s, const struct ipv4_rx *ip, const uint8_t *p, size_t len) {
  struct udp_hdr h;
  enum us_counter why;
  us_count(s, US_CNT_UDP_RX);
  if (udp_parse(p, len, &h, &why) < 0) {
    us_count(s, why);
    return;
  }
  /* Checksum 0: the sender did not compute one (allowed over IPv4). */
  if (h.csum && !ip->csum_valid &&
      us_csum_fold(us_csum_add(us_csum_pseudo(ip->src, ip->dst, IPPROTO_UDP_, h.len), p,
                               h.len)) != 0) {
    us_count(s, US_CNT_UDP_DROP_CSUM);
    return;
  }
  struct udp_sock *u = udp_lookup(s, ip->dst, h.dport, ip->src, h.sport);
  if (!u) {
    us_count(s, US_CNT_UDP_NO_PORT);
    if (!ip->bcast && ip->pkt)
      icmp_send_error(s, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, ip->pkt, ip->pkt_len);
    return;
  }
  u->ops->on_datagram(u->user, u, ip->src, h.sport, p + UDP_HLEN, h.len - UDP_HLEN);
}

void udp_err(struct us_stack *s, uint32_t src, uint32_t dst, const uint8_t *hdr, size_t len,
             int err, uint32_t mtu) {
  if (len < UDP_HLEN) return;
  uint16_t sport = us_rd16(hdr), dport = us_rd16(hdr + 2);
  struct udp_sock *u = udp_lookup(s, src, sport, dst, dport);
  if (!u) return;
  if (err == EMSGSIZE && mtu) ipv4_pmtu_update(s, dst, mtu); /* a socket of ours sent it */
  if (!u->ops->on_error) return;
  us_count(s, US_CNT_UDP_ERR_RX);
  u->ops->on_error(u->user, u, err, dst, dport);
}

/* ---- sockets ---- */

struct udp_sock *us_udp_open(struct us_stack *s, const struct udp_sock_ops *ops, void *user) {
  struct udp_sock *u = us_calloc(1, sizeof(*u));
  if (!u) return 0;
  u->s = s;
  u->ops = ops;
  u->user = user;
  return u;
}

static int udp_port_taken(struct us_stack *s, uint32_t ip, uint16_t port) {
  for (struct udp_sock *u = *udp_bucket(s, port); u; u = u->next)
    if (u->lport == port && (!u->lip || !ip || u->lip == ip)) return 1;
  return 0;
}

static int udp_pick_port(struct us_stack *s, uint32_t ip, uint16_t *port) {
  const uint32_t range = UDP_EPHEMERAL_HI - UDP_EPHEMERAL_LO + 1;
  uint32_t start = (uint32_t)(us_rand64(s) % range);
  for (uint32_t i = 0; i < range; i++) {
    uint16_t p = (uint16_t)(UDP_EPHEMERAL_LO + (start + i) % range);
    if (!udp_port_taken(s, ip, p)) {
      *port = p;
      return 0;
    }
  }
  return -EADDRINUSE;
}

int us_udp_bind(struct udp_sock *u, uint32_t ip, uint16_t port) {
  struct us_stack *s = u->s;
  if (u->bound) return -EINVAL;
  if (ip && ip != s->cfg.ip) return -EADDRNOTAVAIL;
  if (!port) {
    int rc = udp_pick_port(s, ip, &port);
    if (rc < 0) return rc;
  } else if (udp_port_taken(s, ip, port)) {
    return -EADDRINUSE;
  }
  u->lip = ip;
  u->lport = port;
  u->bound = 1;
  struct udp_sock **b = udp_bucket(s, port);
  u->next = *b;
  *b = u;
  s->udp.count++;
  return 0;
}

int us_udp_connect(struct udp_sock *u, uint32_t ip, uint16_t port) {
  if (!ip) { /* AF_UNSPEC: dissolve the association */
    u->connected = 0;
    u->rip = 0;
    u->rport = 0;
    return 0;
  }
  if (!port) return -EINVAL;
  uint32_t src; /* Linux: a connect with no route fails at once */
  int rc = ipv4_source_for(u->s, ip, &src);
  if (rc < 0) return rc;
  if (!u->bound) {
    rc = us_udp_bind(u, 0, 0);
    if (rc < 0) return rc;
  }
  u->rip = ip;
  u->rport = port;
  u->connected = 1;
  return 0;
}

ssize_t us_udp_sendto(struct udp_sock *u, uint32_t ip, uint16_t port, const void *data,
                      size_t len) {
  struct us_stack *s = u->s;
  if (!ip) {
    if (!u->connected) return -EDESTADDRREQ;
    ip = u->rip;
    port = u->rport;
  }
  if (!port) return -EINVAL;
  if (len > IPV4_MAX_LEN - IPV4_HLEN - UDP_HLEN) return -EMSGSIZE;
  if (!u->bound) {
    int rc = us_udp_bind(u, 0, 0);
    if (rc < 0) return rc;
  }
  uint8_t small[US_PKT_HEADROOM + UDP_HLEN + 1500];
  size_t cap = US_PKT_HEADROOM + UDP_HLEN + len;
  uint8_t *buf = cap <= sizeof(small) ? small : us_malloc(cap);
  if (!buf) return -ENOBUFS;
  struct us_pkt pkt;
  us_pkt_init(&pkt, buf, (uint32_t)cap, US_PKT_HEADROOM);
  uint8_t *h = us_pkt_put(&pkt, (uint32_t)(UDP_HLEN + len));
  struct udp_hdr uh = {.sport = u->lport, .dport = port, .len = (uint16_t)(UDP_HLEN + len)};
  udp_emit(h, &uh);
  if (len) memcpy(h + UDP_HLEN, data, len);
  uint32_t src = u->lip ? u->lip : s->cfg.ip;
  us_l4_csum(s, &pkt, src, ip, IPPROTO_UDP_, 6);
  int rc = ipv4_output(s, &pkt, src, ip, IPPROTO_UDP_, 0);
  if (buf != small) us_free(buf);
  if (rc < 0) return rc;
  us_count(s, US_CNT_UDP_TX);
  return (ssize_t)len;
}

void us_udp_local(const struct udp_sock *u, uint32_t *ip, uint16_t *port) {
  /* Connected without a bound address: the source routing chose, as Linux
   * reports it ("what is my address" code connects to a far host and asks);
   * back to any once the association is dissolved. */
  uint32_t src = u->lip;
  if (!src && u->connected && ipv4_source_for(u->s, u->rip, &src) < 0) src = 0;
  if (ip) *ip = src;
  if (port) *port = u->lport;
}

void us_udp_close(struct udp_sock *u) {
  if (!u) return;
  if (u->bound) {
    struct udp_sock **pp = udp_bucket(u->s, u->lport);
    while (*pp && *pp != u) pp = &(*pp)->next;
    if (*pp) *pp = u->next;
    u->s->udp.count--;
  }
  us_free(u);
}
