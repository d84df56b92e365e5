// Socket options that change a connection already under way, as on Linux
// (issue 10): TCP_NODELAY set while corked pushes what is queued, MSG_MORE
// corks until a send without it, SO_SNDBUF/SO_RCVBUF after connect bound the
// send space and the advertised window.
#include "tests/unit/test_tcp_util.h"

using namespace tcpt;

TEST(TcpSockopt, NodelayWhileCorkedPushesWhatIsQueued) {
  Pair p;
  p.connect();
  us_tcp_setopt(p.cli.s, US_TCP_OPT_CORK, 1);
  p.log.clear();
  std::vector<uint8_t> b(1000, 'x');
  ASSERT_EQ(1000, us_tcp_send(p.cli.s, b.data(), b.size()));
  p.t.run_for(US_MS(50));
  EXPECT_EQ(0u, p.segs(0).size());  // corked
  // Linux (tcp_sock_set_nodelay): TCP_NAGLE_PUSH sends the queued partial
  // segment at once although TCP_CORK stays on.
  us_tcp_setopt(p.cli.s, US_TCP_OPT_NODELAY, 1);
  auto d = p.segs(0);
  ASSERT_EQ(1u, d.size()) << p.trace();
  EXPECT_EQ(1000u, d[0].len);
  int v;
  us_tcp_getopt(p.cli.s, US_TCP_OPT_CORK, &v);
  EXPECT_EQ(1, v);
  // Bytes queued after the push are corked again.
  p.t.run_for(US_MS(50));
  p.log.clear();
  ASSERT_EQ(1000, us_tcp_send(p.cli.s, b.data(), b.size()));
  p.t.run_for(US_MS(50));
  EXPECT_EQ(0u, p.segs(0).size()) << p.trace();
}

TEST(TcpSockopt, MoreCorksUntilClearedAndLeavesTcpCorkAlone) {
  Pair p;
  p.connect();
  us_tcp_setopt(p.cli.s, US_TCP_OPT_NODELAY, 1);
  p.log.clear();
  us_tcp_setopt(p.cli.s, US_TCP_OPT_MORE, 1);
  ASSERT_EQ(5, us_tcp_send(p.cli.s, "head:", 5));
  p.t.run_for(US_MS(100));
  EXPECT_EQ(0u, p.segs(0).size()) << p.trace();
  ASSERT_EQ(4, us_tcp_send(p.cli.s, "body", 4));
  us_tcp_setopt(p.cli.s, US_TCP_OPT_MORE, 0);
  auto d = p.segs(0);
  ASSERT_EQ(1u, d.size()) << p.trace();  // one segment: header and body together
  EXPECT_EQ(9u, d[0].len);
  int v;
  us_tcp_getopt(p.cli.s, US_TCP_OPT_CORK, &v);
  EXPECT_EQ(0, v);
}

TEST(TcpSockopt, SndbufAfterConnectBoundsTheSendSpace) {
  Pair p;
  p.roomy_sndbuf();
  p.connect();
  EXPECT_GT(us_tcp_send_space(p.cli.s), 100000u);
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_SNDBUF, 8192));
  int v;
  us_tcp_getopt(p.cli.s, US_TCP_OPT_SNDBUF, &v);
  EXPECT_EQ(16384, v);  // doubled, as Linux reports it
  EXPECT_EQ(16384u, us_tcp_send_space(p.cli.s));
  std::vector<uint8_t> b(100000, 'y');
  EXPECT_EQ(16384, us_tcp_send(p.cli.s, b.data(), b.size()));
  // Larger again: the ring grows and the bytes already queued stay in order.
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_SNDBUF, 1 << 20));
  Flow f(p.cli.s, p.srv.s, 3u << 20, 4);
  std::vector<uint8_t> first(16384);
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == 16384; }, p.t.now + US_SEC(2)));
  ASSERT_EQ(16384, us_tcp_recv(p.srv.s, first.data(), first.size()));
  EXPECT_EQ(std::vector<uint8_t>(16384, 'y'), first);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(10)));
  EXPECT_FALSE(f.bad);
}

TEST(TcpSockopt, RcvbufAfterConnectGrowsTheWindow) {
  Pair p;
  p.connect();
  // 2 MiB asked, 4 MiB kept (doubled): more than the ring the connection
  // started with (tcp_rmem[1]), within what its window scale can announce.
  ASSERT_EQ(0, us_tcp_setopt(p.srv.s, US_TCP_OPT_RCVBUF, 2 << 20));
  us_tcp_setopt(p.cli.s, US_TCP_OPT_SNDBUF, 4 << 20);
  std::vector<uint8_t> b(1 << 16);
  for (size_t i = 0; i < b.size(); i++) b[i] = pattern(i, 3);
  uint64_t sent = 0;
  // The receiver never reads: everything it holds is what its window let in.
  p.t.run_until([&] {
    while (sent < (3u << 20)) {
      ssize_t n = us_tcp_send(p.cli.s, b.data(), b.size());
      if (n <= 0) break;
      sent += (uint64_t)n;
    }
    return us_tcp_readable(p.srv.s) == (3u << 20);
  }, p.t.now + US_SEC(10));
  EXPECT_EQ(3u << 20, us_tcp_readable(p.srv.s));
}

TEST(TcpSockopt, RcvbufAfterConnectShrinksTheWindow) {
  Pair p;
  p.connect();
  ASSERT_EQ(0, us_tcp_setopt(p.srv.s, US_TCP_OPT_RCVBUF, 8192));
  int v;
  us_tcp_getopt(p.srv.s, US_TCP_OPT_RCVBUF, &v);
  EXPECT_EQ(16384, v);
  uint8_t ws = p.segs(1, TCP_SYN, TCP_SYN).at(0).opt.wscale;
  Flow f(p.cli.s, p.srv.s, 3u << 20, 5);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(20)));
  EXPECT_FALSE(f.bad);
  // The window already announced is honoured (it never shrinks), then it
  // stays within the new buffer.
  auto acks = p.segs(1);
  ASSERT_GT(acks.size(), 20u);
  for (size_t i = acks.size() - 10; i < acks.size(); i++)
    EXPECT_LE((uint32_t)acks[i].win << ws, 16384u) << i;
}

// TCP_USER_TIMEOUT as Linux measures it (retransmits_timed_out against
// retrans_stamp): from the first retransmission by the retransmission
// timer, not from the original send; measured on Linux 6.x: with the RTO at
// 1 s and a 2 s user timeout, data sent at 0 is resent at 1.03 s and the
// connection aborted at 3.06 s (SACK off here: no tail loss probe first).
TEST(TcpSockopt, UserTimeoutCountsFromTheFirstTimeoutRetransmission) {
  Pair p;
  us_tcp_sysctl(p.t.a, US_TCP_SYSCTL_SACK, 0);
  p.connect();
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_USER_TIMEOUT, 2000));
  ASSERT_EQ(1, us_tcp_send(p.cli.s, "a", 1));  // acknowledged: the clock does not run
  p.t.run_for(US_SEC(5));
  p.blackhole(0);
  p.log.clear();
  p.sync();
  us_time_t t0 = p.t.now;
  ASSERT_EQ(1, us_tcp_send(p.cli.s, "b", 1));
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, t0 + US_SEC(100)));
  EXPECT_EQ(ETIMEDOUT, p.cli.err);
  auto d = p.segs(0);
  ASSERT_GE(d.size(), 2u);
  EXPECT_EQ(t0, d[0].at);
  EXPECT_GT(d[1].at, t0 + US_MS(200));  // the first RTO
  EXPECT_EQ(d[1].at + US_SEC(2), p.t.now) << p.trace();
}

// Linux sends corked bytes (TCP_CORK or MSG_MORE) when its probe timer fires
// with nothing in flight, one RTO (at least 200 ms) after they were queued:
// measured, MSG_MORE bytes left 0.21 s after the send, TCP_CORK ones 0.21 s.
TEST(TcpSockopt, CorkedBytesGoWhenTheProbeTimerFires) {
  for (int opt : {US_TCP_OPT_CORK, US_TCP_OPT_MORE}) {
    Pair p;
    p.connect();
    us_tcp_setopt(p.cli.s, (us_tcp_opt)opt, 1);
    p.log.clear();
    p.sync();
    us_time_t t0 = p.t.now;
    ASSERT_EQ(100, us_tcp_send(p.cli.s, std::string(100, 'c').data(), 100));
    us_tcp_info ia;
    us_tcp_get_info(p.cli.s, &ia);
    p.t.run_for(US_SEC(1));
    auto d = p.segs(0);
    ASSERT_EQ(1u, d.size()) << p.trace();
    EXPECT_EQ(100u, d[0].len);
    EXPECT_EQ(t0 + ia.tcpi_rto, d[0].at);
    EXPECT_GE(d[0].at, t0 + US_MS(200));
  }
}

// A window closed for TCP_USER_TIMEOUT since the first zero-window probe
// ends the connection although the peer answers every probe (Linux's
// tcp_probe_timer; measured: user timeout 2 s, first probe 0.22 s after the
// window closed, ETIMEDOUT 2.24 s after it).
TEST(TcpSockopt, UserTimeoutEndsAZeroWindowStall) {
  Pair p;
  p.listen();
  ASSERT_EQ(0, us_tcp_setopt(p.lsn.s, US_TCP_OPT_RCVBUF, 8192));
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return p.lsn.ev & US_TCP_EV_ACCEPT; }, p.t.now + US_SEC(1)));
  ASSERT_TRUE(p.accept());
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_USER_TIMEOUT, 3000));
  std::vector<uint8_t> b(4096, 'w');
  // The receiver never reads: its window closes and stays closed.
  ASSERT_TRUE(p.t.run_until([&] {
    while (us_tcp_send(p.cli.s, b.data(), b.size()) > 0) {
    }
    us_tcp_info i;
    us_tcp_get_info(p.cli.s, &i);
    return i.tcpi_snd_wnd == 0 && p.t.counter(0, US_CNT_TCP_ZWP) > 0;
  }, p.t.now + US_SEC(5)));
  us_time_t first_probe = p.t.now;
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(60)));
  EXPECT_EQ(ETIMEDOUT, p.cli.err);
  EXPECT_EQ(first_probe + US_SEC(3), p.t.now);
  EXPECT_GE(p.t.counter(0, US_CNT_TCP_ZWP), 3u);  // answered probes did not stop it
}

// A refused connect lets go of the address and port it chose (Linux:
// getsockname 0.0.0.0 and the old port, the port free for others), and the
// same socket connects again when asked.
TEST(TcpSockopt, FailedConnectLetsGoOfItsPortAndConnectsAgain) {
  Pair p;
  p.start_connect();  // nobody listens on B: RST
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(2)));
  EXPECT_EQ(ECONNREFUSED, p.cli.err);
  uint32_t ip;
  uint16_t port;
  us_tcp_getsockname(p.cli.s, &ip, &port);
  EXPECT_EQ(0u, ip);
  EXPECT_NE(0, port);
  us_tcp_sock *other = us_tcp_socket(p.t.a, nullptr, nullptr);
  EXPECT_EQ(0, us_tcp_bind(other, 0, port));  // free again
  p.listen();
  p.cli.ev = 0;
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(p.cli.s, TwoStack::kIpB, p.port));
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_CONNECTED; }, p.t.now + US_SEC(2)));
  us_tcp_getsockname(p.cli.s, &ip, &port);
  EXPECT_EQ(TwoStack::kIpA, ip);
  us_tcp_close(other);
}
