/* Initial sequence numbers (RFC 6528) and the keyed hash behind them, also
 * used for SYN cookies and ephemeral port choice. */
#ifndef USTACK_TCP_ISN_H
#define USTACK_TCP_ISN_H

#include <stdint.h>

#include "stack/us_stack.h"

struct tcp_key { uint64_t k0, k1; };

/* SipHash-2-4 over four 64-bit words (written from the SipHash paper). */
uint64_t tcp_siphash4(const struct tcp_key *key, uint64_t a, uint64_t b, uint64_t c, uint64_t d);

/* ISN = M + F(localip, localport, remoteip, remoteport, key), M a 4-microsecond
 * clock (RFC 6528 3). */
uint32_t tcp_isn(const struct tcp_key *key, uint32_t lip, uint16_t lport, uint32_t rip,
                 uint16_t rport, us_time_t now);

/* Offset of our TCP timestamps (RFC 7323 5.4: not the bare clock), per pair
 * of hosts rather than per connection, as Linux since 4.13: a connection that
 * reuses a 4-tuple the peer still holds in TIME-WAIT then carries a newer
 * timestamp, which the peer accepts instead of answering with an old ACK. */
uint32_t tcp_ts_offset(const struct tcp_key *key, uint32_t lip, uint32_t rip);

#endif
