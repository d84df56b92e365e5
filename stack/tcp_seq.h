/* TCP sequence number arithmetic: 32-bit, modulo 2^32 (RFC 9293 3.4).
 * a < b means b lies in the half-space after a, so comparisons stay right
 * across the wrap at 2^32 as long as the two numbers are less than 2^31 apart. */
#ifndef USTACK_TCP_SEQ_H
#define USTACK_TCP_SEQ_H

#include <stdint.h>

static inline int seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline int seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline int seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
static inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }
/* lo <= x < hi, all modulo 2^32. */
static inline int seq_in(uint32_t x, uint32_t lo, uint32_t hi) {
  return x - lo < hi - lo;
}

#endif
