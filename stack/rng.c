/* Deterministic pseudo-random numbers for the stack: xorshift64* seeded
 * (through splitmix64 in stack.c) from cfg.seed, so a test replays exactly. */
#include "common/rng.h"
#include "stack/stack.h"

uint64_t us_rand64(struct us_stack *s) { return us_xorshift64s(&s->rng); }
