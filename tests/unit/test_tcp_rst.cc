// Resets and hostile input: RST in every state, abortive closes, RFC 5961
// protections against blind RST/SYN/data injection, RST for segments to no
// connection (never for a RST), a SYN flood, sequence wraparound and bad
// options/headers, each counted.
#include "tests/unit/test_tcp_util.h"

using namespace tcpt;

namespace {

// Inject into A (the client) a segment that looks like it came from B's socket.
void to_client(Pair &p, uint32_t seq, uint32_t ack, uint8_t flags, const std::vector<uint8_t> &opts = {},
               const std::vector<uint8_t> &data = {}) {
  p.inject(0, p.port, p.cli_port(), seq, ack, flags, 8192, opts, data);
}
// Inject into B's accepted socket as if from the client.
void to_server(Pair &p, uint32_t seq, uint32_t ack, uint8_t flags, const std::vector<uint8_t> &opts = {},
               const std::vector<uint8_t> &data = {}) {
  p.inject(1, p.cli_port(), p.port, seq, ack, flags, 8192, opts, data);
}

void expect_transfer_ok(Pair &p, uint64_t n = 20000) {
  Flow f(p.cli.s, p.srv.s, n, 77);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(5)));
  EXPECT_FALSE(f.bad);
}

}  // namespace

TEST(TcpRst, AbortResetsPeerEstablished) {
  Pair p;
  p.connect();
  us_tcp_abort(p.srv.s);
  p.srv.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(1)));
  EXPECT_EQ(ECONNRESET, p.cli.err);
  char b[4];
  EXPECT_EQ(-ECONNRESET, us_tcp_recv(p.cli.s, b, 4));
  EXPECT_EQ(0, us_tcp_recv(p.cli.s, b, 4));
  EXPECT_EQ(-EPIPE, us_tcp_send(p.cli.s, "x", 1));
  EXPECT_EQ(US_TCP_CLOSE, us_tcp_state(p.cli.s));
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_RST_RX));
}

TEST(TcpRst, CloseWithUnreadDataSendsRst) {
  Pair p;
  p.connect();
  ASSERT_EQ(5, us_tcp_send(p.cli.s, "hello", 5));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == 5; }, p.t.now + US_SEC(1)));
  us_tcp_close(p.srv.s);  // 5 bytes never read
  p.srv.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(1)));
  EXPECT_EQ(ECONNRESET, p.cli.err);
  EXPECT_EQ(0u, p.segs(1, TCP_FIN, TCP_FIN).size());
  EXPECT_EQ(1u, us_tcp_conn_count(p.t.b));  // only the listener is left
}

TEST(TcpRst, LingerZeroSendsRst) {
  Pair p;
  p.connect();
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_LINGER, 0));
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return p.srv.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(1)));
  EXPECT_EQ(ECONNRESET, p.srv.err);
  EXPECT_EQ(0u, us_tcp_conn_count(p.t.a));  // no TIME_WAIT after an abort
}

TEST(TcpRst, OrphanReceivingDataResets) {
  Pair p;
  p.connect();
  us_tcp_close(p.cli.s);  // FIN_WAIT_1/2, nobody left to read
  p.cli.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.srv.s) == US_TCP_CLOSE_WAIT; }, p.t.now + US_SEC(1)));
  ASSERT_EQ(3, us_tcp_send(p.srv.s, "abc", 3));
  ASSERT_TRUE(p.t.run_until([&] { return p.srv.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(1)));
  EXPECT_EQ(ECONNRESET, p.srv.err);
}

// Drive the client into `state`, then a RST with the exact sequence number.
class TcpRstInState : public ::testing::TestWithParam<int> {};

TEST_P(TcpRstInState, ExactRstCloses) {
  const int state = GetParam();
  Pair p;
  p.connect();
  bool drop_fin_ack = false;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (!parse_frame(f, n, &s)) return false;
    // Keep the client's FIN from being acknowledged (FIN_WAIT_1, CLOSING, LAST_ACK).
    return drop_fin_ack && dir == 0 && (s.flags & TCP_FIN);
  };
  switch (state) {
  case US_TCP_ESTABLISHED:
    break;
  case US_TCP_FIN_WAIT1:
    drop_fin_ack = true;
    us_tcp_shutdown(p.cli.s, 1);
    break;
  case US_TCP_FIN_WAIT2:
    us_tcp_shutdown(p.cli.s, 1);
    break;
  case US_TCP_CLOSE_WAIT:
    us_tcp_shutdown(p.srv.s, 1);
    break;
  case US_TCP_CLOSING:
    drop_fin_ack = true;
    us_tcp_shutdown(p.cli.s, 1);
    us_tcp_shutdown(p.srv.s, 1);
    break;
  case US_TCP_LAST_ACK:
    us_tcp_shutdown(p.srv.s, 1);
    p.t.run_for(US_MS(10));
    drop_fin_ack = true;
    us_tcp_shutdown(p.cli.s, 1);
    break;
  case US_TCP_TIME_WAIT:
    us_tcp_shutdown(p.cli.s, 1);
    us_tcp_shutdown(p.srv.s, 1);
    break;
  }
  p.t.run_for(US_MS(50));
  ASSERT_EQ(state, us_tcp_state(p.cli.s)) << p.trace();
  uint32_t rcv_nxt = p.last_ack(0);
  to_client(p, rcv_nxt, 0, TCP_RST);
  p.t.run_for(US_MS(1));
  EXPECT_EQ(US_TCP_CLOSE, us_tcp_state(p.cli.s));
  bool reports = state == US_TCP_ESTABLISHED || state == US_TCP_FIN_WAIT1 ||
                 state == US_TCP_FIN_WAIT2 || state == US_TCP_CLOSE_WAIT;
  EXPECT_EQ(reports ? ECONNRESET : 0, p.cli.err);
}

INSTANTIATE_TEST_SUITE_P(States, TcpRstInState,
                         ::testing::Values(US_TCP_ESTABLISHED, US_TCP_FIN_WAIT1, US_TCP_FIN_WAIT2,
                                           US_TCP_CLOSE_WAIT, US_TCP_CLOSING, US_TCP_LAST_ACK,
                                           US_TCP_TIME_WAIT));

TEST(TcpRst, RstInSynReceivedDropsTheChild) {
  Pair p;
  p.listen();
  const uint16_t sport = 40000;
  const uint32_t far = ustest::ip4(198, 18, 0, 200);  // nobody: the SYN-ACK waits on ARP
  p.inject(1, sport, p.port, 1000, 0, TCP_SYN, 65535, {}, {}, far);
  p.t.run_for(US_MS(5));
  EXPECT_EQ(2u, us_tcp_conn_count(p.t.b));
  p.inject(1, sport, p.port, 1001, 0, TCP_RST, 0, {}, {}, far);
  p.t.run_for(US_MS(5));
  EXPECT_EQ(1u, us_tcp_conn_count(p.t.b));
  EXPECT_EQ(0u, p.lsn.ev & US_TCP_EV_ACCEPT);
}

TEST(TcpRst, BlindRstInWindowGetsChallengeAck) {
  Pair p;
  p.connect();
  uint32_t rcv_nxt = p.last_ack(1);  // what B expects from A
  size_t before = p.segs(1).size();
  to_server(p, rcv_nxt + 5000, 0, TCP_RST);
  p.t.run_for(US_MS(5));
  EXPECT_EQ(US_TCP_ESTABLISHED, us_tcp_state(p.srv.s));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_CHALLENGE_ACK));
  EXPECT_EQ(before + 1, p.segs(1).size());
  // Far outside the window: silently ignored.
  to_server(p, rcv_nxt + 0x40000000u, 0, TCP_RST);
  p.t.run_for(US_MS(5));
  EXPECT_EQ(US_TCP_ESTABLISHED, us_tcp_state(p.srv.s));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_RST_IGNORED));
  expect_transfer_ok(p);
}

TEST(TcpRst, BlindSynGetsChallengeAck) {
  Pair p;
  p.connect();
  to_server(p, 123456789, 0, TCP_SYN);
  p.t.run_for(US_MS(5));
  EXPECT_EQ(US_TCP_ESTABLISHED, us_tcp_state(p.srv.s));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_SYN_IGNORED));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_CHALLENGE_ACK));
  expect_transfer_ok(p);
}

TEST(TcpRst, BlindDataRejected) {
  Pair p;
  p.connect();
  uint32_t rcv_nxt = p.last_ack(1), snd_una = p.next_seq(1);
  std::vector<uint8_t> evil(100, 'X');
  // Outside the window: dropped, answered with an ACK.
  to_server(p, rcv_nxt + 0x40000000u, snd_una, TCP_ACK, {}, evil);
  // In the window but acknowledging data from far in the past (RFC 5961 5).
  to_server(p, rcv_nxt, snd_una - 0x40000000u, TCP_ACK, {}, evil);
  // Acknowledging data never sent.
  to_server(p, rcv_nxt, snd_una + 0x100000, TCP_ACK, {}, evil);
  p.t.run_for(US_MS(5));
  EXPECT_EQ(0u, us_tcp_readable(p.srv.s));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_DROP_OUTWIN));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_DROP_ACK_OLD));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_DROP_ACK_FUTURE));
  EXPECT_EQ(US_TCP_ESTABLISHED, us_tcp_state(p.srv.s));
  expect_transfer_ok(p);  // the real stream is intact, byte for byte
}

TEST(TcpRst, NoConnectionGetsRstButNeverForRst) {
  Pair p;
  p.inject(1, 1234, 9999, 5000, 777, TCP_ACK, 100);
  p.t.run_for(US_MS(5));
  auto r = p.segs(1, TCP_RST, TCP_RST);
  ASSERT_EQ(1u, r.size());
  EXPECT_EQ(777u, r[0].seq);  // <SEQ=SEG.ACK><CTL=RST>
  EXPECT_EQ(TCP_RST, r[0].flags);
  p.inject(1, 1234, 9999, 5000, 0, TCP_SYN, 100, {}, {1, 2, 3});
  p.t.run_for(US_MS(5));
  r = p.segs(1, TCP_RST, TCP_RST);
  ASSERT_EQ(2u, r.size());
  EXPECT_EQ(0u, r[1].seq);
  EXPECT_EQ(5000u + 1 + 3, r[1].ack);  // SYN and data acknowledged
  p.inject(1, 1234, 9999, 5000, 777, TCP_RST | TCP_ACK, 100);
  p.t.run_for(US_MS(5));
  EXPECT_EQ(2u, p.segs(1, TCP_RST, TCP_RST).size());
  EXPECT_EQ(2u, p.t.counter(1, US_CNT_TCP_RST_NOCONN));
}

TEST(TcpRst, SynFloodLeavesConnectionsWorking) {
  Pair p;
  p.connect();
  // 5000 SYNs from spoofed, off-link addresses that never complete (on-link
  // ones would also flood the ARP table, which is the ARP layer's business).
  for (uint32_t i = 0; i < 5000; i++)
    p.inject(1, (uint16_t)(1024 + i), p.port, i * 7919u, 0, TCP_SYN, 65535,
             {2, 4, 0x05, 0xb4}, {}, ustest::ip4(198, 19, (uint8_t)(i >> 8), (uint8_t)i));
  p.t.run_for(US_MS(10));
  EXPECT_GT(p.t.counter(1, US_CNT_TCP_SYNCOOKIE_SENT), 4000u);
  EXPECT_LE(us_tcp_conn_count(p.t.b), 2u + 16u);  // listener + accepted + a full SYN queue
  // A new client still gets in (through a SYN cookie)...
  Sock c2;
  c2.s = us_tcp_socket(p.t.a, on_event, &c2);
  p.lsn.ev = 0;
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(c2.s, TwoStack::kIpB, p.port));
  ASSERT_TRUE(p.t.run_until([&] { return (c2.ev & US_TCP_EV_CONNECTED) && (p.lsn.ev & US_TCP_EV_ACCEPT); },
                            p.t.now + US_SEC(5)));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_SYNCOOKIE_OK));
  int err;
  us_tcp_sock *s2 = us_tcp_accept(p.lsn.s, &err);
  ASSERT_NE(nullptr, s2);
  // ...and the established connection is untouched.
  expect_transfer_ok(p, 200000);
  Flow f(c2.s, s2, 100000, 3);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(5)));
  EXPECT_FALSE(f.bad);
  us_tcp_close(c2.s);
  us_tcp_close(s2);
  // The flood's SYN-RECEIVED entries give up after their SYN-ACK retries.
  p.t.run_for(US_SEC(120));
  EXPECT_LE(us_tcp_conn_count(p.t.b), 3u);
}

TEST(TcpRst, SequenceWraparound) {
  Pair p;
  us_tcp_test_force_isn(p.t.a, 0xffffffffu - 3000);
  us_tcp_test_force_isn(p.t.b, 0xffffffffu - 100);
  p.connect();
  EXPECT_EQ(0xffffffffu - 3000, p.segs(0, TCP_SYN, TCP_SYN)[0].seq);
  Flow ab(p.cli.s, p.srv.s, 1 << 20, 1), ba(p.srv.s, p.cli.s, 1 << 20, 2);
  ASSERT_TRUE(p.t.run_until([&] { ab.pump(); ba.pump(); return ab.done() && ba.done(); },
                            p.t.now + US_SEC(10)));
  EXPECT_FALSE(ab.bad);
  EXPECT_FALSE(ba.bad);
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  p.t.run_for(US_SEC(61));  // closed cleanly: TIME_WAIT ends, nothing is left
  EXPECT_EQ(0u, us_tcp_conn_count(p.t.a));
  EXPECT_EQ(1u, us_tcp_conn_count(p.t.b));
}

TEST(TcpRst, SequenceWraparoundUnderLoss) {
  TwoStackOptions o;
  o.faults[0].loss = o.faults[1].loss = 0.03;
  Pair p(o);
  us_tcp_test_force_isn(p.t.a, 0xffffffffu - 50000);
  p.connect();
  Flow ab(p.cli.s, p.srv.s, 2 << 20, 4);
  ASSERT_TRUE(p.t.run_until([&] { ab.pump(); return ab.done(); }, p.t.now + US_SEC(300)));
  EXPECT_FALSE(ab.bad);
}

TEST(TcpRst, BadOptionsAndHeadersCounted) {
  Pair p;
  p.listen();
  // SYN with window scale 15 and MSS 0: clamped to 14, default MSS used.
  p.inject(1, 41000, p.port, 1000, 0, TCP_SYN, 65535, {2, 4, 0, 0, 1, 3, 3, 15});
  p.t.run_for(US_MS(5));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_OPT_BAD_WSCALE));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_OPT_BAD_MSS));
  auto sa = p.segs(1, TCP_SYN, TCP_SYN);
  ASSERT_EQ(1u, sa.size());
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return p.lsn.ev & US_TCP_EV_ACCEPT; }, p.t.now + US_SEC(1)));
  ASSERT_TRUE(p.accept());
  uint32_t rcv_nxt = p.last_ack(1), snd_una = p.next_seq(1);
  // Option length 0, and a length running past the header.
  to_server(p, rcv_nxt, snd_una, TCP_ACK, {8, 0, 0, 0});
  to_server(p, rcv_nxt, snd_una, TCP_ACK, {1, 1, 8, 12});
  p.t.run_for(US_MS(5));
  EXPECT_EQ(2u, p.t.counter(1, US_CNT_TCP_OPT_BAD_LEN));
  // SACK blocks outside anything sent: ignored and counted.
  to_client(p, p.last_ack(0), p.next_seq(0), TCP_ACK,
            {1, 1, 5, 10, 0x10, 0, 0, 0, 0x10, 0, 0x10, 0});
  p.t.run_for(US_MS(5));
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_SACK_BAD));
  // A data offset beyond the segment, a truncated header, a bad checksum.
  std::vector<uint8_t> seg(24);
  tcp_hdr_write(seg.data(), p.cli_port(), p.port, rcv_nxt, snd_una, TCP_ACK, 100, 20);
  seg[12] = 0xf0;  // 60-byte header in a 24-byte segment
  p.inject_l4(1, seg, true);
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_DROP_DOFF));
  p.inject_l4(1, std::vector<uint8_t>(seg.begin(), seg.begin() + 19), false);
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_DROP_SHORT));
  seg.resize(20);
  seg[12] = 0x50;
  uint64_t csum = p.t.counter(1, US_CNT_TCP_DROP_CSUM);
  p.inject_l4(1, seg, true);  // a valid pure ACK
  EXPECT_EQ(csum, p.t.counter(1, US_CNT_TCP_DROP_CSUM));
  seg[14] ^= 0x40;  // window field flipped: checksum no longer matches
  p.inject_l4(1, seg, false);
  EXPECT_EQ(csum + 1, p.t.counter(1, US_CNT_TCP_DROP_CSUM));
  // SYN+FIN together is nonsense: dropped and counted.
  to_server(p, rcv_nxt, snd_una, TCP_SYN | TCP_FIN | TCP_ACK);
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_DROP_FLAGS));
  p.t.run_for(US_MS(5));
  EXPECT_EQ(US_TCP_ESTABLISHED, us_tcp_state(p.srv.s));
  EXPECT_EQ(0u, us_tcp_readable(p.srv.s));
  expect_transfer_ok(p);
}

// A SYN answered by a bare ACK (the peer holds the 4-tuple in TIME-WAIT and
// PAWS made our SYN look old): RST with the ACK's number, which ends the
// peer's TIME-WAIT, then the SYN again at once - not after the 1 s RTO
// (Linux's TCP_TIMEOUT_MIN re-arm). A client reusing ports against a server
// that closes first would otherwise stall a second per collision.
TEST(TcpRst, SynAnsweredByStrayAckIsResentAtOnce) {
  Pair p;
  p.listen();
  bool on = true;
  p.blackhole(0, &on);  // the first SYN never reaches B
  p.start_connect();
  p.t.run_for(US_MS(1));
  on = false;
  p.inject(0, p.port, p.cli_port(), 5555, 0x12345678u, TCP_ACK, 64);
  us_time_t t0 = p.t.now;
  ASSERT_TRUE(p.t.run_until([&] { return (p.cli.ev & US_TCP_EV_CONNECTED) != 0; }, t0 + US_MS(100)))
      << p.trace();
  auto rst = p.segs(0, TCP_RST, TCP_RST);
  ASSERT_EQ(1u, rst.size());
  EXPECT_EQ(0x12345678u, rst[0].seq);
  EXPECT_EQ(2u, p.segs(0, TCP_SYN, TCP_SYN).size());
}

// Timestamps run from one offset per pair of hosts (as Linux): a later
// connection between the same hosts, on any port, never carries an older
// timestamp, so a peer holding an earlier 4-tuple in TIME-WAIT accepts its SYN.
TEST(TcpRst, TimestampsMonotonicAcrossConnections) {
  Pair p;
  p.connect();
  uint16_t first_port = p.cli_port();
  p.t.run_for(US_MS(300));
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  p.cli.ev = 0;
  p.t.run_for(US_MS(300));
  p.sync();
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return (p.cli.ev & US_TCP_EV_CONNECTED) != 0; }, p.t.now + US_SEC(2)));
  ASSERT_NE(first_port, p.cli_port());
  auto syns = p.segs(0, TCP_SYN, TCP_SYN);
  ASSERT_EQ(2u, syns.size());
  ASSERT_TRUE(syns[0].opt.has & TCP_OPT_F_TS);
  ASSERT_TRUE(syns[1].opt.has & TCP_OPT_F_TS);
  // Same offset: the TSvals differ by the milliseconds between the SYNs (give
  // or take the first SYN's wait for ARP); different offsets differ by ~2^31.
  int64_t apart_ms = (int64_t)(syns[1].at - syns[0].at) / 1000;
  int64_t ts_apart = (int32_t)(syns[1].opt.tsval - syns[0].opt.tsval);
  EXPECT_LE(std::llabs(ts_apart - apart_ms), 10) << ts_apart << " vs " << apart_ms;
}
