// TCP pieces without a connection: sequence arithmetic, header and option
// parsing/emission (incl. bad options), SACK scoreboard, out-of-order list,
// congestion control (Reno, CUBIC) and ISNs.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

extern "C" {
#include "stack/tcp_cc.h"
#include "stack/tcp_conn.h"
#include "stack/tcp_isn.h"
#include "stack/tcp_seq.h"
#include "stack/tcp_wire.h"
}

TEST(TcpSeq, WrapsAround) {
  EXPECT_TRUE(seq_lt(0xfffffff0u, 0x10u));
  EXPECT_TRUE(seq_gt(0x10u, 0xfffffff0u));
  EXPECT_TRUE(seq_leq(5u, 5u));
  EXPECT_TRUE(seq_geq(0u, 0xffffffffu));
  EXPECT_EQ(0x10u, seq_max(0xfffffff0u, 0x10u));
  EXPECT_EQ(0xfffffff0u, seq_min(0xfffffff0u, 0x10u));
  EXPECT_TRUE(seq_in(0xffffffffu, 0xfffffff0u, 0x10u));
  EXPECT_TRUE(seq_in(0x0fu, 0xfffffff0u, 0x10u));
  EXPECT_FALSE(seq_in(0x10u, 0xfffffff0u, 0x10u));
  EXPECT_FALSE(seq_in(0xffffffefu, 0xfffffff0u, 0x10u));
}

TEST(TcpWire, SynOptionsLikeLinux) {
  uint8_t o[40];
  size_t n = tcp_opts_syn(o, 1460, 7, 1, 1, 0x11223344, 0);
  // mss 1460, sackOK, TS val ecr, nop, wscale 7: exactly Linux's 20 bytes.
  const uint8_t want[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22, 0x33, 0x44,
                            0, 0, 0, 0, 1, 3, 3, 7};
  ASSERT_EQ(20u, n);
  EXPECT_EQ(0, memcmp(o, want, 20));
  // Without timestamps: mss, nop, nop, sackOK, nop, wscale.
  n = tcp_opts_syn(o, 1460, 7, 1, 0, 0, 0);
  const uint8_t want2[12] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7};
  ASSERT_EQ(12u, n);
  EXPECT_EQ(0, memcmp(o, want2, 12));
  // Without SACK: mss, nop, nop, TS, (no wscale).
  n = tcp_opts_syn(o, 536, -1, 0, 1, 5, 6);
  ASSERT_EQ(16u, n);
  EXPECT_EQ(1, o[4]);
  EXPECT_EQ(8, o[6]);
}

TEST(TcpWire, RoundTripHeaderAndOptions) {
  uint8_t seg[80] = {};
  uint8_t o[40];
  size_t ol = tcp_opts_syn(o, 1400, 9, 1, 1, 77, 88);
  tcp_hdr_write(seg, 1234, 80, 0xdeadbeef, 0x01020304, TCP_SYN | TCP_ACK, 29200,
                (uint16_t)(20 + ol));
  memcpy(seg + 20, o, ol);
  memcpy(seg + 20 + ol, "hi", 2);
  tcp_seg s;
  ASSERT_EQ(0, tcp_parse(seg, 20 + ol + 2, &s));
  EXPECT_EQ(1234, s.sport);
  EXPECT_EQ(80, s.dport);
  EXPECT_EQ(0xdeadbeefu, s.seq);
  EXPECT_EQ(0x01020304u, s.ack);
  EXPECT_EQ(TCP_SYN | TCP_ACK, s.flags);
  EXPECT_EQ(29200, s.win);
  EXPECT_EQ(2u, s.dlen);
  EXPECT_EQ(0, memcmp(s.data, "hi", 2));
  EXPECT_EQ(TCP_OPT_F_MSS | TCP_OPT_F_WS | TCP_OPT_F_SACKOK | TCP_OPT_F_TS, s.opt.has);
  EXPECT_EQ(1400, s.opt.mss);
  EXPECT_EQ(9, s.opt.wscale);
  EXPECT_EQ(77u, s.opt.tsval);
  EXPECT_EQ(88u, s.opt.tsecr);
  EXPECT_EQ(0, s.opt.bad);
}

TEST(TcpWire, DataOptionsWithSackBlocks) {
  uint8_t o[40];
  tcp_sack_block b[4] = {{100, 200}, {300, 400}, {500, 600}, {700, 800}};
  size_t n = tcp_opts_data(o, 1, 1, 2, b, 4);
  EXPECT_EQ(40u, n);  // TS (12) + 3 blocks (28): the fourth does not fit
  tcp_opts p;
  tcp_parse_opts(o, n, &p);
  EXPECT_EQ(3, p.nsack);
  EXPECT_EQ(500u, p.sack[2].start);
  EXPECT_TRUE(p.has & TCP_OPT_F_TS);
  n = tcp_opts_data(o, 0, 0, 0, b, 4);
  EXPECT_EQ(36u, n);
  tcp_parse_opts(o, n, &p);
  EXPECT_EQ(4, p.nsack);
}

TEST(TcpWire, RejectsTruncatedAndBadOffsets) {
  uint8_t seg[60] = {};
  tcp_seg s;
  EXPECT_EQ(US_CNT_TCP_DROP_SHORT, tcp_parse(seg, 19, &s));
  tcp_hdr_write(seg, 1, 2, 3, 4, TCP_ACK, 5, 20);
  seg[12] = 4 << 4;  // data offset 16 < 20
  EXPECT_EQ(US_CNT_TCP_DROP_DOFF, tcp_parse(seg, 20, &s));
  seg[12] = 15 << 4;  // 60 bytes, only 40 present
  EXPECT_EQ(US_CNT_TCP_DROP_DOFF, tcp_parse(seg, 40, &s));
  seg[12] = 5 << 4;
  EXPECT_EQ(0, tcp_parse(seg, 20, &s));
}

TEST(TcpWire, BadOptionsAreFlaggedNotFatal) {
  tcp_opts o;
  const uint8_t zero_len[] = {2, 0, 5, 0xb4};
  tcp_parse_opts(zero_len, sizeof zero_len, &o);
  EXPECT_TRUE(o.bad & TCP_OPT_BAD_LEN);
  EXPECT_FALSE(o.has & TCP_OPT_F_MSS);
  const uint8_t past_end[] = {1, 1, 8, 10, 0, 0, 0, 1};
  tcp_parse_opts(past_end, sizeof past_end, &o);
  EXPECT_TRUE(o.bad & TCP_OPT_BAD_LEN);
  EXPECT_FALSE(o.has & TCP_OPT_F_TS);
  const uint8_t big_ws[] = {1, 3, 3, 15};
  tcp_parse_opts(big_ws, sizeof big_ws, &o);
  EXPECT_TRUE(o.bad & TCP_OPT_BAD_WSCALE);
  EXPECT_EQ(14, o.wscale);
  const uint8_t mss0[] = {2, 4, 0, 0};
  tcp_parse_opts(mss0, sizeof mss0, &o);
  EXPECT_TRUE(o.bad & TCP_OPT_BAD_MSS);
  EXPECT_FALSE(o.has & TCP_OPT_F_MSS);
  const uint8_t wrong_size[] = {2, 3, 5, 1, 0, 0, 0, 0};
  tcp_parse_opts(wrong_size, sizeof wrong_size, &o);
  EXPECT_TRUE(o.bad & TCP_OPT_BAD_SIZE);
  const uint8_t lone_kind[] = {1, 1, 1, 2};
  tcp_parse_opts(lone_kind, sizeof lone_kind, &o);
  EXPECT_TRUE(o.bad & TCP_OPT_BAD_LEN);
  const uint8_t eol_stops[] = {0, 2, 4, 5, 0xb4};
  tcp_parse_opts(eol_stops, sizeof eol_stops, &o);
  EXPECT_EQ(0, o.has);
  EXPECT_EQ(0, o.bad);
  const uint8_t unknown[] = {30, 4, 0, 0, 2, 4, 1, 0};
  tcp_parse_opts(unknown, sizeof unknown, &o);
  EXPECT_EQ(256, o.mss);
}

TEST(TcpWire, ParserNeverReadsPastLength) {
  // Every prefix of a full option block parses without touching bytes past
  // its length (ASan checks the heap copies).
  uint8_t o[40];
  tcp_sack_block b[3] = {{1, 2}, {3, 4}, {5, 6}};
  size_t n = tcp_opts_data(o, 1, 1, 2, b, 3);
  for (size_t k = 0; k <= n; k++) {
    std::vector<uint8_t> v(o, o + k);
    tcp_opts p;
    tcp_parse_opts(v.data(), v.size(), &p);
  }
}

TEST(TcpSack, ScoreboardMergesAndAcks) {
  tcp_sb sb = {};
  tcp_sb_add(&sb, 300, 400);
  tcp_sb_add(&sb, 100, 200);
  tcp_sb_add(&sb, 500, 600);
  ASSERT_EQ(3u, sb.n);
  EXPECT_EQ(300u, sb.sacked);
  tcp_sb_add(&sb, 180, 320);  // bridges the first two
  ASSERT_EQ(2u, sb.n);
  EXPECT_EQ(100u, sb.iv[0].start);
  EXPECT_EQ(400u, sb.iv[0].end);
  EXPECT_EQ(400u, sb.sacked);
  EXPECT_EQ(150u, tcp_sb_sacked_below(&sb, 250));
  tcp_sb_ack(&sb, 350);
  EXPECT_EQ(350u, sb.iv[0].start);
  EXPECT_EQ(150u, sb.sacked);
  tcp_sb_ack(&sb, 700);
  EXPECT_EQ(0u, sb.n);
  EXPECT_EQ(0u, sb.sacked);
}

TEST(TcpSack, ScoreboardIsBounded) {
  tcp_sb sb = {};
  for (uint32_t i = 0; i < 100; i++) tcp_sb_add(&sb, i * 10, i * 10 + 5);
  EXPECT_EQ((uint32_t)TCP_SB_MAX, sb.n);
  for (uint32_t i = 1; i < sb.n; i++) EXPECT_TRUE(seq_lt(sb.iv[i - 1].end, sb.iv[i].start));
}

TEST(TcpOoo, MergesAdvancesAndReportsMostRecentFirst) {
  tcp_ooo q = {};
  ASSERT_EQ(0, tcp_ooo_add(&q, 200, 300));
  ASSERT_EQ(0, tcp_ooo_add(&q, 400, 500));
  ASSERT_EQ(0, tcp_ooo_add(&q, 600, 700));
  tcp_sack_block b[4];
  ASSERT_EQ(3u, tcp_ooo_sack(&q, b, 4));
  EXPECT_EQ(600u, b[0].start);
  EXPECT_EQ(200u, b[1].start);
  ASSERT_EQ(0, tcp_ooo_add(&q, 300, 400));  // joins the first two
  ASSERT_EQ(2u, tcp_ooo_sack(&q, b, 4));
  EXPECT_EQ(200u, b[0].start);
  EXPECT_EQ(500u, b[0].end);
  EXPECT_EQ(100u, tcp_ooo_advance(&q, 100));  // not yet contiguous
  EXPECT_EQ(500u, tcp_ooo_advance(&q, 200));
  EXPECT_EQ(1u, q.n);
  EXPECT_EQ(700u, tcp_ooo_advance(&q, 650));
  EXPECT_EQ(0u, q.n);
}

TEST(TcpOoo, FullListRefusesNewRanges) {
  tcp_ooo q = {};
  for (uint32_t i = 0; i < TCP_OOO_MAX; i++) ASSERT_EQ(0, tcp_ooo_add(&q, 100 + i * 10, 105 + i * 10));
  EXPECT_EQ(-1, tcp_ooo_add(&q, 5000, 5005));
  EXPECT_EQ(0, tcp_ooo_add(&q, 105, 110));  // merging still works
}

TEST(TcpCc, RenoSlowStartThenLinear) {
  tcp_cc cc;
  tcp_cc_init(&cc, &tcp_cc_reno, 1000);
  EXPECT_EQ(10000u, cc.cwnd);
  tcp_cc_on_ack(&cc, 5000, US_SEC(1), 10000, 1);
  EXPECT_EQ(15000u, cc.cwnd);
  tcp_cc_on_ack(&cc, 5000, US_SEC(1), 10000, 0);  // not cwnd-limited: no growth
  EXPECT_EQ(15000u, cc.cwnd);
  tcp_cc_enter_recovery(&cc, US_SEC(2));
  EXPECT_EQ(7500u, cc.ssthresh);
  EXPECT_EQ(7500u, cc.cwnd);
  tcp_cc_exit_recovery(&cc);
  // Congestion avoidance: +1 MSS per cwnd of acked bytes.
  tcp_cc_on_ack(&cc, 7499, US_SEC(3), 10000, 1);
  EXPECT_EQ(7500u, cc.cwnd);
  tcp_cc_on_ack(&cc, 1, US_SEC(3), 10000, 1);
  EXPECT_EQ(8500u, cc.cwnd);
  tcp_cc_on_rto(&cc, US_SEC(4), 1);
  EXPECT_EQ(1000u, cc.cwnd);
  EXPECT_EQ(4250u, cc.ssthresh);
  tcp_cc_on_ack(&cc, 10000, US_SEC(5), 10000, 1);  // slow start stops at ssthresh
  // 3250 bytes of slow start reach ssthresh, the other 6750 are avoidance:
  // one MSS once 4250 (a cwnd) of them are counted.
  EXPECT_EQ(5250u, cc.cwnd);
}

TEST(TcpCc, CubicReductionAndRegrowth) {
  tcp_cc cc;
  const uint32_t mss = 1000;
  tcp_cc_init(&cc, &tcp_cc_cubic, mss);
  cc.cwnd = 100 * mss;
  cc.ssthresh = 100 * mss;
  tcp_cc_enter_recovery(&cc, US_SEC(10));
  EXPECT_EQ(70u * mss, cc.cwnd);  // beta 0.7
  tcp_cc_exit_recovery(&cc);
  // K = cbrt(W_max * (1 - beta) / C) = cbrt(100 * 0.3 / 0.4) = cbrt(75) ~ 4.22 s.
  us_time_t t = US_SEC(10);
  uint32_t srtt = 100000;  // 100 ms
  uint32_t at_k = 0, before = cc.cwnd;
  for (int i = 0; i < 200; i++) {  // 20 s of 100 ms rounds, one cwnd acked each
    t += srtt;
    tcp_cc_on_ack(&cc, cc.cwnd, t, srtt, 1);
    if (t == US_SEC(10) + US_MS(4200)) at_k = cc.cwnd;
  }
  EXPECT_GT(at_k, 95u * mss);   // concave approach to W_max near K
  EXPECT_LT(at_k, 106u * mss);
  EXPECT_GT(cc.cwnd, 150u * mss);  // convex growth beyond W_max later
  EXPECT_GT(cc.cwnd, before);
  // Fast convergence: a loss below the previous W_max lowers W_max further.
  cc.cwnd = 80 * mss;
  cc.u.cubic.w_max = 100;
  tcp_cc_enter_recovery(&cc, t);
  EXPECT_NEAR(80 * 1.7 / 2, cc.u.cubic.w_max, 0.01);
}

TEST(TcpCc, RestartAfterIdleCapsAtInitialWindow) {
  tcp_cc cc;
  tcp_cc_init(&cc, &tcp_cc_cubic, 1000);
  cc.cwnd = 50000;
  tcp_cc_restart(&cc, US_SEC(5));
  EXPECT_EQ(10000u, cc.cwnd);
  EXPECT_EQ(&tcp_cc_reno, tcp_cc_find("reno"));
  EXPECT_EQ(&tcp_cc_cubic, tcp_cc_find("cubic"));
  EXPECT_EQ(nullptr, tcp_cc_find("bbr"));
}

TEST(TcpIsn, KeyedPerTupleAndClocked) {
  tcp_key k1 = {1, 2}, k2 = {1, 3};
  uint32_t a = tcp_isn(&k1, 1, 2, 3, 4, 0);
  EXPECT_EQ(a, tcp_isn(&k1, 1, 2, 3, 4, 0));
  EXPECT_NE(a, tcp_isn(&k2, 1, 2, 3, 4, 0));
  EXPECT_NE(a, tcp_isn(&k1, 1, 2, 3, 5, 0));
  EXPECT_EQ(a + 250000u, tcp_isn(&k1, 1, 2, 3, 4, US_SEC(1)));  // 4 us clock
  // SipHash-2-4 mixes: one bit of input changes about half of the output.
  uint64_t h1 = tcp_siphash4(&k1, 0, 0, 0, 0), h2 = tcp_siphash4(&k1, 1, 0, 0, 0);
  int bits = __builtin_popcountll(h1 ^ h2);
  EXPECT_GT(bits, 16);
  EXPECT_LT(bits, 48);
}
