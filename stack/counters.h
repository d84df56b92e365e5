/* Stack counters, like `netstat -s`: every drop is counted by its reason.
 * One X-macro list; each module owns its own block of lines. */
#ifndef USTACK_COUNTERS_H
#define USTACK_COUNTERS_H

#define US_COUNTERS(X)                                             \
  /* eth */                                                        \
  X(ETH_RX, "eth frames received")                                 \
  X(ETH_TX, "eth frames sent")                                     \
  X(ETH_DROP_SHORT, "eth dropped: shorter than a header")          \
  X(ETH_DROP_NOT_US, "eth dropped: destination MAC not ours")      \
  X(ETH_DROP_PROTO, "eth dropped: unknown ethertype")              \
  /* arp: add below */                                             \
  /* ipv4: add below */                                            \
  /* icmp: add below */                                            \
  /* udp: add below */                                             \
  /* tcp: add below */                                             \
  /* dns: add below */

enum us_counter {
#define US_COUNTER_ENUM(name, desc) US_CNT_##name,
  US_COUNTERS(US_COUNTER_ENUM)
#undef US_COUNTER_ENUM
  US_CNT__MAX
};

#endif
