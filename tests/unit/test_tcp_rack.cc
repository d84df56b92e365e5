// Loss detection and response measured on the in-memory wire: how many
// retransmission timeouts a bulk transfer with GSO needs under random loss
// in both directions (RACK-TLP, RFC 8985, should leave only a few), and how
// much window reordering costs (spurious retransmissions undone, RFC 3522 /
// RFC 2883, and the reordering tolerance raised as Linux's tp->reordering).
// Seeded faults and a virtual clock: every number asserted here is exact.
#include "tests/unit/test_tcp_util.h"

extern "C" {
#include "stack/counters.h"
}

using namespace tcpt;

namespace {

struct BulkResult {
  bool ok;
  us_time_t elapsed;
  uint64_t rto, tlp, recoveries, lost_retrans, undo, dsack;
  uint32_t retrans, cwnd, ssthresh, reordering;
};

// A 10 MB one-way transfer, both ends with GSO and checksum offload (as
// the AF_PACKET device), the same faults in both directions.
BulkResult bulk(uint64_t seed, double loss, double reorder, us_time_t delay,
                uint32_t features = US_NETDEV_F_GSO_TCP4 | US_NETDEV_F_CSUM_OFFLOAD,
                uint64_t bytes = 10 << 20) {
  TwoStackOptions o;
  o.seed = seed;
  for (int d = 0; d < 2; d++) {
    o.faults[d].delay = delay;
    o.faults[d].loss = loss;
    o.faults[d].reorder = reorder;
    o.features[d] = features;
  }
  Pair p(o);
  p.logging = false;
  p.connect();
  Flow f(p.cli.s, p.srv.s, bytes, (uint32_t)seed);
  us_time_t start = p.t.now;
  BulkResult r{};
  r.ok = p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(600));
  EXPECT_FALSE(f.bad) << "first bad byte at " << f.bad_at;
  r.elapsed = p.t.now - start;
  us_tcp_info i;
  us_tcp_get_info(p.cli.s, &i);
  r.rto = p.t.counter(0, US_CNT_TCP_RTO);
  r.tlp = p.t.counter(0, US_CNT_TCP_TLP);
  r.recoveries = p.t.counter(0, US_CNT_TCP_RECOVERY);
  r.lost_retrans = p.t.counter(0, US_CNT_TCP_LOST_RETRANS);
  r.undo = p.t.counter(0, US_CNT_TCP_UNDO);
  r.dsack = p.t.counter(0, US_CNT_TCP_DSACK_RX);
  r.retrans = i.tcpi_total_retrans;
  r.cwnd = i.tcpi_snd_cwnd;
  r.ssthresh = i.tcpi_snd_ssthresh;
  r.reordering = i.tcpi_reordering;
  printf("  seed %llu: %.2f s virtual, %u retrans, %llu rto, %llu tlp, %llu recoveries, "
         "%llu lost rtx, %llu undo, %llu dsack, cwnd %u ssthresh %u reordering %u\n",
         (unsigned long long)seed, r.elapsed / 1e6, r.retrans, (unsigned long long)r.rto,
         (unsigned long long)r.tlp, (unsigned long long)r.recoveries,
         (unsigned long long)r.lost_retrans, (unsigned long long)r.undo,
         (unsigned long long)r.dsack, r.cwnd, r.ssthresh, r.reordering);
  return r;
}

}  // namespace

// 5% random loss each way (data and ACKs), GSO units lost whole as when a
// router drops a super-frame. Linux needs a handful of RTOs for 10 MB here.
TEST(TcpRack, FivePercentLossFewTimeouts) {
  uint64_t rto = 0;
  for (uint64_t seed = 1; seed <= 4; seed++) {
    BulkResult r = bulk(seed, 0.05, 0, US_MS(1));
    ASSERT_TRUE(r.ok);
    rto += r.rto;
  }
  printf("  total rto %llu\n", (unsigned long long)rto);
  // Was 1 when recovery sent a cwnd-sized burst at once. PRR (RFC 6937,
  // Linux's PRR-SSRB) sends one segment per delivered one when a whole GSO
  // unit is found lost with little left in flight; when that resend or its
  // ACK is lost too (5% each way) and nothing sent later can show it
  // (RACK), the RTO recovers, as on Linux (RFC 8985 7.2: no probe during
  // recovery).
  EXPECT_EQ(18u, rto);
}

// One segment outstanding and lost: its probe timeout (2*SRTT plus the
// delayed-ACK allowance) comes after the RTO, so the probe goes at the RTO's
// time instead (as Linux): the segment is resent as a tail loss probe, cwnd
// is not collapsed, and no timeout is counted.
TEST(TcpRack, LoneSegmentProbedAtRtoTime) {
  Pair p;
  p.connect();
  bool dropped = false;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (dir != 0 || !parse_frame(f, n, &s) || !s.len || dropped) return false;
    dropped = true;
    return true;
  };
  uint8_t b[100] = {1};
  ASSERT_EQ(100, us_tcp_send(p.cli.s, b, sizeof b));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == sizeof b; },
                            p.t.now + US_SEC(5)));
  EXPECT_EQ(0u, p.t.counter(0, US_CNT_TCP_RTO));
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_TLP));
  us_tcp_info i;
  us_tcp_get_info(p.cli.s, &i);
  EXPECT_EQ(10u, i.tcpi_snd_cwnd);
}

// After a timeout, go-back-N resends in sequence order; when one resend is
// lost and later resends come back SACKed, the hole is sent again at once
// (RACK with transmission order taken from sequence order), not after a
// second, doubled timeout or a second pass over everything.
TEST(TcpRack, LostResendAfterTimeoutRepairedBySack) {
  Pair p;
  p.connect();
  int idx = 0, after_rto = 0;
  std::vector<uint32_t> sent_after;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (dir != 0 || !parse_frame(f, n, &s) || !s.len) return false;
    if (idx++ < 60) return false;
    if (p.t.counter(0, US_CNT_TCP_RTO) == 0) return true;  // a blackout: timeout
    sent_after.push_back(s.seq);
    return after_rto++ == 1;  // the second resend after the timeout
  };
  Flow f(p.cli.s, p.srv.s, 400000, 5);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(30)));
  EXPECT_FALSE(f.bad);
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_RTO));
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_LOST_RETRANS));
  // The lost resend went again right after the resends that revealed it.
  ASSERT_GE(sent_after.size(), 4u);
  EXPECT_EQ(sent_after[1], sent_after[3]);
  us_tcp_info i;
  us_tcp_get_info(p.cli.s, &i);
  printf("  retrans %u\n", i.tcpi_total_retrans);
}

// Reordering only (5% of frames held back 1 ms, both ways), no loss: the
// fast retransmits it provokes are found spurious (the late original's
// ACK echoes a timestamp older than the resend; D-SACKs), their window
// cuts undone, and the duplicate threshold raised to the distance seen, so
// the transfer takes about as long as without reordering. Before: with GSO
// 200 ms (7 recoveries, cwnd 65 at the end), without 610 ms (66).
TEST(TcpRack, ReorderingCostsLittle) {
  BulkResult clean = bulk(3, 0, 0, US_MS(1));
  BulkResult r = bulk(3, 0, 0.05, US_MS(1));
  ASSERT_TRUE(clean.ok);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(0u, clean.recoveries);
  // RACK's reordering window (min_rtt/4, then widened by D-SACKs) takes
  // most of the 1 ms reordering for what it is: was 2 recoveries.
  EXPECT_EQ(1u, r.recoveries);
  EXPECT_EQ(1u, r.undo);  // every one
  EXPECT_GE(r.cwnd, clean.cwnd * 9 / 10);
  EXPECT_LE(r.elapsed, clean.elapsed * 5 / 4);
  EXPECT_GT(r.reordering, 3u);

  BulkResult clean1 = bulk(3, 0, 0, US_MS(1), 0);  // no GSO: one frame per segment
  BulkResult r1 = bulk(3, 0, 0.05, US_MS(1), 0);
  ASSERT_TRUE(clean1.ok);
  ASSERT_TRUE(r1.ok);
  EXPECT_EQ(1u, r1.recoveries);  // was 4 (3 undone) by DupThresh alone
  EXPECT_EQ(1u, r1.undo);
  EXPECT_LE(r1.elapsed, clean1.elapsed * 5);
}

// The probe timeout is 2*SRTT plus Linux's 2 ms margin (RFC 8985 7.2 has
// no floor): on a 0.4 ms path the tail of a burst is probed a few ms after
// the last ACK, not after a flat 10 ms (a hundred round trips idle).
TEST(TcpRack, ProbeTimeoutFollowsSrtt) {
  TwoStackOptions o;
  o.faults[0].delay = o.faults[1].delay = 200;  // us
  Pair p(o);
  p.connect();
  us_tcp_setopt(p.cli.s, US_TCP_OPT_NODELAY, 1);
  int idx = 0;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (dir != 0 || !parse_frame(f, n, &s) || !s.len) return false;
    idx++;
    return idx == 5 || idx == 6;  // the last two of the burst
  };
  std::vector<uint8_t> b(5 * 1448 + 1000);
  for (size_t i = 0; i < b.size(); i++) b[i] = pattern(i, 3);
  ASSERT_EQ((ssize_t)b.size(), us_tcp_send(p.cli.s, b.data(), b.size()));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == b.size(); }, p.t.now + US_SEC(5)));
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_TLP));
  // The probe is the seventh data segment; the last thing before it is the
  // peer's ACK of the first four.
  us_time_t probe = 0, last_ack = 0;
  int data = 0;
  for (auto &s : p.log) {
    if (s.dir == 1) last_ack = s.at;
    if (s.dir == 0 && s.len && ++data == 7) { probe = s.at; break; }
  }
  ASSERT_NE(0, probe);
  us_tcp_info i;
  us_tcp_get_info(p.cli.s, &i);
  printf("  probe %lld us after the last ACK; srtt %u us\n", (long long)(probe - last_ack), i.tcpi_rtt);
  EXPECT_LT(probe - last_ack, US_MS(10));
  EXPECT_GE(probe - last_ack, 2 * (us_time_t)i.tcpi_rtt);
}

// Every ACK of a flight and of its tail loss probe is lost: the RTO fires
// although the receiver has everything. The resend comes back as a D-SACK
// (RFC 2883), which shows the timeout spurious: cwnd and ssthresh return
// to what they were before it (RFC 3708 detection, Linux's
// tcp_try_undo_loss response).
TEST(TcpRack, SpuriousTimeoutUndoneByDsack) {
  Pair p;
  p.connect();
  Flow f(p.cli.s, p.srv.s, 300000, 9);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.recvd >= 150000; }, p.t.now + US_SEC(5)));
  us_tcp_info before;
  us_tcp_get_info(p.cli.s, &before);
  // Lose every ACK from now until the first timeout.
  p.t.drop = [&](int dir, uint64_t, const uint8_t *fr, size_t n) {
    Seg s;
    return dir == 1 && p.t.counter(0, US_CNT_TCP_RTO) == 0 && parse_frame(fr, n, &s);
  };
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return p.t.counter(0, US_CNT_TCP_RTO) == 1; },
                            p.t.now + US_SEC(5)));
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(30)));
  p.t.run_for(US_MS(100));  // the resend's answer
  us_tcp_info after;
  us_tcp_get_info(p.cli.s, &after);
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_RTO));
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_UNDO));
  EXPECT_GE(after.tcpi_snd_cwnd, before.tcpi_snd_cwnd);
  EXPECT_EQ(before.tcpi_snd_ssthresh, after.tcpi_snd_ssthresh);
  printf("  cwnd %u -> %u, ssthresh %u -> %u\n", before.tcpi_snd_cwnd, after.tcpi_snd_cwnd,
         before.tcpi_snd_ssthresh, after.tcpi_snd_ssthresh);
}
