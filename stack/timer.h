/* Timers of the stack: one hashed timer wheel per stack, driven by
 * us_stack_advance(now). Any module embeds a struct us_timer in its state. */
#ifndef USTACK_TIMER_H
#define USTACK_TIMER_H

#include <stdint.h>

#include "stack/us_stack.h"

struct us_timer;
typedef void (*us_timer_fn)(struct us_stack *s, struct us_timer *t);

struct us_timer {
  struct us_timer *next, **pprev; /* wheel slot list; pprev == NULL: not armed */
  us_time_t expires;
  us_timer_fn fn;
};

static inline void us_timer_init(struct us_timer *t, us_timer_fn fn) {
  t->next = 0; t->pprev = 0; t->expires = 0; t->fn = fn;
}
static inline int us_timer_armed(const struct us_timer *t) { return t->pprev != 0; }

/* Arm (or re-arm) to fire at `when`. */
void us_timer_arm(struct us_stack *s, struct us_timer *t, us_time_t when);
void us_timer_cancel(struct us_stack *s, struct us_timer *t);

#endif
