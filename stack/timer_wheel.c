/* Hashed timer wheel with an overflow list; see timer_wheel.h. */
#include "stack/timer_wheel.h"

#include "stack/stack.h"

#define TW_MASK (TW_SLOTS - 1)

static inline uint64_t tw_tick(us_time_t t) { return t >> TW_TICK_SHIFT; }

void timer_wheel_init(struct us_timer_wheel *w, us_time_t now) {
  *w = (struct us_timer_wheel){0};
  w->cur_tick = w->swept_tick = tw_tick(now);
  w->overflow_min = US_TIME_NEVER;
}

static void tw_link(struct us_timer **head, struct us_timer *t) {
  t->next = *head;
  if (t->next) t->next->pprev = &t->next;
  *head = t;
  t->pprev = head;
}

/* The slot a list head belongs to, or -1 when pprev points into a timer or
 * into the overflow/pending heads. */
static long tw_slot_of(const struct us_timer_wheel *w, struct us_timer **pprev) {
  uintptr_t p = (uintptr_t)pprev, b = (uintptr_t)&w->slots[0];
  if (p < b || p >= (uintptr_t)&w->slots[TW_SLOTS]) return -1;
  return (long)((p - b) / sizeof(w->slots[0]));
}

static void tw_unlink(struct us_timer_wheel *w, struct us_timer *t) {
  struct us_timer **pprev = t->pprev;
  *pprev = t->next;
  if (t->next) t->next->pprev = pprev;
  long slot = tw_slot_of(w, pprev);
  if (slot >= 0 && !w->slots[slot]) w->bitmap[slot / 64] &= ~(1ull << (slot % 64));
  t->next = 0;
  t->pprev = 0;
}

static void tw_insert(struct us_timer_wheel *w, struct us_timer *t) {
  uint64_t tick = tw_tick(t->expires);
  if (tick < w->cur_tick) tick = w->cur_tick; /* already due: keep it in the current slot */
  if (tick - w->cur_tick < TW_SLOTS) {
    uint32_t slot = tick & TW_MASK;
    tw_link(&w->slots[slot], t);
    w->bitmap[slot / 64] |= 1ull << (slot % 64);
  } else {
    tw_link(&w->overflow, t);
    if (t->expires < w->overflow_min) w->overflow_min = t->expires;
  }
}

void us_timer_arm(struct us_stack *s, struct us_timer *t, us_time_t when) {
  struct us_timer_wheel *w = &s->timers;
  if (t->pprev) tw_unlink(w, t);
  else w->count++;
  t->expires = when;
  tw_insert(w, t);
}

void us_timer_cancel(struct us_stack *s, struct us_timer *t) {
  if (!t->pprev) return;
  tw_unlink(&s->timers, t);
  s->timers.count--;
}

/* Move expired timers of one slot to the pending list. */
static void tw_collect_slot(struct us_timer_wheel *w, uint32_t slot, us_time_t now) {
  struct us_timer *t = w->slots[slot];
  while (t) {
    struct us_timer *next = t->next;
    if (t->expires <= now) {
      tw_unlink(w, t);
      tw_link(&w->pending, t);
    }
    t = next;
  }
}

/* Bring overflow timers that are now within the span into the wheel. */
static void tw_sweep(struct us_timer_wheel *w, us_time_t now) {
  struct us_timer *t = w->overflow;
  w->overflow_min = US_TIME_NEVER;
  while (t) {
    struct us_timer *next = t->next;
    if (t->expires <= now) {
      tw_unlink(w, t);
      tw_link(&w->pending, t);
    } else if (tw_tick(t->expires) - w->cur_tick < TW_SLOTS) {
      tw_unlink(w, t);
      tw_insert(w, t);
    } else if (t->expires < w->overflow_min) {
      w->overflow_min = t->expires;
    }
    t = next;
  }
  w->swept_tick = w->cur_tick;
}

void timer_wheel_advance(struct us_stack *s, struct us_timer_wheel *w, us_time_t now) {
  uint64_t now_tick = tw_tick(now);
  if (now_tick < w->cur_tick) now_tick = w->cur_tick;
  uint64_t n = now_tick - w->cur_tick + 1;
  if (n > TW_SLOTS) n = TW_SLOTS;
  for (uint64_t i = 0; i < n; i++) {
    uint32_t slot = (w->cur_tick + i) & TW_MASK;
    if (w->bitmap[slot / 64] & (1ull << (slot % 64))) tw_collect_slot(w, slot, now);
  }
  w->cur_tick = now_tick;
  if (w->cur_tick - w->swept_tick >= TW_SLOTS / 2 || w->overflow_min <= now) tw_sweep(w, now);

  /* Fire in expiry order. A callback may cancel or re-arm any timer,
   * including pending ones, so the earliest is looked up afresh each time. */
  while (w->pending) {
    struct us_timer *first = w->pending;
    for (struct us_timer *t = first->next; t; t = t->next)
      if (t->expires < first->expires) first = t;
    tw_unlink(w, first);
    w->count--;
    first->fn(s, first);
  }
}

us_time_t timer_wheel_next(const struct us_timer_wheel *w) {
  us_time_t best = w->overflow ? w->overflow_min : US_TIME_NEVER;
  uint32_t start = w->cur_tick & TW_MASK;
  for (uint32_t k = 0; k <= TW_SLOTS / 64; k++) {
    uint32_t wi = ((start / 64) + k) % (TW_SLOTS / 64);
    uint64_t bits = w->bitmap[wi];
    if (k == 0) bits &= ~0ull << (start % 64);                      /* from start on */
    else if (k == TW_SLOTS / 64) bits &= (1ull << (start % 64)) - 1; /* wrapped: before start */
    if (!bits) continue;
    uint32_t slot = wi * 64 + (uint32_t)__builtin_ctzll(bits);
    for (const struct us_timer *t = w->slots[slot]; t; t = t->next)
      if (t->expires < best) best = t->expires;
    return best;
  }
  return best;
}
