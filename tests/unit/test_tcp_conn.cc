// TCP connections on the in-memory wire: handshakes (active, passive,
// simultaneous), the options both sides agree on, data both ways, every
// close order, half-close, RST in each state and the errors the
// application sees.
#include "tests/unit/test_tcp_util.h"

using namespace tcpt;

TEST(TcpConn, ThreeWayHandshake) {
  Pair p;
  p.connect();
  auto syn = p.segs(0, TCP_SYN | TCP_ACK, TCP_SYN);
  auto synack = p.segs(1, TCP_SYN | TCP_ACK, TCP_SYN | TCP_ACK);
  ASSERT_EQ(1u, syn.size()) << p.trace();
  ASSERT_EQ(1u, synack.size());
  EXPECT_EQ(syn[0].seq + 1, synack[0].ack);
  // Linux-style SYN options: mss 1460, sackOK, TS, wscale 10 (tcp_rmem[2] 32 MiB).
  EXPECT_EQ(1460, syn[0].opt.mss);
  EXPECT_EQ(10, syn[0].opt.wscale);
  EXPECT_TRUE(syn[0].opt.has & TCP_OPT_F_SACKOK);
  EXPECT_TRUE(syn[0].opt.has & TCP_OPT_F_TS);
  EXPECT_EQ(0u, syn[0].opt.tsecr);
  EXPECT_EQ(syn[0].opt.tsval, synack[0].opt.tsecr);
  us_tcp_info ia, ib;
  us_tcp_get_info(p.cli.s, &ia);
  us_tcp_get_info(p.srv.s, &ib);
  EXPECT_EQ(US_TCP_ESTABLISHED, ia.tcpi_state);
  EXPECT_EQ(10u, (unsigned)ia.tcpi_snd_wscale);
  EXPECT_EQ(10u, (unsigned)ia.tcpi_rcv_wscale);
  EXPECT_EQ(1u | 2u | 4u, ia.tcpi_options);
  EXPECT_EQ(1448u, ia.tcpi_snd_mss);  // 1460 minus the 12-byte timestamp option
  EXPECT_EQ(10u, ia.tcpi_snd_cwnd);   // IW10
  EXPECT_EQ(US_TCP_ESTABLISHED, ib.tcpi_state);
  EXPECT_GT(ia.tcpi_rtt, 0u);
  uint32_t ip;
  uint16_t port;
  ASSERT_EQ(0, us_tcp_getpeername(p.srv.s, &ip, &port));
  EXPECT_EQ(TwoStack::kIpA, ip);
  uint32_t lip;
  uint16_t lport;
  us_tcp_getsockname(p.cli.s, &lip, &lport);
  EXPECT_EQ(lport, port);
  EXPECT_GE(lport, 32768);
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_ACTIVE_OPEN));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_PASSIVE_OPEN));
}

TEST(TcpConn, DataBothWaysByteExact) {
  Pair p;
  p.connect();
  Flow ab(p.cli.s, p.srv.s, 300000, 1), ba(p.srv.s, p.cli.s, 200000, 2);
  ASSERT_TRUE(p.t.run_until([&] { ab.pump(); ba.pump(); return ab.done() && ba.done(); },
                            p.t.now + US_SEC(10)));
  EXPECT_FALSE(ab.bad);
  EXPECT_FALSE(ba.bad);
  p.t.run_for(US_MS(100));
  us_tcp_info ia;
  us_tcp_get_info(p.cli.s, &ia);
  EXPECT_EQ(300000u, ia.tcpi_bytes_acked);
  EXPECT_EQ(200000u, ia.tcpi_bytes_received);
  EXPECT_EQ(0u, ia.tcpi_total_retrans);
}

TEST(TcpConn, ConnectionRefusedByRst) {
  Pair p;
  p.start_connect();  // nobody listens on B:80
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(2)));
  EXPECT_EQ(ECONNREFUSED, p.cli.err);
  EXPECT_EQ(US_TCP_CLOSE, us_tcp_state(p.cli.s));
  EXPECT_EQ(ECONNREFUSED, us_tcp_error(p.cli.s));
  EXPECT_EQ(0, us_tcp_error(p.cli.s));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_RST_NOCONN));
  auto rst = p.segs(1, TCP_RST, TCP_RST);
  ASSERT_EQ(1u, rst.size());
  EXPECT_EQ(p.segs(0)[0].seq + 1, rst[0].ack);
}

TEST(TcpConn, GracefulCloseClientFirst) {
  Pair p;
  p.connect();
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.srv.s) == US_TCP_CLOSE_WAIT; },
                            p.t.now + US_SEC(1)));
  EXPECT_TRUE(p.srv.ev & US_TCP_EV_RDHUP);
  char b[4];
  EXPECT_EQ(0, us_tcp_recv(p.srv.s, b, sizeof b));  // EOF
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  p.t.run_for(US_SEC(1));
  // Server: LAST_ACK -> CLOSED and freed; client sits in TIME_WAIT.
  EXPECT_EQ(1u, us_tcp_conn_count(p.t.a));  // the TIME_WAIT block
  p.t.run_for(US_SEC(60));
  EXPECT_EQ(0u, us_tcp_conn_count(p.t.a));
  EXPECT_EQ(1u, us_tcp_conn_count(p.t.b));  // the listener
}

TEST(TcpConn, HalfCloseKeepsTheOtherDirection) {
  Pair p;
  p.connect();
  ASSERT_EQ(0, us_tcp_shutdown(p.cli.s, 1));  // SHUT_WR
  EXPECT_EQ(-EPIPE, us_tcp_send(p.cli.s, "x", 1));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.cli.s) == US_TCP_FIN_WAIT2; },
                            p.t.now + US_SEC(1)));
  EXPECT_EQ(US_TCP_CLOSE_WAIT, us_tcp_state(p.srv.s));
  Flow ba(p.srv.s, p.cli.s, 100000, 3);
  ASSERT_TRUE(p.t.run_until([&] { ba.pump(); return ba.done(); }, p.t.now + US_SEC(5)));
  EXPECT_FALSE(ba.bad);
  EXPECT_EQ(US_TCP_FIN_WAIT2, us_tcp_state(p.cli.s));
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.cli.s) == US_TCP_TIME_WAIT; },
                            p.t.now + US_SEC(1)));
  char b[4];
  EXPECT_EQ(0, us_tcp_recv(p.cli.s, b, sizeof b));
  // The app still holds the TIME_WAIT socket; after 2*MSL it is CLOSED.
  p.t.run_for(US_SEC(61));
  EXPECT_EQ(US_TCP_CLOSE, us_tcp_state(p.cli.s));
  EXPECT_EQ(std::vector<int>({US_TCP_ESTABLISHED, US_TCP_FIN_WAIT1, US_TCP_FIN_WAIT2,
                              US_TCP_TIME_WAIT, US_TCP_CLOSE}),
            p.cli.states);
}

TEST(TcpConn, ServerClosesFirst) {
  Pair p;
  p.connect();
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.cli.s) == US_TCP_CLOSE_WAIT; },
                            p.t.now + US_SEC(1)));
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  p.t.run_for(US_SEC(1));
  EXPECT_EQ(0u, us_tcp_conn_count(p.t.a));
  EXPECT_EQ(2u, us_tcp_conn_count(p.t.b));  // listener + TIME_WAIT
  // The FIN-ACK sequence: FIN from B, ACK, FIN from A, ACK.
  auto fins_b = p.segs(1, TCP_FIN, TCP_FIN), fins_a = p.segs(0, TCP_FIN, TCP_FIN);
  EXPECT_EQ(1u, fins_b.size());
  EXPECT_EQ(1u, fins_a.size());
  p.t.run_for(US_SEC(60));
  EXPECT_EQ(1u, us_tcp_conn_count(p.t.b));
}

TEST(TcpConn, SimultaneousClose) {
  Pair p;
  p.connect();
  p.cli.states.clear();
  p.srv.states.clear();
  // Both shut down in the same instant: FINs cross on the wire.
  us_tcp_shutdown(p.cli.s, 1);
  us_tcp_shutdown(p.srv.s, 1);
  ASSERT_TRUE(p.t.run_until([&] {
    return us_tcp_state(p.cli.s) == US_TCP_TIME_WAIT && us_tcp_state(p.srv.s) == US_TCP_TIME_WAIT;
  }, p.t.now + US_SEC(1))) << p.trace();
  std::vector<int> want = {US_TCP_FIN_WAIT1, US_TCP_CLOSING, US_TCP_TIME_WAIT};
  EXPECT_EQ(want, p.cli.states);
  EXPECT_EQ(want, p.srv.states);
  p.t.run_for(US_SEC(60) + US_MS(10));
  EXPECT_EQ(US_TCP_CLOSE, us_tcp_state(p.cli.s));
  EXPECT_EQ(US_TCP_CLOSE, us_tcp_state(p.srv.s));
}

TEST(TcpConn, SimultaneousOpen) {
  Pair p;
  Sock x, y;
  x.s = us_tcp_socket(p.t.a, on_event, &x);
  y.s = us_tcp_socket(p.t.b, on_event, &y);
  ASSERT_EQ(0, us_tcp_bind(x.s, 0, 5000));
  ASSERT_EQ(0, us_tcp_bind(y.s, 0, 6000));
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(x.s, TwoStack::kIpB, 6000));
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(y.s, TwoStack::kIpA, 5000));
  ASSERT_TRUE(p.t.run_until([&] {
    return us_tcp_state(x.s) == US_TCP_ESTABLISHED && us_tcp_state(y.s) == US_TCP_ESTABLISHED;
  }, p.t.now + US_SEC(2))) << p.trace();
  std::vector<int> want = {US_TCP_SYN_RECV, US_TCP_ESTABLISHED};
  EXPECT_EQ(want, x.states);
  EXPECT_EQ(want, y.states);
  EXPECT_TRUE(x.ev & US_TCP_EV_CONNECTED);
  Flow f(x.s, y.s, 50000, 9);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(2)));
  EXPECT_FALSE(f.bad);
  us_tcp_close(x.s);
  us_tcp_close(y.s);
}

TEST(TcpConn, CloseRightAfterWriteDeliversEverything) {
  Pair p;
  us_tcp_sysctls v;  // a send buffer that takes the whole megabyte at once
  us_tcp_get_sysctls(p.t.st[0], &v);
  v.wmem[1] = v.wmem[2] = 1 << 20;
  us_tcp_set_sysctls(p.t.st[0], &v);
  p.connect();
  // The application writes 1 MB and closes at once: the stack owns the
  // rest (data, FIN, TIME_WAIT) without it.
  std::vector<uint8_t> b(1 << 20);
  for (size_t i = 0; i < b.size(); i++) b[i] = pattern(i, 4);
  ASSERT_EQ((ssize_t)b.size(), us_tcp_send(p.cli.s, b.data(), b.size()));
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  Flow f(nullptr, p.srv.s, b.size(), 4);
  f.sent = f.total;
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done() && us_tcp_eof(p.srv.s); },
                            p.t.now + US_SEC(10)));
  EXPECT_FALSE(f.bad);
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  p.t.run_for(US_SEC(1));
  EXPECT_EQ(1u, us_tcp_conn_count(p.t.a));  // TIME_WAIT
  p.t.run_for(US_SEC(60));
  EXPECT_EQ(0u, us_tcp_conn_count(p.t.a));
}

TEST(TcpConn, FinWait1StraightToTimeWait) {
  Pair p;
  p.connect();
  p.blackhole(0);  // the client's FIN never reaches B
  us_tcp_shutdown(p.cli.s, 1);
  p.t.run_for(US_MS(1));
  ASSERT_EQ(US_TCP_FIN_WAIT1, us_tcp_state(p.cli.s));
  p.cli.states.clear();
  // One segment that ACKs our FIN and carries the peer's FIN.
  p.inject(0, p.port, p.cli_port(), p.last_ack(0), p.next_seq(0), TCP_FIN | TCP_ACK, 8192);
  p.t.run_for(US_MS(1));
  EXPECT_EQ(std::vector<int>({US_TCP_TIME_WAIT}), p.cli.states);
}

TEST(TcpConn, CloseDuringSynReceivedSendsFinAfterHandshake) {
  Pair p;
  Sock x, y;
  x.s = us_tcp_socket(p.t.a, on_event, &x);
  y.s = us_tcp_socket(p.t.b, on_event, &y);
  ASSERT_EQ(0, us_tcp_bind(x.s, 0, 5000));
  ASSERT_EQ(0, us_tcp_bind(y.s, 0, 6000));
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(x.s, TwoStack::kIpB, 6000));
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(y.s, TwoStack::kIpA, 5000));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(x.s) == US_TCP_SYN_RECV; }, p.t.now + US_SEC(1)));
  ASSERT_EQ(0, us_tcp_shutdown(x.s, 1));
  ASSERT_TRUE(p.t.run_until([&] {
    return us_tcp_state(x.s) == US_TCP_FIN_WAIT2 && us_tcp_state(y.s) == US_TCP_CLOSE_WAIT;
  }, p.t.now + US_SEC(2))) << p.trace();
  // ESTABLISHED and FIN_WAIT_1 were entered in one step: the application
  // sees CONNECTED and the state after it (events are coalesced per step).
  EXPECT_EQ(std::vector<int>({US_TCP_SYN_RECV, US_TCP_FIN_WAIT1, US_TCP_FIN_WAIT2}), x.states);
  EXPECT_TRUE(x.ev & US_TCP_EV_CONNECTED);
  us_tcp_close(x.s);
  us_tcp_close(y.s);
}

TEST(TcpConn, CloseInSynSentAndListen) {
  Pair p;
  p.blackhole(0);
  p.start_connect();
  p.t.run_for(US_MS(10));
  EXPECT_EQ(US_TCP_SYN_SENT, us_tcp_state(p.cli.s));
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  p.listen();
  us_tcp_close(p.lsn.s);
  p.lsn.s = nullptr;
  p.t.run_for(US_SEC(5));
  EXPECT_EQ(0u, us_tcp_conn_count(p.t.a));
  EXPECT_EQ(0u, us_tcp_conn_count(p.t.b));
}

TEST(TcpConn, ConnectAgainAfterRefused) {
  Pair p;
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(2)));
  EXPECT_EQ(ECONNREFUSED, p.cli.err);
  p.listen();
  p.cli.ev = 0;
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(p.cli.s, TwoStack::kIpB, p.port));
  ASSERT_TRUE(p.t.run_until([&] { return (p.cli.ev & US_TCP_EV_CONNECTED) && (p.lsn.ev & US_TCP_EV_ACCEPT); },
                            p.t.now + US_SEC(2)));
  ASSERT_TRUE(p.accept());
  Flow f(p.cli.s, p.srv.s, 100000, 8);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(2)));
  EXPECT_FALSE(f.bad);
}
