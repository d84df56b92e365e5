// Where the lower layers meet TCP: ARP failure and ICMP errors reach tcp_err.
#include <gtest/gtest.h>

#include "tests/unit/frames.h"
#include "tests/unit/twostack.h"

extern "C" {
#include "stack/tcp_sock.h"
}

using namespace ustest;

namespace {
struct Ev {
  int err = 0;
  uint32_t events = 0;
  static void cb(void *u, us_tcp_sock *, uint32_t ev, int err) {
    auto *e = static_cast<Ev *>(u);
    e->events |= ev;
    if (ev & US_TCP_EV_ERROR) e->err = err;
  }
};
}  // namespace

TEST(LowerTcp, ArpFailureFailsConnectWithHostUnreachable) {
  TwoStack t;
  Ev ev;
  us_tcp_sock *s = us_tcp_socket(t.a, Ev::cb, &ev);
  ASSERT_NE(nullptr, s);
  us_time_t t0 = t.now;
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(s, ip4(198, 18, 0, 77), 80));
  ASSERT_TRUE(t.run_until([&] { return ev.err != 0; }, t0 + US_SEC(10)));
  EXPECT_EQ(EHOSTUNREACH, ev.err);
  EXPECT_EQ(t0 + US_SEC(3), t.now);  // three ARP requests, one second apart
  EXPECT_EQ(1u, t.counter(0, US_CNT_ARP_FAILED));
  us_tcp_close(s);
}

TEST(LowerTcp, IcmpUnreachableDuringConnectReachesTcp) {
  // A's gateway is B; A's SYN toward a far host is answered (as a router
  // would) with ICMP host unreachable quoting it.
  TwoStackOptions o;
  o.gw[0] = TwoStack::kIpB;
  TwoStack t(o);
  const uint32_t far = ip4(198, 19, 0, 2);
  Bytes syn;
  t.tap = [&](int dir, const uint8_t *f, size_t n, const us_frame_meta *, us_time_t) {
    if (dir == 0 && n >= 34 && get16(f + 12) == 0x0800 && f[23] == 6 && syn.empty())
      syn.assign(f + 14, f + n);
  };
  Ev ev;
  us_tcp_sock *s = us_tcp_socket(t.a, Ev::cb, &ev);
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(s, far, 80));
  ASSERT_TRUE(t.run_until([&] { return !syn.empty(); }, t.now + US_SEC(1)));
  Bytes fr = eth(t.dev[0]->mac, t.dev[1]->mac, 0x0800,
                 ipv4(TwoStack::kIpB, TwoStack::kIpA, 1, icmp(3, 1, 0, syn)));
  us_stack_input(t.a, fr.data(), fr.size(), nullptr, t.now);
  EXPECT_EQ(1u, t.counter(0, US_CNT_ICMP_ERR_RX));
  t.run_until([&] { return ev.err != 0; }, t.now + US_SEC(200));
  // Linux treats it as a soft error during SYN_SENT: retries continue and the
  // eventual failure names the ICMP cause rather than a bare timeout.
  EXPECT_EQ(EHOSTUNREACH, ev.err);
  us_tcp_close(s);
}
