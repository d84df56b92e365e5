/* The stack's timer wheel (implements stack/timer.h).
 *
 * One hashed wheel of TW_SLOTS slots, TW_TICK_US microseconds each, covering
 * about one second ahead of the current tick. Timers further out wait in an
 * unsorted overflow list that is swept into the wheel every half turn, so a
 * TIME_WAIT of 60 s costs nothing per tick. A bitmap of occupied slots makes
 * the next deadline a scan of a few words, so a test loop that jumps from
 * event to event stays cheap. Timers fire when now >= expires, exactly: the
 * tick only decides where a timer is kept. */
#ifndef USTACK_TIMER_WHEEL_H
#define USTACK_TIMER_WHEEL_H

#include <stdint.h>

#include "stack/timer.h"

#define TW_TICK_SHIFT 10 /* 1024 us per tick */
#define TW_SLOTS 1024u   /* ~1.05 s span */

struct us_timer_wheel {
  struct us_timer *slots[TW_SLOTS];
  uint64_t bitmap[TW_SLOTS / 64];
  struct us_timer *overflow;     /* beyond the span */
  us_time_t overflow_min;        /* lower bound of overflow expiries */
  struct us_timer *pending;      /* expired, being fired */
  uint64_t cur_tick;             /* tick of the last advance */
  uint64_t swept_tick;           /* tick of the last overflow sweep */
  uint32_t count;                /* armed timers */
};

void timer_wheel_init(struct us_timer_wheel *w, us_time_t now);
/* Fire every timer with expires <= now. */
void timer_wheel_advance(struct us_stack *s, struct us_timer_wheel *w, us_time_t now);
/* Earliest expiry (a lower bound after cancellations; exact otherwise). */
us_time_t timer_wheel_next(const struct us_timer_wheel *w);

#endif
