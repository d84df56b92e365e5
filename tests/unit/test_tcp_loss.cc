// Reliability on the in-memory wire: 10 MB byte-exact transfers under loss,
// reordering and duplication (deterministic: seeded faults, virtual clock),
// fast retransmit and SACK recovery, and exact RTO backoff timing.
#include <algorithm>
#include <map>

#include "tests/unit/test_tcp_util.h"

using namespace tcpt;

namespace {

struct LossCase {
  double loss, reorder, dup;
  uint32_t features;
  const char *cc;
  bool plain = false;  // no SACK, timestamps or window scaling (NewReno recovery)
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
  if (lc.plain) {
    for (int i = 0; i < 2; i++) {
      us_tcp_sysctl(p.t.st[i], US_TCP_SYSCTL_SACK, 0);
      us_tcp_sysctl(p.t.st[i], US_TCP_SYSCTL_TIMESTAMPS, 0);
      us_tcp_sysctl(p.t.st[i], US_TCP_SYSCTL_WINDOW_SCALING, 0);
    }
  }
  p.connect();
  if (lc.plain) {
    us_tcp_info i;
    us_tcp_get_info(p.cli.s, &i);
    EXPECT_EQ(0, i.tcpi_options);
  }
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
TEST(TcpLoss, NoSackNoTimestamps5Percent) {
  LossCase lc{0.05, 0, 0, 0, nullptr};
  lc.plain = true;
  transfer(lc, 4 << 20, US_SEC(2000));
}
TEST(TcpLoss, NoSackReorderAndDup) {
  LossCase lc{0.01, 0.02, 0.02, 0, nullptr};
  lc.plain = true;
  transfer(lc, 4 << 20, US_SEC(2000));
}

namespace {

// Drop the data segments whose index (counting A->B data segments from 0)
// is in `which`, once each; run a 200 KB transfer; return the pair's stats.
struct DropRun {
  uint64_t rto, recoveries, retrans;
  std::vector<uint32_t> rtx_seqs;
  std::string trace;
};
DropRun drop_data(std::vector<int> which, bool sack) {
  Pair p;
  if (!sack)
    for (int i = 0; i < 2; i++) us_tcp_sysctl(p.t.st[i], US_TCP_SYSCTL_SACK, 0);
  p.connect();
  int idx = 0;
  std::vector<uint32_t> dropped;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (dir != 0 || !parse_frame(f, n, &s) || !s.len) return false;
    for (uint32_t d : dropped)
      if (d == s.seq) return false;  // retransmissions pass
    bool hit = std::find(which.begin(), which.end(), idx) != which.end();
    idx++;
    if (hit) dropped.push_back(s.seq);
    return hit;
  };
  Flow f(p.cli.s, p.srv.s, 200000, 21);
  EXPECT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(30)));
  EXPECT_FALSE(f.bad);
  DropRun r;
  r.rto = p.t.counter(0, US_CNT_TCP_RTO);
  r.recoveries = p.t.counter(0, US_CNT_TCP_RECOVERY);
  us_tcp_info i;
  us_tcp_get_info(p.cli.s, &i);
  r.retrans = i.tcpi_total_retrans;
  r.trace = p.trace();
  std::map<uint32_t, int> sent;
  for (auto &s : p.segs(0))
    if (s.len && ++sent[s.seq] == 2) r.rtx_seqs.push_back(s.seq);
  std::sort(dropped.begin(), dropped.end());
  std::sort(r.rtx_seqs.begin(), r.rtx_seqs.end());
  EXPECT_EQ(dropped, r.rtx_seqs) << p.trace();  // exactly the lost segments were resent
  return r;
}

}  // namespace

TEST(TcpLoss, FastRetransmitOneLoss) {
  DropRun r = drop_data({20}, true);
  EXPECT_EQ(0u, r.rto);
  EXPECT_EQ(1u, r.recoveries);
  EXPECT_EQ(1u, r.retrans) << r.trace;
}

TEST(TcpLoss, SackRecoversThreeHolesInOneEpisode) {
  DropRun r = drop_data({20, 24, 28}, true);
  EXPECT_EQ(0u, r.rto);
  EXPECT_EQ(1u, r.recoveries);
  EXPECT_EQ(3u, r.retrans);
}

TEST(TcpLoss, NewRenoRecoversThreeHolesByPartialAcks) {
  DropRun r = drop_data({20, 24, 28}, false);
  EXPECT_EQ(0u, r.rto);
  EXPECT_EQ(1u, r.recoveries);
  EXPECT_EQ(3u, r.retrans);
}

TEST(TcpLoss, TailLossProbeAvoidsTimeout) {
  // The last two segments of a burst are lost: no duplicate ACKs can follow.
  Pair p;
  p.connect();
  us_tcp_setopt(p.cli.s, US_TCP_OPT_NODELAY, 1);  // the short tail leaves with the burst
  int idx = 0;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (dir != 0 || !parse_frame(f, n, &s) || !s.len) return false;
    idx++;
    return idx == 5 || idx == 6;
  };
  std::vector<uint8_t> b(5 * 1448 + 1000);
  for (size_t i = 0; i < b.size(); i++) b[i] = pattern(i, 1);
  ASSERT_EQ((ssize_t)b.size(), us_tcp_send(p.cli.s, b.data(), b.size()));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == b.size(); }, p.t.now + US_SEC(5)));
  EXPECT_EQ(0u, p.t.counter(0, US_CNT_TCP_RTO));
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_TLP));
  EXPECT_LT(p.t.now - p.segs(0)[0].at, US_MS(100)) << p.trace();  // not a 200+ ms timeout
}

TEST(TcpLoss, CubicBacksOffToSeventyPercent) {
  Pair p;
  p.connect();
  int idx = 0;
  uint32_t cwnd_at_loss = 0;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (dir != 0 || !parse_frame(f, n, &s) || !s.len) return false;
    ++idx;
    // The first loss ends slow start; the second comes in congestion
    // avoidance, where cwnd barely moves in the RTT before it is detected.
    if (idx == 3000) {
      us_tcp_info i;
      us_tcp_get_info(p.cli.s, &i);
      cwnd_at_loss = i.tcpi_snd_cwnd;
    }
    return idx == 400 || idx == 3000;
  };
  Flow f(p.cli.s, p.srv.s, 8 << 20, 2);
  uint32_t ssthresh = 0;
  ASSERT_TRUE(p.t.run_until([&] {
    f.pump();
    us_tcp_info i;
    us_tcp_get_info(p.cli.s, &i);
    if (cwnd_at_loss && !ssthresh && i.tcpi_ca_state == 3) ssthresh = i.tcpi_snd_ssthresh;
    return f.done();
  }, p.t.now + US_SEC(30)));
  ASSERT_GT(cwnd_at_loss, 0u);
  ASSERT_GT(ssthresh, 0u);
  EXPECT_NEAR(cwnd_at_loss * 0.7, (double)ssthresh, cwnd_at_loss * 0.02 + 1);
  EXPECT_EQ(2u, p.t.counter(0, US_CNT_TCP_RECOVERY));
  EXPECT_STREQ("cubic", us_tcp_get_cc(p.cli.s));
}
