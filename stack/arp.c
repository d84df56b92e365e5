/* ARP: wire format and the neighbour cache (see arp.h for the states). */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "stack/byteorder.h"
#include "stack/eth.h"
#include "stack/stack.h"

int arp_parse(const uint8_t *p, size_t len, struct arp_pkt *a, enum us_counter *why) {
  if (len < ARP_LEN) {
    *why = US_CNT_ARP_DROP_SHORT;
    return -1;
  }
  /* htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4 */
  if (p[0] != 0 || p[1] != 1 || p[2] != 0x08 || p[3] != 0 || p[4] != 6 || p[5] != 4) {
    *why = US_CNT_ARP_DROP_FORMAT;
    return -1;
  }
  a->op = (uint16_t)(p[6] << 8 | p[7]);
  if (a->op != ARP_OP_REQUEST && a->op != ARP_OP_REPLY) {
    *why = US_CNT_ARP_DROP_OP;
    return -1;
  }
  memcpy(a->sha, p + 8, 6);
  a->spa = us_rd32(p + 14);
  memcpy(a->tha, p + 18, 6);
  a->tpa = us_rd32(p + 24);
  return 0;
}

void arp_emit(uint8_t *out, const struct arp_pkt *a) {
  static const uint8_t fixed[6] = {0, 1, 0x08, 0, 6, 4};
  memcpy(out, fixed, 6);
  out[6] = (uint8_t)(a->op >> 8);
  out[7] = (uint8_t)a->op;
  memcpy(out + 8, a->sha, 6);
  us_wr32(out + 14, a->spa);
  memcpy(out + 18, a->tha, 6);
  us_wr32(out + 24, a->tpa);
}

static void arp_send(struct us_stack *s, uint16_t op, const uint8_t *eth_dst,
                     const uint8_t *tha, uint32_t tpa) {
  uint8_t buf[ETH_HLEN + ARP_LEN];
  struct us_pkt pkt;
  struct arp_pkt a = {.op = op, .spa = s->cfg.ip, .tpa = tpa};
  memcpy(a.sha, s->mac, 6);
  memcpy(a.tha, tha, 6);
  us_pkt_init(&pkt, buf, sizeof(buf), ETH_HLEN);
  arp_emit(us_pkt_put(&pkt, ARP_LEN), &a);
  us_count(s, US_CNT_ARP_TX);
  us_count(s, op == ARP_OP_REQUEST ? US_CNT_ARP_REQ_SENT : US_CNT_ARP_REPLY_SENT);
  US_EVENT(s, us_ev_arp(s, US_EV_TX, op, a.spa, a.sha, a.tpa, a.tha));
  eth_output(s, &pkt, eth_dst, ETH_P_ARP);
}

static const uint8_t zero_mac[6];

static void arp_request(struct us_stack *s, struct arp_entry *e, int unicast) {
  arp_send(s, ARP_OP_REQUEST, unicast ? e->mac : eth_broadcast, zero_mac, e->ip);
}

void arp_announce(struct us_stack *s) {
  if (!s->cfg.ip) return;
  arp_send(s, ARP_OP_REQUEST, eth_broadcast, zero_mac, s->cfg.ip);
}

static void arp_announce_timer(struct us_stack *s, struct us_timer *t) {
  (void)t;
  if (!s->arp.conflict) arp_announce(s);
}

void arp_start(struct us_stack *s) {
  if (!s->cfg.ip) return;
  struct arp_pkt a = {.op = ARP_OP_REQUEST, .spa = 0, .tpa = s->cfg.ip};
  uint8_t buf[ETH_HLEN + ARP_LEN];
  struct us_pkt pkt;
  memcpy(a.sha, s->mac, 6);
  us_pkt_init(&pkt, buf, sizeof(buf), ETH_HLEN);
  arp_emit(us_pkt_put(&pkt, ARP_LEN), &a);
  us_count(s, US_CNT_ARP_TX);
  us_count(s, US_CNT_ARP_REQ_SENT);
  eth_output(s, &pkt, eth_broadcast, ETH_P_ARP);
  us_timer_arm(s, &s->arp.announce, s->now + ARP_ANNOUNCE_WAIT_US);
}

/* ---- the cache ---- */

static struct arp_entry *arp_find(struct us_stack *s, uint32_t ip) {
  struct arp_state *a = &s->arp;
  struct arp_entry *h = &a->tab[a->hint];
  if (h->state != ARP_S_FREE && h->ip == ip) return h;
  for (uint32_t i = 0; i < ARP_TABLE_SIZE; i++) {
    if (a->tab[i].state != ARP_S_FREE && a->tab[i].ip == ip) {
      a->hint = i;
      return &a->tab[i];
    }
  }
  return 0;
}

static void arp_queue_free(struct arp_qpkt *q) {
  while (q) {
    struct arp_qpkt *n = q->next;
    us_free(q);
    q = n;
  }
}

/* Unlink the waiting queue from e (so callbacks can't disturb a walk). */
static struct arp_qpkt *arp_queue_take(struct arp_entry *e) {
  struct arp_qpkt *q = e->q_head;
  e->q_head = e->q_tail = 0;
  e->q_len = e->q_bytes = 0;
  return q;
}

static void arp_entry_release(struct us_stack *s, struct arp_entry *e) {
  us_timer_cancel(s, &e->timer);
  arp_queue_free(arp_queue_take(e));
  e->state = ARP_S_FREE;
}

static void arp_timer(struct us_stack *s, struct us_timer *t);

static struct arp_entry *arp_alloc(struct us_stack *s, uint32_t ip) {
  struct arp_state *a = &s->arp;
  struct arp_entry *victim = 0;
  for (uint32_t i = 0; i < ARP_TABLE_SIZE; i++) {
    struct arp_entry *e = &a->tab[i];
    if (e->state == ARP_S_FREE) {
      victim = e;
      break;
    }
    /* Never evict an entry with packets waiting; else the least recently used. */
    if (e->state != ARP_S_INCOMPLETE && (!victim || e->used < victim->used)) victim = e;
  }
  if (!victim) return 0;
  if (victim->state != ARP_S_FREE) arp_entry_release(s, victim);
  memset(victim, 0, sizeof(*victim));
  us_timer_init(&victim->timer, arp_timer);
  victim->ip = ip;
  victim->used = s->now;
  a->hint = (uint32_t)(victim - a->tab);
  return victim;
}

static void arp_set_reachable(struct us_stack *s, struct arp_entry *e) {
  e->state = ARP_S_REACHABLE;
  e->confirmed = s->now;
  e->tries = 0;
  /* Linux picks each reachable time in [base/2, 3*base/2). */
  us_time_t reach = ARP_REACHABLE_US / 2 + us_rand64(s) % ARP_REACHABLE_US;
  us_timer_arm(s, &e->timer, s->now + reach);
}

static void arp_set_stale(struct us_stack *s, struct arp_entry *e) {
  e->state = ARP_S_STALE;
  e->tries = 0;
  us_timer_arm(s, &e->timer, s->now + ARP_GC_STALE_US);
}

static void arp_send_ip(struct us_stack *s, struct us_pkt *pkt, const uint8_t *mac) {
  eth_output(s, pkt, mac, ETH_P_IPV4);
}

static void arp_flush(struct us_stack *s, struct arp_entry *e) {
  uint8_t mac[6];
  memcpy(mac, e->mac, 6);
  struct arp_qpkt *q = arp_queue_take(e);
  while (q) {
    struct arp_qpkt *n = q->next;
    struct us_pkt pkt;
    us_pkt_init(&pkt, q->buf, ETH_HLEN + q->len, ETH_HLEN);
    pkt.len = q->len;
    pkt.meta = q->meta;
    arp_send_ip(s, &pkt, mac);
    us_free(q);
    q = n;
  }
}

/* Resolution failed: drop the entry, tell every waiting packet's sender. */
static void arp_fail(struct us_stack *s, struct arp_entry *e) {
  us_count(s, US_CNT_ARP_FAILED);
  struct arp_qpkt *q = arp_queue_take(e);
  arp_entry_release(s, e);
  while (q) {
    struct arp_qpkt *n = q->next;
    ipv4_report_err(s, q->buf + ETH_HLEN, q->len, EHOSTUNREACH, 0);
    us_free(q);
    q = n;
  }
}

static void arp_timer(struct us_stack *s, struct us_timer *t) {
  struct arp_entry *e = (struct arp_entry *)((char *)t - offsetof(struct arp_entry, timer));
  switch (e->state) {
  case ARP_S_INCOMPLETE:
  case ARP_S_PROBE:
    if (e->tries < ARP_TRIES) {
      e->tries++;
      arp_request(s, e, e->state == ARP_S_PROBE);
      us_timer_arm(s, &e->timer, s->now + ARP_RETRANS_US);
    } else if (e->state == ARP_S_INCOMPLETE) {
      arp_fail(s, e);
    } else {
      us_count(s, US_CNT_ARP_FAILED);
      arp_entry_release(s, e);
    }
    break;
  case ARP_S_REACHABLE:
    arp_set_stale(s, e);
    break;
  case ARP_S_STALE:
    if (s->now - e->used >= ARP_GC_STALE_US) arp_entry_release(s, e);
    else us_timer_arm(s, &e->timer, e->used + ARP_GC_STALE_US);
    break;
  case ARP_S_DELAY: /* no confirmation came: probe */
    e->state = ARP_S_PROBE;
    e->tries = 1;
    arp_request(s, e, 1);
    us_timer_arm(s, &e->timer, s->now + ARP_RETRANS_US);
    break;
  default:
    break;
  }
}

static int arp_enqueue(struct us_stack *s, struct arp_entry *e, const struct us_pkt *pkt) {
  if (pkt->len > ARP_QUEUE_BYTES) {
    us_count(s, US_CNT_ARP_QUEUE_DROP);
    return -ENOBUFS;
  }
  /* Full: drop the oldest, as Linux's neighbour queue does. */
  while (e->q_head && (e->q_len >= ARP_QUEUE_MAX || e->q_bytes + pkt->len > ARP_QUEUE_BYTES)) {
    struct arp_qpkt *old = e->q_head;
    e->q_head = old->next;
    if (!e->q_head) e->q_tail = 0;
    e->q_len--;
    e->q_bytes -= old->len;
    us_free(old);
    us_count(s, US_CNT_ARP_QUEUE_DROP);
  }
  struct arp_qpkt *q = us_malloc(sizeof(*q) + ETH_HLEN + pkt->len);
  if (!q) {
    us_count(s, US_CNT_ARP_NOMEM);
    return -ENOBUFS;
  }
  q->next = 0;
  q->meta = pkt->meta;
  q->len = pkt->len;
  memcpy(q->buf + ETH_HLEN, pkt->data, pkt->len);
  if (e->q_tail) e->q_tail->next = q;
  else e->q_head = q;
  e->q_tail = q;
  e->q_len++;
  e->q_bytes += pkt->len;
  return 0;
}

static void ipv4_mcast_mac(uint32_t ip, uint8_t mac[6]) {
  mac[0] = 0x01; mac[1] = 0x00; mac[2] = 0x5e;
  mac[3] = (uint8_t)((ip >> 16) & 0x7f); mac[4] = (uint8_t)(ip >> 8); mac[5] = (uint8_t)ip;
}

int arp_output(struct us_stack *s, struct us_pkt *pkt, uint32_t nexthop) {
  if (ipv4_is_bcast(s, nexthop)) {
    arp_send_ip(s, pkt, eth_broadcast);
    return 0;
  }
  if ((nexthop >> 28) == 0xe) {
    uint8_t mac[6];
    ipv4_mcast_mac(nexthop, mac);
    arp_send_ip(s, pkt, mac);
    return 0;
  }
  struct arp_entry *e = arp_find(s, nexthop);
  if (!e) {
    e = arp_alloc(s, nexthop);
    if (!e) {
      us_count(s, US_CNT_ARP_TABLE_FULL);
      return -ENOBUFS;
    }
    e->state = ARP_S_INCOMPLETE;
    e->tries = 1;
    arp_request(s, e, 0);
    us_timer_arm(s, &e->timer, s->now + ARP_RETRANS_US);
  }
  e->used = s->now;
  switch (e->state) {
  case ARP_S_INCOMPLETE:
    return arp_enqueue(s, e, pkt);
  case ARP_S_STALE:
    e->state = ARP_S_DELAY;
    us_timer_arm(s, &e->timer, s->now + ARP_DELAY_US);
    break;
  default:
    break;
  }
  arp_send_ip(s, pkt, e->mac);
  return 0;
}

void arp_confirm(struct us_stack *s, uint32_t ip) {
  struct arp_entry *e = arp_find(s, ip);
  if (!e || e->state == ARP_S_INCOMPLETE) return;
  /* Re-arming on every confirmation would churn the wheel; a REACHABLE entry
   * confirmed within the last second keeps its timer. */
  if (e->state == ARP_S_REACHABLE && s->now - e->confirmed < US_SEC(1)) return;
  arp_set_reachable(s, e);
}

/* We learned mac for e; confirmed: a reply to our own request. */
static void arp_update(struct us_stack *s, struct arp_entry *e, const uint8_t *mac,
                       int confirmed) {
  int was_incomplete = e->state == ARP_S_INCOMPLETE;
  int changed = memcmp(e->mac, mac, 6) != 0;
  memcpy(e->mac, mac, 6);
  if (confirmed || was_incomplete) arp_set_reachable(s, e);
  else if (changed) arp_set_stale(s, e);
  if (was_incomplete) {
    us_count(s, US_CNT_ARP_RESOLVED);
    arp_flush(s, e);
  }
}

void arp_input(struct us_stack *s, const uint8_t *p, size_t len) {
  struct arp_pkt a;
  enum us_counter why;
  us_count(s, US_CNT_ARP_RX);
  if (arp_parse(p, len, &a, &why) < 0) {
    us_count(s, why);
    return;
  }
  US_EVENT(s, us_ev_arp(s, US_EV_RX, a.op, a.spa, a.sha, a.tpa, a.tha));
  uint32_t me = s->cfg.ip;
  /* Our own request, reply or probe. Our MAC alone does not make it ours:
   * another stack on this interface may use the same MAC with its own
   * address, and must be answered like any host on the LAN. */
  if (memcmp(a.sha, s->mac, 6) == 0 && (a.spa == me || (a.spa == 0 && a.tpa == me))) {
    us_count(s, US_CNT_ARP_DROP_OWN);
    return;
  }
  if (eth_is_mcast(a.sha) || eth_is_zero(a.sha)) {
    us_count(s, US_CNT_ARP_DROP_BAD_SENDER);
    return;
  }
  if (me && a.spa == me) {
    /* Another host uses our address (answer to our announcement, or its own). */
    us_count(s, US_CNT_ARP_CONFLICT);
    s->arp.conflict = 1;
    memcpy(s->arp.conflict_mac, a.sha, 6);
    return;
  }
  int for_us = me && a.tpa == me;
  if (a.spa == 0) {
    /* RFC 5227 probe: answer if it asks for our address; learn nothing. */
    if (a.op == ARP_OP_REQUEST && for_us) arp_send(s, ARP_OP_REPLY, a.sha, a.sha, 0);
    else if (a.op == ARP_OP_REQUEST) us_count(s, US_CNT_ARP_NOT_FOR_US);
    return;
  }
  if (ipv4_is_bcast(s, a.spa) || (a.spa >> 28) == 0xe) {
    us_count(s, US_CNT_ARP_DROP_BAD_SENDER);
    return;
  }
  struct arp_entry *e = arp_find(s, a.spa);
  if (a.op == ARP_OP_REQUEST) {
    if (for_us) {
      /* RFC 826: the asker will talk to us; keep its address. */
      if (!e && (e = arp_alloc(s, a.spa)) != 0) {
        memcpy(e->mac, a.sha, 6);
        arp_set_stale(s, e);
      } else if (e) {
        arp_update(s, e, a.sha, 0);
      }
      arp_send(s, ARP_OP_REPLY, a.sha, a.sha, a.spa);
    } else {
      us_count(s, US_CNT_ARP_NOT_FOR_US);
      if (e) arp_update(s, e, a.sha, 0); /* merge: refresh what we have */
    }
    return;
  }
  /* Reply. Only ones for entries we hold count; others create nothing. */
  if (!e) {
    us_count(s, US_CNT_ARP_UNSOLICITED);
    return;
  }
  int solicited = for_us && (e->state == ARP_S_INCOMPLETE || e->state == ARP_S_DELAY ||
                             e->state == ARP_S_PROBE);
  arp_update(s, e, a.sha, solicited);
}

int arp_lookup(const struct us_stack *s, uint32_t ip, uint8_t mac[6]) {
  for (uint32_t i = 0; i < ARP_TABLE_SIZE; i++) {
    const struct arp_entry *e = &s->arp.tab[i];
    if (e->state != ARP_S_FREE && e->ip == ip) {
      if (mac) memcpy(mac, e->mac, 6);
      return e->state;
    }
  }
  return ARP_S_FREE;
}

void arp_init(struct us_stack *s) {
  memset(&s->arp, 0, sizeof(s->arp));
  us_timer_init(&s->arp.announce, arp_announce_timer);
  for (uint32_t i = 0; i < ARP_TABLE_SIZE; i++) us_timer_init(&s->arp.tab[i].timer, arp_timer);
}

void arp_free(struct us_stack *s) {
  us_timer_cancel(s, &s->arp.announce);
  for (uint32_t i = 0; i < ARP_TABLE_SIZE; i++)
    if (s->arp.tab[i].state != ARP_S_FREE) arp_entry_release(s, &s->arp.tab[i]);
}
