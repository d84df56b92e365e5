/* xorshift64*: the deterministic generator of the stack (us_rand64) and of
 * the in-memory test wire's faults. */
#ifndef USTACK_RNG_H
#define USTACK_RNG_H

#include <stdint.h>

static inline uint64_t us_xorshift64s(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1Dull;
}

#endif
