/* ICMP: echo, errors in and out, Linux-like rate limiting. */
#include <errno.h>
#include <string.h>

#include "stack/byteorder.h"
#include "stack/eth.h"
#include "stack/stack.h"

#define ICMP_QUOTE_MAX (576 - IPV4_HLEN - ICMP_HLEN) /* RFC 1812: fit in 576 */

int icmp_parse(const uint8_t *p, size_t len, struct icmp_hdr *h, enum us_counter *why) {
  if (len < ICMP_HLEN) {
    *why = US_CNT_ICMP_DROP_SHORT;
    return -1;
  }
  if (us_csum_fold(us_csum_add(0, p, len)) != 0) {
    *why = US_CNT_ICMP_DROP_CSUM;
    return -1;
  }
  h->type = p[0];
  h->code = p[1];
  h->csum = us_rd16(p + 2);
  h->rest = us_rd32(p + 4);
  return 0;
}

void icmp_init(struct us_stack *s) {
  memset(&s->icmp, 0, sizeof(s->icmp));
  s->icmp.gtokens = ICMP_RL_GLOBAL_BURST;
  s->icmp.glast = s->now;
}

void us_icmp_set_echo_cb(struct us_stack *s, icmp_echo_cb cb, void *arg) {
  s->icmp.on_echo_reply = cb;
  s->icmp.echo_arg = arg;
}

/* Send type/code/rest + data to dst (ICMP header built here). */
static int icmp_send(struct us_stack *s, uint32_t dst, uint8_t type, uint8_t code, uint32_t rest,
                     const uint8_t *data, size_t len) {
  uint8_t small[US_PKT_HEADROOM + ICMP_HLEN + 600];
  size_t cap = US_PKT_HEADROOM + ICMP_HLEN + len;
  uint8_t *buf = cap <= sizeof(small) ? small : us_malloc(cap);
  if (!buf) return -ENOBUFS;
  struct us_pkt pkt;
  us_pkt_init(&pkt, buf, (uint32_t)cap, US_PKT_HEADROOM);
  uint8_t *h = us_pkt_put(&pkt, (uint32_t)(ICMP_HLEN + len));
  h[0] = type;
  h[1] = code;
  us_wr16(h + 2, 0);
  us_wr32(h + 4, rest);
  if (len) memcpy(h + ICMP_HLEN, data, len);
  us_wr16(h + 2, us_csum_fold(us_csum_add(0, h, ICMP_HLEN + len)));
  us_count(s, US_CNT_ICMP_TX);
  int rc = ipv4_output(s, &pkt, s->cfg.ip, dst, IPPROTO_ICMP_, 0);
  if (buf != small) us_free(buf);
  return rc;
}

int us_icmp_echo(struct us_stack *s, uint32_t dst, uint16_t id, uint16_t seq, const void *data,
                 size_t len) {
  if (len > IPV4_MAX_LEN - IPV4_HLEN - ICMP_HLEN) return -EMSGSIZE;
  return icmp_send(s, dst, ICMP_ECHO, 0, (uint32_t)id << 16 | seq, data, len);
}

/* Token buckets as Linux keeps them: per destination (inet_peer) one token
 * per second up to 6, and a host-wide 1000/s with a burst of 50. */
static int icmp_rate_allow(struct us_stack *s, uint32_t dst) {
  struct icmp_state *ic = &s->icmp;
  us_time_t now = s->now;
  uint64_t add = (now - ic->glast) * ICMP_RL_GLOBAL_PER_SEC / US_SEC(1);
  if (add) {
    uint64_t t = ic->gtokens + add;
    ic->gtokens = t > ICMP_RL_GLOBAL_BURST ? ICMP_RL_GLOBAL_BURST : (uint32_t)t;
    ic->glast = now;
  }
  int slot = -1, oldest = 0;
  for (int i = 0; i < ICMP_RL_PEERS; i++) {
    if (ic->peer[i].ip == dst && ic->peer[i].last) { slot = i; break; }
    if (ic->peer[i].last < ic->peer[oldest].last) oldest = i;
  }
  if (slot < 0) {
    slot = oldest;
    ic->peer[slot].ip = dst;
    ic->peer[slot].tokens = ICMP_RL_PEER_BURST;
    ic->peer[slot].last = now ? now : 1;
  }
  uint64_t padd = (now - ic->peer[slot].last) / ICMP_RL_PEER_US;
  if (padd) {
    uint64_t t = ic->peer[slot].tokens + padd;
    ic->peer[slot].tokens = t > ICMP_RL_PEER_BURST ? ICMP_RL_PEER_BURST : (uint32_t)t;
    ic->peer[slot].last += padd * ICMP_RL_PEER_US;
  }
  if (!ic->gtokens || !ic->peer[slot].tokens) return 0;
  ic->gtokens--;
  ic->peer[slot].tokens--;
  return 1;
}

static int icmp_is_error_type(uint8_t t) {
  return t == ICMP_DEST_UNREACH || t == 4 /* source quench */ || t == 5 /* redirect */ ||
         t == ICMP_TIME_EXCEEDED || t == ICMP_PARAMPROB;
}

void icmp_send_error(struct us_stack *s, uint8_t type, uint8_t code, uint32_t info,
                     const uint8_t *ip_pkt, size_t ip_len) {
  /* RFC 1122 3.2.2: never about an error, a later fragment, a broadcast or
   * multicast, or a source that does not name one host. */
  if (ip_len < IPV4_HLEN) return;
  size_t hlen = (size_t)(ip_pkt[0] & 0xf) * 4;
  if (hlen < IPV4_HLEN || hlen > ip_len) return;
  uint32_t src = us_rd32(ip_pkt + 12), dst = us_rd32(ip_pkt + 16);
  if (us_rd16(ip_pkt + 6) & IPV4_OFF_MASK) return;
  if (!src || ipv4_is_bcast(s, src) || (src >> 28) == 0xe) return;
  if (ipv4_is_bcast(s, dst) || (dst >> 28) == 0xe) return;
  if (ip_pkt[9] == IPPROTO_ICMP_ && (ip_len < hlen + 1 || icmp_is_error_type(ip_pkt[hlen])))
    return;
  if (!icmp_rate_allow(s, src)) {
    us_count(s, US_CNT_ICMP_RATELIMIT);
    return;
  }
  uint32_t rest = type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED ? (info & 0xffff) : 0;
  size_t n = ip_len < ICMP_QUOTE_MAX ? ip_len : ICMP_QUOTE_MAX;
  us_count(s, US_CNT_ICMP_ERR_TX);
  icmp_send(s, src, type, code, rest, ip_pkt, n);
}

/* Linux's icmp_err_convert for DEST_UNREACH codes 0..15. */
static int icmp_unreach_errno(uint8_t code) {
  static const int map[16] = {ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT, ECONNREFUSED,
                              EMSGSIZE,    EOPNOTSUPP,   ENETUNREACH, EHOSTDOWN,
                              ENONET,      ENETUNREACH,  EHOSTUNREACH, ENETUNREACH,
                              EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH};
  return code < 16 ? map[code] : EHOSTUNREACH;
}

static void icmp_err_input(struct us_stack *s, const struct icmp_hdr *h, const uint8_t *q,
                           size_t qlen) {
  /* The quote must hold our IP header and 8 bytes of what followed. */
  if (qlen < IPV4_HLEN + 8 || q[0] >> 4 != 4) goto bad;
  size_t hlen = (size_t)(q[0] & 0xf) * 4;
  if (hlen < IPV4_HLEN || hlen + 8 > qlen || us_rd32(q + 12) != s->cfg.ip) goto bad;
  int err;
  uint32_t mtu = 0;
  if (h->type == ICMP_DEST_UNREACH) {
    err = icmp_unreach_errno(h->code);
    if (h->code == ICMP_FRAG_NEEDED) {
      mtu = h->rest & 0xffff;
      if (mtu < IPV4_MIN_MTU) goto bad; /* no usable next-hop MTU (RFC 1191 plateaus not guessed) */
    }
  } else if (h->type == ICMP_TIME_EXCEEDED) {
    err = EHOSTUNREACH;
  } else {
    err = EPROTO;
  }
  us_count(s, US_CNT_ICMP_ERR_RX);
  ipv4_report_err(s, q, qlen, err, mtu);
  return;
bad:
  us_count(s, US_CNT_ICMP_DROP_INNER);
}

void icmp_input(struct us_stack *s, const struct ipv4_rx *ip, const uint8_t *p, size_t len) {
  struct icmp_hdr h;
  enum us_counter why;
  us_count(s, US_CNT_ICMP_RX);
  if (icmp_parse(p, len, &h, &why) < 0) {
    us_count(s, why);
    return;
  }
  switch (h.type) {
  case ICMP_ECHO:
    if (ip->bcast) { /* icmp_echo_ignore_broadcasts */
      us_count(s, US_CNT_ICMP_DROP_BCAST);
      return;
    }
    us_count(s, US_CNT_ICMP_ECHO_RX);
    icmp_send(s, ip->src, ICMP_ECHOREPLY, 0, h.rest, p + ICMP_HLEN, len - ICMP_HLEN);
    break;
  case ICMP_ECHOREPLY:
    us_count(s, US_CNT_ICMP_ECHO_REPLY_RX);
    if (s->icmp.on_echo_reply)
      s->icmp.on_echo_reply(s->icmp.echo_arg, ip->src, (uint16_t)(h.rest >> 16),
                            (uint16_t)h.rest, p + ICMP_HLEN, len - ICMP_HLEN);
    break;
  case ICMP_DEST_UNREACH:
  case ICMP_TIME_EXCEEDED:
  case ICMP_PARAMPROB:
    icmp_err_input(s, &h, p + ICMP_HLEN, len - ICMP_HLEN);
    break;
  default:
    us_count(s, US_CNT_ICMP_DROP_TYPE);
  }
}
