/* Deterministic pseudo-random numbers for the stack: xorshift64* seeded
 * (through splitmix64 in stack.c) from cfg.seed, so a test replays exactly. */
#include "stack/stack.h"

uint64_t us_rand64(struct us_stack *s) {
  uint64_t x = s->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  s->rng = x;
  return x * 0x2545F4914F6CDD1Dull;
}
