// Test harness: two stacks on one in-memory wire with a virtual clock.
//
//   A = 198.18.0.10/24 (MAC 02:00:00:00:00:0a), B = 198.18.0.1/24 (...:01).
//   Time advances event by event: the next frame arrival or the next stack
//   deadline, whichever comes first; nothing waits on the real clock.
//
//   ustest::TwoStack t;                       // or TwoStack t(opts)
//   t.tap = [&](int dir, const uint8_t *f, size_t n, const us_frame_meta *m, us_time_t at) {...};
//   t.drop = [&](int dir, uint64_t index, const uint8_t *f, size_t n) { return false; };
//   t.run_for(US_MS(10));
//   ASSERT_TRUE(t.run_until([&] { return done; }, t.now + US_SEC(5)));
//
// dir 0 is A -> B, 1 is B -> A; side 0 is A, 1 is B.
#ifndef USTACK_TESTS_TWOSTACK_H
#define USTACK_TESTS_TWOSTACK_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

extern "C" {
#include "netdev/netdev_memwire.h"
#include "stack/us_stack.h"
}

namespace ustest {

constexpr uint32_t ip4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

struct TwoStackOptions {
  uint64_t seed = 1;              // wire faults; stacks get seed+1 and seed+2
  uint16_t mtu = 1500;
  uint32_t features[2] = {0, 0};  // US_NETDEV_F_* per side
  us_memwire_faults faults[2] = {};  // per direction; default: 1 ms delay, no faults
  us_time_t start = US_SEC(1);
  bool garp = false;              // gratuitous ARP at start
  uint8_t prefix_len = 24;
  uint32_t gw[2] = {0, 0};
  uint32_t ip[2] = {ip4(198, 18, 0, 10), ip4(198, 18, 0, 1)};
  uint32_t msl_ms = 0;
  TwoStackOptions() {
    faults[0].delay = faults[1].delay = US_MS(1);
  }
};

class TwoStack {
 public:
  static constexpr uint32_t kIpA = ip4(198, 18, 0, 10);
  static constexpr uint32_t kIpB = ip4(198, 18, 0, 1);

  us_memwire *wire = nullptr;
  us_netdev *dev[2] = {nullptr, nullptr};
  us_stack *st[2] = {nullptr, nullptr};
  us_stack *&a = st[0];
  us_stack *&b = st[1];
  us_time_t now;
  TwoStackOptions opts;

  // Every frame as sent (before drop filter and faults).
  std::function<void(int dir, const uint8_t *f, size_t n, const us_frame_meta *m, us_time_t at)>
      tap;
  // Return true to drop this frame; index counts frames per direction from 0.
  std::function<bool(int dir, uint64_t index, const uint8_t *f, size_t n)> drop;
  // Every frame as delivered to a side (after faults), before the stack sees it.
  std::function<void(int side, const uint8_t *f, size_t n, const us_frame_meta *m)> rx_tap;
  // Rewrites a frame as it is delivered (a router marking CE, say), in place.
  std::function<void(int side, std::vector<uint8_t> &f)> rx_mangle;

  explicit TwoStack(const TwoStackOptions &o = TwoStackOptions()) : now(o.start), opts(o) {
    wire = us_memwire_new(o.seed);
    us_memwire_set_mtu(wire, o.mtu);
    us_memwire_set_now(wire, now);
    us_memwire_set_tap(wire, &TwoStack::tap_cb, this);
    for (int i = 0; i < 2; i++) {
      us_memwire_set_features(wire, i, o.features[i]);
      us_memwire_set_faults(wire, i, &o.faults[i]);
      us_memwire_set_filter(wire, i, &TwoStack::filter_cb, this);
      dev[i] = us_memwire_end(wire, i);
    }
    for (int i = 0; i < 2; i++) st[i] = make_stack(i);
  }
  ~TwoStack() {
    for (int i = 0; i < 2; i++) us_stack_free(st[i]);
    us_memwire_free(wire);
  }
  TwoStack(const TwoStack &) = delete;
  TwoStack &operator=(const TwoStack &) = delete;

  // Replace one side's stack with a fresh one (a reboot: all state gone).
  void restart(int side) {
    us_stack_free(st[side]);
    st[side] = make_stack(side);
  }

  us_time_t next_event() const {
    us_time_t e = US_TIME_NEVER;
    for (int i = 0; i < 2; i++) {
      us_time_t d = us_stack_next_deadline(st[i]);
      us_time_t f = us_memwire_next_arrival(wire, i);
      if (d < e) e = d;
      if (f < e) e = f;
    }
    return e;
  }

  // Run every timer and deliver every frame due at time t (t >= now).
  void process_at(us_time_t t) {
    if (t < now) t = now;
    set_now(t);
    for (int guard = 0; guard < 1000000; guard++) {
      bool progress = false;
      for (int i = 0; i < 2; i++) {
        if (us_stack_next_deadline(st[i]) <= t) {
          us_stack_advance(st[i], t);
          progress = true;
        }
      }
      for (int i = 0; i < 2; i++) {
        while (us_memwire_next_arrival(wire, i) <= t) {
          RxCtx ctx{this, i};
          us_netdev_poll(dev[i], &TwoStack::rx_cb, &ctx, 64);
          progress = true;
        }
      }
      if (!progress) return;
    }
  }

  void run_until(us_time_t t) {
    for (;;) {
      us_time_t e = next_event();
      if (e > t) break;
      process_at(e);
    }
    if (t > now) set_now(t);
  }
  void run_for(us_time_t dt) { run_until(now + dt); }

  // Run until pred() holds (checked after every event) or time passes limit.
  bool run_until(const std::function<bool()> &pred, us_time_t limit) {
    if (pred()) return true;
    for (;;) {
      us_time_t e = next_event();
      if (e > limit) {
        if (limit > now) set_now(limit);
        return pred();
      }
      process_at(e);
      sync_clocks();
      if (pred()) return true;
    }
  }

  uint64_t counter(int side, us_counter c) const { return us_stack_counter(st[side], c); }
  const struct us_memwire_stats &wire_stats(int dir) const { return *us_memwire_stats(wire, dir); }

 private:
  struct RxCtx {
    TwoStack *h;
    int side;
  };

  us_stack *make_stack(int side) {
    us_stack_config cfg = {};
    cfg.ip = opts.ip[side];
    cfg.prefix_len = opts.prefix_len;
    cfg.gw = opts.gw[side];
    cfg.seed = opts.seed + 1 + (uint64_t)side;
    cfg.msl_ms = opts.msl_ms;
    cfg.no_garp = opts.garp ? 0 : 1;
    return us_stack_new(&cfg, dev[side], now);
  }

  // Both stacks learn the time before the test acts on them (a socket
  // call), as the host advances its stack before serving a program.
  void sync_clocks() {
    for (int i = 0; i < 2; i++) us_stack_advance(st[i], now);
  }

  void set_now(us_time_t t) {
    now = t;
    us_memwire_set_now(wire, t);
  }

  static void rx_cb(void *arg, const uint8_t *f, size_t n, const us_frame_meta *m) {
    auto *ctx = static_cast<RxCtx *>(arg);
    if (ctx->h->rx_tap) ctx->h->rx_tap(ctx->side, f, n, m);
    if (ctx->h->rx_mangle) {
      std::vector<uint8_t> copy(f, f + n);
      ctx->h->rx_mangle(ctx->side, copy);
      us_stack_input(ctx->h->st[ctx->side], copy.data(), copy.size(), m, ctx->h->now);
      return;
    }
    us_stack_input(ctx->h->st[ctx->side], f, n, m, ctx->h->now);
  }
  static void tap_cb(void *arg, int dir, const uint8_t *f, size_t n, const us_frame_meta *m,
                     us_time_t at) {
    auto *h = static_cast<TwoStack *>(arg);
    if (h->tap) h->tap(dir, f, n, m, at);
  }
  static int filter_cb(void *arg, int dir, uint64_t index, const uint8_t *f, size_t n,
                       const us_frame_meta *) {
    auto *h = static_cast<TwoStack *>(arg);
    return h->drop && h->drop(dir, index, f, n) ? 1 : 0;
  }
};

}  // namespace ustest

#endif
