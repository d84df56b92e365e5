/* Ethernet II framing. */
#include <string.h>

#include "stack/eth.h"
#include "stack/stack.h"

const uint8_t eth_broadcast[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int eth_parse(const uint8_t *p, size_t len, struct eth_hdr *h, enum us_counter *why) {
  if (len < ETH_HLEN) {
    *why = US_CNT_ETH_DROP_SHORT;
    return -1;
  }
  memcpy(h->dst, p, 6);
  memcpy(h->src, p + 6, 6);
  h->type = (uint16_t)(p[12] << 8 | p[13]);
  return 0;
}

void eth_emit(uint8_t *out, const struct eth_hdr *h) {
  memcpy(out, h->dst, 6);
  memcpy(out + 6, h->src, 6);
  out[12] = (uint8_t)(h->type >> 8);
  out[13] = (uint8_t)h->type;
}

void eth_input(struct us_stack *s, const uint8_t *frame, size_t len,
               const struct us_frame_meta *meta) {
  struct eth_hdr h;
  enum us_counter why;
  us_count(s, US_CNT_ETH_RX);
  if (eth_parse(frame, len, &h, &why) < 0) {
    us_count(s, why);
    return;
  }
  int bcast = memcmp(h.dst, eth_broadcast, 6) == 0;
  /* Multicast other than broadcast: we join no group. */
  if (!bcast && memcmp(h.dst, s->mac, 6) != 0) {
    us_count(s, US_CNT_ETH_DROP_NOT_US);
    return;
  }
  switch (h.type) {
  case ETH_P_IPV4:
    ipv4_input(s, frame + ETH_HLEN, len - ETH_HLEN, meta, bcast);
    break;
  case ETH_P_ARP:
    arp_input(s, frame + ETH_HLEN, len - ETH_HLEN);
    break;
  default:
    us_count(s, US_CNT_ETH_DROP_PROTO);
  }
}

int eth_output(struct us_stack *s, struct us_pkt *pkt, const uint8_t *dst, uint16_t type) {
  struct eth_hdr h;
  memcpy(h.dst, dst, 6);
  memcpy(h.src, s->mac, 6);
  h.type = type;
  eth_emit(us_pkt_push(pkt, ETH_HLEN), &h);
  us_count(s, US_CNT_ETH_TX);
  return us_netdev_xmit(s->dev, pkt->data, pkt->len, &pkt->meta);
}
