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
  /* dns: add below */                                             \
  X(DNS_QUERY_TX, "dns queries sent (retries included)")         \
  X(DNS_RETRY, "dns queries resent after a timeout or error")    \
  X(DNS_SEND_ERR, "dns queries the UDP layer refused to send")   \
  X(DNS_ANSWER_OK, "dns answers accepted")                       \
  X(DNS_BAD_SOURCE, "dns answers dropped: not from the server asked") \
  X(DNS_BAD_ID, "dns answers dropped: wrong query id")           \
  X(DNS_BAD_QUESTION, "dns answers dropped: not for the question asked") \
  X(DNS_BAD_NOT_RESPONSE, "dns answers dropped: not a response (QR=0, opcode)") \
  X(DNS_BAD_SHORT, "dns answers dropped: length past the packet") \
  X(DNS_BAD_POINTER, "dns answers dropped: compression pointer out of range") \
  X(DNS_BAD_LOOP, "dns answers dropped: compression loop or forward pointer") \
  X(DNS_BAD_LABEL, "dns answers dropped: bad label length or type") \
  X(DNS_BAD_NAME_LONG, "dns answers dropped: name over 255 bytes") \
  X(DNS_BAD_RDATA, "dns answers dropped: rdata inconsistent with type") \
  X(DNS_BAD_NAME_TEXT, "dns answers dropped: name not a host name") \
  X(DNS_LATE, "dns answers dropped: query already finished")     \
  X(DNS_TRUNCATED, "dns answers truncated (TC), used partially")  \
  X(DNS_CNAME_LOOP, "dns answers with a CNAME chain too long")   \
  X(DNS_ICMP_ERR, "dns queries answered by an ICMP error")       \
  X(DNS_NXDOMAIN, "dns answers: no such name")                   \
  X(DNS_SERVFAIL, "dns answers: server failure")                 \
  X(DNS_REFUSED, "dns answers: refused, formerr or notimp")      \
  X(DNS_TIMEOUT, "dns questions unanswered after all attempts")  \
  X(DNS_CACHE_HIT, "dns cache hits")                              \
  X(DNS_CACHE_MISS, "dns cache misses")                           \
  X(DNS_CACHE_EVICT, "dns cache entries evicted before expiry")  \
  X(DNS_NOMEM, "dns queries failed: out of memory")

enum us_counter {
#define US_COUNTER_ENUM(name, desc) US_CNT_##name,
  US_COUNTERS(US_COUNTER_ENUM)
#undef US_COUNTER_ENUM
  US_CNT__MAX
};

#endif
