// The timer wheel: exact expiry, order, cancel, re-arm, far timers, and a
// randomized comparison against a simple reference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "tests/unit/frames.h"

extern "C" {
#include "stack/stack.h"
#include "stack/timer.h"
}

using namespace ustest;

namespace {
struct Rec {
  us_timer t;
  int id;
  std::vector<std::pair<int, us_time_t>> *log;
};
void rec_fire(us_stack *s, us_timer *t) {
  Rec *r = reinterpret_cast<Rec *>(t);
  r->log->push_back({r->id, s->now});
}
}  // namespace

TEST(Timer, FiresExactlyAndInOrder) {
  OneStack os;
  std::vector<std::pair<int, us_time_t>> log;
  us_time_t t0 = os.now;
  Rec r[4];
  us_time_t at[4] = {t0 + 5000, t0 + 100, t0 + 100 + 1, t0 + US_SEC(90)};
  for (int i = 0; i < 4; i++) {
    r[i] = Rec{{}, i, &log};
    us_timer_init(&r[i].t, rec_fire);
    us_timer_arm(os.s, &r[i].t, at[i]);
  }
  EXPECT_EQ(t0 + 100, us_stack_next_deadline(os.s));
  os.advance_to(t0 + 99);
  EXPECT_TRUE(log.empty());
  os.advance_to(t0 + US_SEC(100));
  ASSERT_EQ(4u, log.size());
  EXPECT_EQ(1, log[0].first);
  EXPECT_EQ(t0 + 100, log[0].second);
  EXPECT_EQ(2, log[1].first);
  EXPECT_EQ(0, log[2].first);
  EXPECT_EQ(3, log[3].first);
  EXPECT_EQ(t0 + US_SEC(90), log[3].second);
  EXPECT_EQ(US_TIME_NEVER, us_stack_next_deadline(os.s));
}

TEST(Timer, CancelAndRearm) {
  OneStack os;
  std::vector<std::pair<int, us_time_t>> log;
  us_time_t t0 = os.now;
  Rec a{{}, 1, &log}, b{{}, 2, &log};
  us_timer_init(&a.t, rec_fire);
  us_timer_init(&b.t, rec_fire);
  us_timer_arm(os.s, &a.t, t0 + 1000);
  us_timer_arm(os.s, &b.t, t0 + US_SEC(100));
  EXPECT_TRUE(us_timer_armed(&a.t));
  us_timer_cancel(os.s, &a.t);
  EXPECT_FALSE(us_timer_armed(&a.t));
  us_timer_cancel(os.s, &a.t);  // idempotent
  us_timer_arm(os.s, &b.t, t0 + 2000);  // from overflow back into the wheel
  us_timer_arm(os.s, &a.t, t0 + 3000);
  us_timer_arm(os.s, &a.t, t0 + 1500);
  os.advance_to(t0 + US_SEC(200));
  ASSERT_EQ(2u, log.size());
  EXPECT_EQ(1, log[0].first);
  EXPECT_EQ(t0 + 1500, log[0].second);
  EXPECT_EQ(2, log[1].first);
  EXPECT_EQ(t0 + 2000, log[1].second);
}

TEST(Timer, CallbackMayRearmItselfAndOthers) {
  OneStack os;
  struct Periodic {
    us_timer t;
    int fired = 0;
    us_timer *victim = nullptr;
  } p;
  static Periodic *self;
  self = &p;
  us_timer victim;
  us_timer_init(&victim, [](us_stack *, us_timer *) { FAIL() << "cancelled timer fired"; });
  us_timer_init(&p.t, [](us_stack *s, us_timer *t) {
    self->fired++;
    if (self->victim) us_timer_cancel(s, self->victim);
    if (self->fired < 10) us_timer_arm(s, t, s->now + US_MS(300));
  });
  p.victim = &victim;
  us_time_t t0 = os.now;
  us_timer_arm(os.s, &p.t, t0 + US_MS(300));
  us_timer_arm(os.s, &victim, t0 + US_MS(300));  // same instant, may be pending
  os.advance_to(t0 + US_SEC(10));
  EXPECT_EQ(10, p.fired);
}

TEST(Timer, RandomAgainstReference) {
  OneStack os;
  constexpr int N = 300;
  struct T {
    us_timer t;
    int id;
  };
  static std::vector<std::pair<int, us_time_t>> fired;
  fired.clear();
  std::vector<T> ts(N);
  std::map<int, us_time_t> model;  // id -> expiry
  for (int i = 0; i < N; i++) {
    ts[i].id = i;
    us_timer_init(&ts[i].t, [](us_stack *s, us_timer *t) {
      fired.push_back({reinterpret_cast<T *>(t)->id, s->now});
    });
  }
  uint64_t x = 7;
  auto rnd = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  us_time_t now = os.now;
  for (int step = 0; step < 20000; step++) {
    int id = (int)(rnd() % N);
    switch (rnd() % 4) {
      case 0:
      case 1: {
        static const us_time_t spans[] = {50, 5000, US_MS(300), US_SEC(3), US_SEC(70)};
        us_time_t when = now + rnd() % spans[rnd() % 5];
        us_timer_arm(os.s, &ts[id].t, when);
        model[id] = when;
        break;
      }
      case 2:
        us_timer_cancel(os.s, &ts[id].t);
        model.erase(id);
        break;
      case 3: {
        us_time_t expect_next = US_TIME_NEVER;
        for (auto &m : model) expect_next = std::min(expect_next, m.second);
        ASSERT_LE(us_stack_next_deadline(os.s), expect_next);  // never late
        now += rnd() % US_MS(700);
        fired.clear();
        os.advance_to(now);
        std::vector<std::pair<int, us_time_t>> want;
        for (auto it = model.begin(); it != model.end();) {
          if (it->second <= now) {
            want.push_back(*it);
            it = model.erase(it);
          } else {
            ++it;
          }
        }
        auto by_id = [](auto &a, auto &b) { return a.first < b.first; };
        std::sort(want.begin(), want.end(), by_id);
        auto got = fired;
        for (size_t k = 1; k < got.size(); k++) ASSERT_LE(got[k - 1].second, got[k].second);
        std::sort(got.begin(), got.end(), by_id);
        ASSERT_EQ(want, got) << "step " << step;
        break;
      }
    }
  }
}
