// Wire details where ustack must behave as Linux 6.x does (issue 11): a
// bad ACK never poisons TS.Recent, out-of-order data keeps the bytes that
// arrived first, ICMP "fragmentation needed" is believed only for data in
// flight, PSH marks the end of a burst, and RSTs carry timestamps.
#include "tests/unit/test_tcp_util.h"

using namespace tcpt;

namespace {

std::vector<uint8_t> ts_opt(uint32_t tsval, uint32_t tsecr) {
  return {1, 1, 8, 10, (uint8_t)(tsval >> 24), (uint8_t)(tsval >> 16), (uint8_t)(tsval >> 8), (uint8_t)tsval,
          (uint8_t)(tsecr >> 24), (uint8_t)(tsecr >> 16), (uint8_t)(tsecr >> 8), (uint8_t)tsecr};
}

// Into B's accepted socket, as if from A's socket.
void to_server(Pair &p, uint32_t seq, uint32_t ack, uint8_t flags, const std::vector<uint8_t> &opts,
               const std::vector<uint8_t> &data = {}) {
  p.inject(1, p.cli_port(), p.port, seq, ack, flags, 8192, opts, data);
}


int maxseg(us_tcp_sock *s) {
  int mss = 0;
  us_tcp_getopt(s, US_TCP_OPT_MAXSEG, &mss);
  return mss;
}

}  // namespace

// Issue 11.1: a FIN acknowledging data never sent, with a TSval far ahead,
// is dropped whole: TS.Recent keeps its value, so PAWS does not reject the
// real stream afterwards (RFC 9293 3.10.7.4, RFC 7323 4.3). The answer is a
// challenge ACK echoing the old TS.Recent (Linux 6.10+), at most one per
// 500 ms and connection (tcp_invalid_ratelimit).
TEST(TcpConform, FutureAckDoesNotTakeTheTimestamp) {
  Pair p;
  p.connect();
  Flow f(p.cli.s, p.srv.s, 5000, 1);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(1)));
  p.t.run_for(US_MS(100));
  uint32_t rcv_nxt = p.last_ack(1), snd_nxt = p.next_seq(1);
  auto last = p.segs(0).back();
  ASSERT_TRUE(last.opt.has & TCP_OPT_F_TS);
  size_t before = p.segs(1).size();
  to_server(p, rcv_nxt, snd_nxt + 100000, TCP_FIN | TCP_ACK, ts_opt(last.opt.tsval + 0x40000000u, 0));
  to_server(p, rcv_nxt, snd_nxt + 100000, TCP_FIN | TCP_ACK, ts_opt(last.opt.tsval + 0x40000001u, 0));
  p.t.run_for(US_MS(5));
  EXPECT_EQ(2u, p.t.counter(1, US_CNT_TCP_DROP_ACK_FUTURE));
  ASSERT_EQ(before + 1, p.segs(1).size()) << p.trace();  // one challenge ACK, the second limited
  auto ack = p.segs(1).back();
  EXPECT_EQ(TCP_ACK, ack.flags);
  EXPECT_EQ(rcv_nxt, ack.ack);
  EXPECT_EQ(last.opt.tsval, ack.opt.tsecr);
  EXPECT_EQ(US_TCP_ESTABLISHED, us_tcp_state(p.srv.s));
  Flow g(p.cli.s, p.srv.s, 50000, 2);
  ASSERT_TRUE(p.t.run_until([&] { g.pump(); return g.done(); }, p.t.now + US_SEC(2))) << p.trace();
  EXPECT_FALSE(g.bad);
  EXPECT_EQ(0u, p.t.counter(1, US_CNT_TCP_DROP_PAWS));
}

// The same in CLOSE-WAIT: a challenge ACK, the timestamp ignored.
TEST(TcpConform, FutureAckInCloseWaitGetsChallengeAck) {
  Pair p;
  p.connect();
  us_tcp_shutdown(p.cli.s, 1);
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.srv.s) == US_TCP_CLOSE_WAIT; }, p.t.now + US_SEC(1)));
  p.t.run_for(US_MS(100));
  uint32_t rcv_nxt = p.last_ack(1), snd_nxt = p.next_seq(1);
  auto last = p.segs(0).back();
  size_t before = p.segs(1).size();
  to_server(p, rcv_nxt, snd_nxt + 100000, TCP_ACK, ts_opt(last.opt.tsval + 0x40000000u, 0));
  p.t.run_for(US_MS(5));
  ASSERT_EQ(before + 1, p.segs(1).size());
  auto ack = p.segs(1).back();
  EXPECT_EQ(TCP_ACK, ack.flags);
  EXPECT_EQ(last.opt.tsval, ack.opt.tsecr);  // TS.Recent unchanged
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_CHALLENGE_ACK));
  Flow g(p.srv.s, p.cli.s, 20000, 3);
  ASSERT_TRUE(p.t.run_until([&] { g.pump(); return g.done(); }, p.t.now + US_SEC(2))) << p.trace();
  EXPECT_FALSE(g.bad);
}

// Issue 11.3: overlapping out-of-order segments fill only the gaps; bytes
// held (and SACKed) already are never overwritten. The overlap is reported
// as a D-SACK, as Linux's tcp_data_queue_ofo does.
TEST(TcpConform, OutOfOrderOverlapKeepsFirstBytes) {
  Pair p;
  p.connect();
  p.t.run_for(US_MS(100));
  uint32_t r = p.last_ack(1), una = p.next_seq(1);
  auto last = p.segs(0).back();
  auto opts = ts_opt(last.opt.tsval, last.opt.tsecr);
  to_server(p, r + 100, una, TCP_ACK, opts, std::vector<uint8_t>(100, 'a'));  // [100,200)
  to_server(p, r + 50, una, TCP_ACK, opts, std::vector<uint8_t>(100, 'b'));   // [50,150)
  p.t.run_for(US_MS(1));
  auto ack = p.segs(1).back();
  ASSERT_GE(ack.opt.nsack, 2u) << p.trace();
  EXPECT_EQ(r + 100, ack.opt.sack[0].start);  // D-SACK: [100,150) came twice
  EXPECT_EQ(r + 150, ack.opt.sack[0].end);
  EXPECT_EQ(r + 50, ack.opt.sack[1].start);
  EXPECT_EQ(r + 200, ack.opt.sack[1].end);
  to_server(p, r + 150, una, TCP_ACK, opts, std::vector<uint8_t>(100, 'c'));  // [150,250)
  to_server(p, r, una, TCP_ACK | TCP_PSH, opts, std::vector<uint8_t>(50, 'z'));  // fills the hole
  p.t.run_for(US_MS(5));
  std::string want = std::string(50, 'z') + std::string(50, 'b') + std::string(100, 'a') + std::string(50, 'c');
  ASSERT_EQ(want.size(), us_tcp_readable(p.srv.s)) << p.trace();
  std::string got(want.size(), 0);
  ASSERT_EQ((ssize_t)want.size(), us_tcp_recv(p.srv.s, &got[0], got.size()));
  EXPECT_EQ(want, got);
}

// Issue 11.4: ICMP "fragmentation needed" lowers the path MTU only when the
// quoted segment names a connection and a sequence number in SND.UNA..SND.NXT
// (RFC 5927 4.1, Linux tcp_v4_err); a blind one changes nothing, not even
// the MSS of later connections to that host.
TEST(TcpConform, BlindFragNeededIsIgnored) {
  Pair p;
  p.connect();
  Flow f(p.cli.s, p.srv.s, 20000, 5);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(2)));
  p.t.run_for(US_MS(100));
  uint32_t nxt = p.next_seq(0);
  icmp_frag_needed(p, p.cli_port(), p.port, nxt + 100000, 1000);   // not in flight
  icmp_frag_needed(p, p.cli_port(), p.port, nxt - 5000, 1000);     // acknowledged long ago
  icmp_frag_needed(p, p.cli_port() + 1, p.port, nxt, 1000);        // no such connection
  EXPECT_EQ(1500u, ipv4_path_mtu(p.t.a, TwoStack::kIpB));
  EXPECT_EQ(1448, maxseg(p.cli.s));
  // A later connection to the same host still offers and uses 1460.
  Sock c2;
  c2.s = us_tcp_socket(p.t.a, on_event, &c2);
  size_t first = p.log.size();
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(c2.s, TwoStack::kIpB, p.port));
  ASSERT_TRUE(p.t.run_until([&] { return (c2.ev & US_TCP_EV_CONNECTED) != 0; }, p.t.now + US_SEC(1)));
  ASSERT_GT(p.log.size(), first);
  EXPECT_EQ(TCP_SYN, p.log[first].flags);
  EXPECT_EQ(1460, p.log[first].opt.mss);
  EXPECT_EQ(1448, maxseg(c2.s));
  us_tcp_close(c2.s);
  // The quoted sequence number is SND.UNA (= SND.NXT, nothing in flight):
  // believed, as Linux's between(seq, snd_una, snd_nxt).
  icmp_frag_needed(p, p.cli_port(), p.port, nxt, 1000);
  EXPECT_EQ(1000u, ipv4_path_mtu(p.t.a, TwoStack::kIpB));
  EXPECT_EQ(1000 - 40 - 12, maxseg(p.cli.s));
  // Below Linux's min_pmtu (552) the claim is clamped, never taken as is.
  icmp_frag_needed(p, p.cli_port(), p.port, nxt, 300);
  EXPECT_EQ(552u, ipv4_path_mtu(p.t.a, TwoStack::kIpB));
  EXPECT_EQ(552 - 40 - 12, maxseg(p.cli.s));
}

// Issue 11.5: PSH only on the segment that empties the send queue, never on
// the segments before it, resends included.
TEST(TcpConform, PshOnlyOnTheLastSegmentOfABurst) {
  Pair p;
  p.roomy_sndbuf();
  p.connect();
  p.log.clear();
  std::vector<uint8_t> buf(20 * 1448 + 100, 'x');
  // Lose the fourth data segment once: its resend is no end of a burst.
  int data_segs = 0;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (dir != 0 || !parse_frame(f, n, &s) || !s.len) return false;
    return ++data_segs == 4;
  };
  ASSERT_EQ((ssize_t)buf.size(), us_tcp_send(p.cli.s, buf.data(), buf.size()));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == buf.size(); }, p.t.now + US_SEC(3)));
  uint32_t end = p.next_seq(0);
  int psh = 0;
  for (auto &s : p.segs(0)) {
    if (!s.len) continue;
    bool last = s.seq + s.len == end;
    EXPECT_EQ(last, (s.flags & TCP_PSH) != 0) << "seq " << s.seq << "\n" << p.trace();
    psh += last;
  }
  EXPECT_GE(psh, 1);
  EXPECT_GT(p.t.counter(0, US_CNT_TCP_RETRANS), 0u);
}

// ...also for the tail loss probe and the resends after a timeout: a probe
// that sends new data from the middle of the queue carries no PSH (Linux's
// probe sends the next segment with the flags it would have anyway).
TEST(TcpConform, PshNotOnAProbeFromTheMiddleOfTheQueue) {
  Pair p;
  p.roomy_sndbuf();
  p.connect();
  p.t.run_for(US_MS(50));
  p.log.clear();
  bool dark = true;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    return dark && dir == 0 && parse_frame(f, n, &s) && s.len;
  };
  std::vector<uint8_t> buf(30 * 1448 + 100, 'x');
  ASSERT_EQ((ssize_t)buf.size(), us_tcp_send(p.cli.s, buf.data(), buf.size()));
  ASSERT_TRUE(p.t.run_until([&] { return p.t.counter(0, US_CNT_TCP_TLP) > 0; }, p.t.now + US_SEC(1)));
  p.t.run_for(US_MS(1));
  dark = false;
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == buf.size(); }, p.t.now + US_SEC(5)));
  uint32_t end = p.next_seq(0);
  for (auto &s : p.segs(0)) {
    if (!s.len) continue;
    EXPECT_EQ(s.seq + s.len == end, (s.flags & TCP_PSH) != 0) << "seq " << s.seq << "\n" << p.trace();
  }
}

// Issue 11.5: the server ACKs the first data after the handshake once, not
// twice (Linux's quick-ACK answers it; nothing else follows).
TEST(TcpConform, FirstDataAfterAcceptAckedOnce) {
  Pair p;
  p.connect();
  p.t.run_for(US_MS(50));
  p.log.clear();
  ASSERT_EQ(100, us_tcp_send(p.cli.s, std::string(100, 'q').data(), 100));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == 100; }, p.t.now + US_SEC(1)));
  char b[100];
  ASSERT_EQ(100, us_tcp_recv(p.srv.s, b, sizeof b));
  p.t.run_for(US_MS(300));
  EXPECT_EQ(1u, p.segs(1).size()) << p.trace();
}

// ...also when the peer does not scale windows: reading the data must not
// announce a "bigger" window that the 16-bit field cannot carry (Linux's
// tcp_cleanup_rbuf compares what __tcp_select_window could send).
TEST(TcpConform, FirstDataAfterAcceptAckedOnceWithoutWindowScaling) {
  Pair p;
  us_tcp_sysctl(p.t.a, US_TCP_SYSCTL_WINDOW_SCALING, 0);
  p.connect();
  p.t.run_for(US_MS(50));
  p.log.clear();
  ASSERT_EQ(1000, us_tcp_send(p.cli.s, std::string(1000, 'q').data(), 1000));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == 1000; }, p.t.now + US_SEC(1)));
  char b[1000];
  ASSERT_EQ(1000, us_tcp_recv(p.srv.s, b, sizeof b));
  p.t.run_for(US_MS(300));
  ASSERT_EQ(1u, p.segs(1).size()) << p.trace();
  EXPECT_EQ(65535, p.segs(1)[0].win);
}

// Issue 11.5: close() with unread data resets as Linux's
// tcp_send_active_reset: RST|ACK at SND.NXT, with the timestamp option.
TEST(TcpConform, RstOnCloseCarriesTimestamp) {
  Pair p;
  p.connect();
  ASSERT_EQ(5, us_tcp_send(p.cli.s, "hello", 5));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == 5; }, p.t.now + US_SEC(1)));
  p.t.run_for(US_MS(50));
  uint32_t snd_nxt = p.next_seq(1), rcv_nxt = p.last_ack(1);
  auto last = p.segs(0).back();
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  p.t.run_for(US_MS(5));
  auto rst = p.segs(1, TCP_RST, TCP_RST);
  ASSERT_EQ(1u, rst.size());
  EXPECT_EQ(TCP_RST | TCP_ACK, rst[0].flags);
  EXPECT_EQ(snd_nxt, rst[0].seq);
  EXPECT_EQ(rcv_nxt, rst[0].ack);
  ASSERT_TRUE(rst[0].opt.has & TCP_OPT_F_TS);
  EXPECT_EQ(last.opt.tsval, rst[0].opt.tsecr);
  EXPECT_EQ(0u, rst[0].opt.nsack);
  EXPECT_EQ(ECONNRESET, p.cli.err);
}

// Issue 11.6: a connection accepted through a SYN cookie keeps window
// scaling, SACK and timestamps: the SYN-ACK offers them and the cookie's
// TSval carries them in its low 6 bits (Linux's cookie_init_timestamp).
TEST(TcpConform, SynCookieKeepsOptions) {
  Pair p;
  p.listen(1);
  // Fill the SYN queue (at least 8) from off-link addresses that never answer.
  for (uint32_t i = 0; i < 8; i++)
    p.inject(1, (uint16_t)(2000 + i), p.port, i * 7919u, 0, TCP_SYN, 65535, {2, 4, 0x05, 0xb4}, {},
             ustest::ip4(198, 19, 1, (uint8_t)(i + 1)));
  p.t.run_for(US_MS(5));
  p.log.clear();
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return (p.cli.ev & US_TCP_EV_CONNECTED) && (p.lsn.ev & US_TCP_EV_ACCEPT); },
                            p.t.now + US_SEC(5)));
  ASSERT_EQ(1u, p.t.counter(1, US_CNT_TCP_SYNCOOKIE_OK));
  ASSERT_TRUE(p.accept());
  auto syn = p.segs(0, TCP_SYN, TCP_SYN);
  auto synack = p.segs(1, TCP_SYN, TCP_SYN);
  ASSERT_EQ(1u, syn.size());
  ASSERT_EQ(1u, synack.size());
  const uint8_t want = TCP_OPT_F_MSS | TCP_OPT_F_WS | TCP_OPT_F_SACKOK | TCP_OPT_F_TS;
  EXPECT_EQ(want, synack[0].opt.has & want);
  EXPECT_EQ(syn[0].opt.tsval, synack[0].opt.tsecr);
  EXPECT_EQ(0x10u | syn[0].opt.wscale, synack[0].opt.tsval & 0x3f);
  EXPECT_EQ(1460, synack[0].opt.mss);
  us_tcp_info ci, si;
  us_tcp_get_info(p.cli.s, &ci);
  us_tcp_get_info(p.srv.s, &si);
  EXPECT_EQ(7, si.tcpi_options);  // timestamps, SACK, window scaling
  EXPECT_EQ(7, ci.tcpi_options);
  EXPECT_EQ(ci.tcpi_rcv_wscale, si.tcpi_snd_wscale);
  EXPECT_EQ(ci.tcpi_snd_wscale, si.tcpi_rcv_wscale);
  EXPECT_GT(si.tcpi_rcv_wscale, 0);
  // Both directions carry data with scaled windows and timestamps.
  p.log.clear();
  Flow ab(p.cli.s, p.srv.s, 1 << 20, 4), ba(p.srv.s, p.cli.s, 1 << 20, 5);
  ASSERT_TRUE(p.t.run_until([&] { ab.pump(); ba.pump(); return ab.done() && ba.done(); }, p.t.now + US_SEC(5)));
  EXPECT_FALSE(ab.bad);
  EXPECT_FALSE(ba.bad);
  for (auto &s : p.log) EXPECT_TRUE(s.opt.has & TCP_OPT_F_TS);
  EXPECT_EQ(0u, p.t.counter(1, US_CNT_TCP_DROP_PAWS));
}

// Without the peer's timestamps a cookie can carry nothing but the MSS,
// as on Linux: no window scaling, no SACK.
TEST(TcpConform, SynCookieWithoutTimestampsHasNoOptions) {
  Pair p;
  p.listen(1);
  for (uint32_t i = 0; i < 8; i++)
    p.inject(1, (uint16_t)(2000 + i), p.port, i * 7919u, 0, TCP_SYN, 65535, {2, 4, 0x05, 0xb4}, {},
             ustest::ip4(198, 19, 1, (uint8_t)(i + 1)));
  p.t.run_for(US_MS(5));
  p.log.clear();
  p.inject(1, 3333, p.port, 5000, 0, TCP_SYN, 65535, {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 0, 0});
  p.t.run_for(US_MS(5));
  auto synack = p.segs(1, TCP_SYN, TCP_SYN);
  ASSERT_EQ(1u, synack.size());
  EXPECT_EQ(TCP_OPT_F_MSS, synack[0].opt.has);
  p.inject(1, 3333, p.port, 5001, synack[0].seq + 1, TCP_ACK, 65535);
  p.t.run_for(US_MS(5));
  ASSERT_EQ(1u, p.t.counter(1, US_CNT_TCP_SYNCOOKIE_OK));
  int err;
  us_tcp_sock *s2 = us_tcp_accept(p.lsn.s, &err);
  ASSERT_NE(nullptr, s2);
  us_tcp_info si;
  us_tcp_get_info(s2, &si);
  EXPECT_EQ(0, si.tcpi_options);
  us_tcp_abort(s2);
}

// Issue 11.6, the stack's part of SO_LINGER 0: close() aborts at once - one
// RST|ACK with the timestamp at the highest sequence number sent, nothing
// queued is sent after it, and no TIME_WAIT is left (Linux tcp_disconnect).
TEST(TcpConform, LingerZeroCloseAborts) {
  Pair p;
  p.roomy_sndbuf();
  p.connect();
  p.t.run_for(US_MS(50));
  // More than the initial window: some of it is still unsent at close.
  std::vector<uint8_t> big(200000, 'd');
  ASSERT_EQ((ssize_t)big.size(), us_tcp_send(p.cli.s, big.data(), big.size()));
  p.t.run_for(1500);  // 1.5 ms: the first flight is out, not acknowledged yet
  uint32_t sent_end = p.next_seq(0);
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_LINGER, 0));
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  size_t at = p.log.size();
  ASSERT_TRUE(p.t.run_until([&] { return p.srv.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(1)));
  EXPECT_EQ(ECONNRESET, p.srv.err);
  // (The ACKs still in flight then meet no connection: plain RSTs answer them.)
  auto rst = p.segs(0, TCP_RST | TCP_ACK, TCP_RST | TCP_ACK);
  ASSERT_EQ(1u, rst.size());
  EXPECT_EQ(sent_end, rst[0].seq);
  EXPECT_TRUE(rst[0].opt.has & TCP_OPT_F_TS);
  for (size_t i = at; i < p.log.size(); i++)
    EXPECT_FALSE(p.log[i].dir == 0 && p.log[i].len) << "data after the abort";
  EXPECT_EQ(0u, us_tcp_conn_count(p.t.a));
}
