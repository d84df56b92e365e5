/* The stack core: construction, the three drivers (frame, time, sockets go
 * through the protocol modules), counters. */
#include <string.h>

#include "stack/eth.h"
#include "stack/stack.h"
#include "stack/tcp.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

struct us_stack *us_stack_new(const struct us_stack_config *cfg, struct us_netdev *dev,
                              us_time_t now) {
  if (!cfg || !dev || cfg->prefix_len > 32) return 0;
  struct us_stack *s = us_calloc(1, sizeof(*s));
  if (!s) return 0;
  s->cfg = *cfg;
  s->dev = dev;
  memcpy(s->mac, dev->mac, 6);
  s->netmask = cfg->prefix_len ? ~0u << (32 - cfg->prefix_len) : 0;
  s->now = now;
  uint64_t seed = cfg->seed;
  s->rng = splitmix64(&seed);
  if (!s->rng) s->rng = 1;
  s->ip_id = (uint16_t)us_rand64(s);
  timer_wheel_init(&s->timers, now);
  arp_init(s);
  ipv4_init(s);
  ipv4_frag_init(s);
  icmp_init(s);
  udp_init(s);
  s->tcp = tcp_init(s);
  if (!cfg->no_garp) arp_start(s);
  return s;
}

void us_stack_free(struct us_stack *s) {
  if (!s) return;
  tcp_free(s);
  udp_free(s);
  ipv4_frag_free(s);
  ipv4_free(s);
  arp_free(s);
  us_free(s);
}

void us_stack_input(struct us_stack *s, const uint8_t *frame, size_t len,
                    const struct us_frame_meta *meta, us_time_t now) {
  if (now > s->now) s->now = now;
  eth_input(s, frame, len, meta);
}

void us_stack_advance(struct us_stack *s, us_time_t now) {
  if (now > s->now) s->now = now;
  timer_wheel_advance(s, &s->timers, s->now);
}

us_time_t us_stack_next_deadline(const struct us_stack *s) {
  return timer_wheel_next(&s->timers);
}

uint64_t us_stack_counter(const struct us_stack *s, enum us_counter c) {
  return (unsigned)c < US_CNT__MAX ? s->counters[c] : 0;
}

void us_stack_read_device(struct us_stack *s) {
  struct us_netdev_stats st;
  us_netdev_stats(s->dev, &st);
  s->counters[US_CNT_DEV_RX_DROP] = st.rx_dropped;
  s->counters[US_CNT_DEV_RX_TRUNC] = st.rx_truncated;
  s->counters[US_CNT_DEV_TX_DROP] = st.tx_dropped;
  s->counters[US_CNT_DEV_RX_OWN] = st.rx_own;
  s->counters[US_CNT_DEV_RX_LOCAL] = st.rx_local;
}

static const char *const counter_names[] = {
#define US_COUNTER_NAME(name, desc) #name,
    US_COUNTERS(US_COUNTER_NAME)
#undef US_COUNTER_NAME
};
static const char *const counter_descs[] = {
#define US_COUNTER_DESC(name, desc) desc,
    US_COUNTERS(US_COUNTER_DESC)
#undef US_COUNTER_DESC
};

const char *us_counter_name(enum us_counter c) {
  return (unsigned)c < US_CNT__MAX ? counter_names[c] : "?";
}

const char *us_counter_desc(enum us_counter c) {
  return (unsigned)c < US_CNT__MAX ? counter_descs[c] : "?";
}

int us_stack_ip_conflict(const struct us_stack *s, uint8_t mac[6]) {
  if (!s->arp.conflict) return 0;
  if (mac) memcpy(mac, s->arp.conflict_mac, 6);
  return 1;
}
