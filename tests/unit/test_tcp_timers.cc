// TCP timers on the virtual clock: exact RTO backoff and give-up times, SYN
// retries, zero-window stall and recovery (persist probes), keepalive,
// TCP_USER_TIMEOUT, TIME_WAIT length, FIN retransmission answered in
// TIME_WAIT, and TIME_WAIT reuse by a new SYN.
#include "tests/unit/test_tcp_util.h"

using namespace tcpt;

TEST(TcpTimers, SynRetriesLikeLinux) {
  Pair p;
  p.blackhole(0);  // the SYNs vanish
  us_time_t t0 = p.t.now;
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(200)));
  EXPECT_EQ(ETIMEDOUT, p.cli.err);
  auto syns = p.segs(0, TCP_SYN, TCP_SYN);
  ASSERT_EQ(7u, syns.size());
  EXPECT_EQ(t0 + US_MS(2), syns[0].at);  // the first one waited for ARP
  syns[0].at = t0;
  const double want[] = {0, 1, 3, 7, 15, 31, 63};  // seconds, as Linux
  for (int i = 0; i < 7; i++) EXPECT_EQ(t0 + (us_time_t)(want[i] * 1e6), syns[i].at) << i;
  EXPECT_EQ(t0 + US_SEC(127), p.t.now);
  EXPECT_EQ(US_TCP_CLOSE, us_tcp_state(p.cli.s));
}

TEST(TcpTimers, RtoBackoffExactAndGiveUp) {
  Pair p;
  p.connect();
  us_tcp_info ia;
  us_tcp_get_info(p.cli.s, &ia);
  // RTO = SRTT + max(4*RTTVAR, 200 ms) (Linux's floor).
  EXPECT_EQ(ia.tcpi_rtt + 200000u, ia.tcpi_rto);
  us_time_t rto = ia.tcpi_rto;
  p.blackhole(0);
  p.log.clear();
  p.sync();
  us_time_t t0 = p.t.now;
  ASSERT_EQ(5, us_tcp_send(p.cli.s, "hello", 5));
  // Record the instant of every timeout (frames may leave later when ARP
  // has to refresh the peer's entry first).
  std::vector<us_time_t> fired;
  ASSERT_TRUE(p.t.run_until([&] {
    while (fired.size() < p.t.counter(0, US_CNT_TCP_RTO)) fired.push_back(p.t.now);
    return (p.cli.ev & US_TCP_EV_ERROR) != 0;
  }, t0 + US_SEC(2000)));
  EXPECT_EQ(ETIMEDOUT, p.cli.err);
  auto d = p.segs(0);
  // The original, a tail loss probe at the first RTO's time (a lone
  // segment's probe timeout comes after the RTO: Linux probes then
  // instead), and 15 retransmissions (tcp_retries2).
  ASSERT_EQ(17u, d.size());
  ASSERT_EQ(15u, fired.size());
  us_time_t at = t0 + rto;
  EXPECT_EQ(at, d[1].at);
  for (size_t i = 0; i < fired.size(); i++) {
    at += rto;
    EXPECT_EQ(at, fired[i]) << "timeout " << i;
    EXPECT_EQ(5u, d[i + 2].len);
    rto = std::min<us_time_t>(rto * 2, US_SEC(120));
  }
  at += rto;
  EXPECT_EQ(at, p.t.now);  // gave up one (capped) RTO after the last one
  EXPECT_NEAR(924.8, (p.t.now - t0) / 1e6, 5.0);  // Linux's tcp_retries2=15 figure (RTO 200 ms)
  EXPECT_EQ(-ETIMEDOUT, us_tcp_send(p.cli.s, "x", 1));
  EXPECT_EQ(-EPIPE, us_tcp_send(p.cli.s, "x", 1));
  EXPECT_EQ(15u, p.t.counter(0, US_CNT_TCP_RTO));
}

TEST(TcpTimers, RtoRecoversAndBackoffResets) {
  Pair p;
  p.connect();
  int drops = 3;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (dir == 0 && drops > 0 && parse_frame(f, n, &s) && s.len) { drops--; return true; }
    return false;
  };
  p.log.clear();
  us_tcp_info ia;
  us_tcp_get_info(p.cli.s, &ia);
  us_time_t rto = ia.tcpi_rto;
  p.sync();
  us_time_t t0 = p.t.now;
  ASSERT_EQ(5, us_tcp_send(p.cli.s, "hello", 5));
  char b[8];
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == 5; }, t0 + US_SEC(10)));
  EXPECT_EQ(5, us_tcp_recv(p.srv.s, b, sizeof b));
  auto d = p.segs(0, 0, 0);
  ASSERT_GE(d.size(), 4u);
  EXPECT_EQ(t0 + rto + rto + 2 * rto, d[3].at);  // the probe at the first RTO's time, then RTOs
  p.t.run_for(US_MS(50));
  us_tcp_get_info(p.cli.s, &ia);
  EXPECT_EQ(0u, (unsigned)ia.tcpi_backoff);
  EXPECT_EQ(3u, ia.tcpi_total_retrans);
  EXPECT_LT(ia.tcpi_rto, 300000u);
}

TEST(TcpTimers, UserTimeout) {
  Pair p;
  p.connect();
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_USER_TIMEOUT, 3000));
  p.blackhole(0);
  p.sync();
  us_time_t t0 = p.t.now;
  ASSERT_EQ(1, us_tcp_send(p.cli.s, "x", 1));
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, t0 + US_SEC(100)));
  EXPECT_EQ(ETIMEDOUT, p.cli.err);
  // As Linux: 3 s from the first timeout's retransmission (the tail loss
  // probe before it does not start the clock).
  std::vector<Seg> d;
  for (auto &g : p.segs(0)) if (g.len) d.push_back(g);
  ASSERT_GE(d.size(), 3u);
  EXPECT_EQ(d[2].at + US_SEC(3), p.t.now) << p.trace();
}

TEST(TcpTimers, ZeroWindowStallAndRecovery) {
  Pair p;
  p.listen();
  ASSERT_EQ(0, us_tcp_setopt(p.lsn.s, US_TCP_OPT_RCVBUF, 32768));  // 64 KiB ring, as Linux doubles
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return p.lsn.ev & US_TCP_EV_ACCEPT; }, p.t.now + US_SEC(1)));
  ASSERT_TRUE(p.accept());
  Flow f(p.cli.s, p.srv.s, 1 << 20, 5);
  // Sender pushes, receiver does not read: the window closes.
  ASSERT_TRUE(p.t.run_until([&] {
    while (f.sent < f.total) {
      for (size_t i = 0; i < f.buf.size(); i++) f.buf[i] = pattern(f.sent + i, 5);
      ssize_t r = us_tcp_send(p.cli.s, f.buf.data(), f.buf.size());
      if (r <= 0) break;
      f.sent += r;
    }
    us_tcp_info i;
    us_tcp_get_info(p.cli.s, &i);
    return us_tcp_readable(p.srv.s) > 60000 && i.tcpi_snd_wnd == 0;
  }, p.t.now + US_SEC(5)));
  // The small tail went out too (the window field's 2-byte granularity
  // at wscale 1 hides the last byte).
  EXPECT_GE(us_tcp_readable(p.srv.s), 65534u);
  p.t.run_for(US_SEC(30));
  auto zero = p.segs(1, TCP_RST, 0);
  bool saw_zero = false;
  for (auto &s : zero) saw_zero |= s.win == 0;
  EXPECT_TRUE(saw_zero);
  uint64_t probes = p.t.counter(0, US_CNT_TCP_ZWP);
  EXPECT_GE(probes, 3u);   // persist timer backs off: 0.2, 0.4, 0.8, ... s
  EXPECT_LE(probes, 10u);
  EXPECT_EQ(US_TCP_ESTABLISHED, us_tcp_state(p.cli.s));
  EXPECT_EQ(0u, p.t.counter(0, US_CNT_TCP_TIMEOUT));
  // The application reads again: a window update restarts the flow.
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(30)));
  EXPECT_FALSE(f.bad);
}

TEST(TcpTimers, ZeroWindowProbeWhenUpdateIsLost) {
  Pair p;
  p.listen();
  ASSERT_EQ(0, us_tcp_setopt(p.lsn.s, US_TCP_OPT_RCVBUF, 8192));
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return p.lsn.ev & US_TCP_EV_ACCEPT; }, p.t.now + US_SEC(1)));
  ASSERT_TRUE(p.accept());
  Flow f(p.cli.s, p.srv.s, 25 * 4096, 6);
  // Fill the 16 KiB window.
  ASSERT_TRUE(p.t.run_until([&] {
    while (f.sent < f.total) {
      for (size_t i = 0; i < 4096; i++) f.buf[i] = pattern(f.sent + i, 6);
      ssize_t r = us_tcp_send(p.cli.s, f.buf.data(), 4096);
      if (r <= 0) break;
      f.sent += r;
    }
    us_tcp_info i;
    us_tcp_get_info(p.cli.s, &i);
    return us_tcp_readable(p.srv.s) == 16384 && i.tcpi_snd_wnd == 0;
  }, p.t.now + US_SEC(5)));
  p.t.run_for(US_MS(100));
  // Lose every window update B sends right after the read.
  int lose = 1;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *, size_t) { return dir == 1 && lose-- > 0; };
  std::vector<uint8_t> b(16384);
  ASSERT_EQ(16384, us_tcp_recv(p.srv.s, b.data(), b.size()));
  f.recvd = 16384;
  // The persist probe discovers the open window anyway.
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(30)))
      << f.sent << " " << f.recvd << " " << us_tcp_readable(p.srv.s) << "\n" << p.trace().substr(0, 3000);
  EXPECT_FALSE(f.bad);
  EXPECT_GE(p.t.counter(0, US_CNT_TCP_ZWP), 1u);
}

TEST(TcpTimers, KeepaliveExpires) {
  Pair p;
  p.connect();
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_KEEPIDLE, 10));
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_KEEPINTVL, 2));
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_KEEPCNT, 3));
  ASSERT_EQ(0, us_tcp_setopt(p.cli.s, US_TCP_OPT_KEEPALIVE, 1));
  // While the peer answers, probes keep the connection up.
  p.t.run_for(US_SEC(100));
  EXPECT_EQ(US_TCP_ESTABLISHED, us_tcp_state(p.cli.s));
  uint64_t answered = p.t.counter(0, US_CNT_TCP_KEEPALIVE);
  EXPECT_GE(answered, 8u);
  // The peer vanishes: three unanswered probes 2 s apart, then ETIMEDOUT.
  p.blackhole(1);
  p.log.clear();
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(100)));
  EXPECT_EQ(ETIMEDOUT, p.cli.err);
  auto probes = p.segs(0);
  ASSERT_EQ(3u, probes.size());
  EXPECT_EQ(probes[0].at + US_SEC(2), probes[1].at);
  EXPECT_EQ(probes[1].at + US_SEC(2), probes[2].at);
  EXPECT_EQ(probes[2].at + US_SEC(2), p.t.now);
  EXPECT_EQ(0u, probes[0].len);
}

TEST(TcpTimers, TimeWaitLastsTwoMslAndAnswersFin) {
  TwoStackOptions o;
  o.msl_ms = 5000;  // 2*MSL = 10 s
  Pair p(o);
  p.connect();
  // Client closes first; its last ACK is lost once, so B resends its FIN.
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.srv.s) == US_TCP_CLOSE_WAIT; },
                            p.t.now + US_SEC(1)));
  bool dropped = false;
  p.t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (!dropped && dir == 0 && parse_frame(f, n, &s) && !(s.flags & TCP_FIN)) {
      dropped = true;
      return true;
    }
    return false;
  };
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  us_time_t t_close = p.t.now;
  p.t.run_for(US_SEC(2));
  EXPECT_TRUE(dropped);
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_TW_FIN));
  EXPECT_EQ(1u, us_tcp_conn_count(p.t.b));  // LAST_ACK finished: only the listener
  EXPECT_EQ(1u, us_tcp_conn_count(p.t.a));  // TIME_WAIT
  // TIME_WAIT restarted when the FIN was answered (~t_close+RTO) and lasts 10 s.
  auto fins = p.segs(1, TCP_FIN, TCP_FIN);
  ASSERT_EQ(2u, fins.size());
  us_time_t tw_end = fins[1].at + US_MS(1) + US_SEC(10);
  p.t.run_until(tw_end - 1);
  EXPECT_EQ(1u, us_tcp_conn_count(p.t.a));
  p.t.run_until(tw_end);
  EXPECT_EQ(0u, us_tcp_conn_count(p.t.a));
  (void)t_close;
}

TEST(TcpTimers, TimeWaitReusedByNewerSyn) {
  Pair p;
  p.connect();
  uint32_t ip;
  uint16_t cport;
  us_tcp_getsockname(p.cli.s, &ip, &cport);
  // The server closes first, so the server side holds TIME_WAIT.
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.cli.s) == US_TCP_CLOSE_WAIT; },
                            p.t.now + US_SEC(1)));
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  p.t.run_for(US_SEC(1));
  ASSERT_EQ(2u, us_tcp_conn_count(p.t.b));
  // Same 4-tuple again, a few seconds later: the ISN clock moved on.
  p.t.run_for(US_SEC(5));
  Sock c2;
  p.lsn.ev = 0;
  c2.s = us_tcp_socket(p.t.a, on_event, &c2);
  ASSERT_EQ(0, us_tcp_setopt(c2.s, US_TCP_OPT_REUSEADDR, 1));
  ASSERT_EQ(0, us_tcp_bind(c2.s, 0, cport));
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(c2.s, TwoStack::kIpB, p.port));
  ASSERT_TRUE(p.t.run_until([&] { return (c2.ev & US_TCP_EV_CONNECTED) && (p.lsn.ev & US_TCP_EV_ACCEPT); },
                            p.t.now + US_SEC(2)));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_TW_REUSE));
  ASSERT_TRUE(p.accept()) << p.trace();
  Flow f(c2.s, p.srv.s, 10000, 1);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(2)));
  EXPECT_FALSE(f.bad);
  us_tcp_close(c2.s);
}

TEST(TcpTimers, DelayedAckAtMost40ms) {
  Pair p;
  p.connect();
  // Past the quick-ack phase, a single small segment is ACKed after 40 ms.
  for (int i = 0; i < 20; i++) {
    ASSERT_EQ(1, us_tcp_send(p.cli.s, "x", 1));
    p.t.run_for(US_MS(100));
  }
  char b[64];
  while (us_tcp_recv(p.srv.s, b, sizeof b) > 0) {}
  p.log.clear();
  ASSERT_EQ(1, us_tcp_send(p.cli.s, "y", 1));
  p.t.run_for(US_MS(100));
  auto data = p.segs(0);
  auto acks = p.segs(1);
  ASSERT_EQ(1u, data.size());
  ASSERT_EQ(1u, acks.size());
  EXPECT_EQ(data[0].at + US_MS(1) + US_MS(40), acks[0].at);
}
