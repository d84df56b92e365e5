// The socket API the shim uses: bind rules, listen/accept queues, options
// (Nagle, NODELAY, CORK, MAXSEG, RCVBUF and the window scale, congestion
// algorithm), zero-copy reads, errors, TCP_INFO's layout, PAWS, large GSO
// segments, and restart after idle.
#include <linux/tcp.h>

#include <cstddef>

#include "tests/unit/test_tcp_util.h"

using namespace tcpt;

TEST(TcpApi, InfoHasLinuxLayout) {
#define SAME(f) EXPECT_EQ(offsetof(struct tcp_info, f), offsetof(struct us_tcp_info, f)) << #f
  SAME(tcpi_rto);
  SAME(tcpi_snd_mss);
  SAME(tcpi_unacked);
  SAME(tcpi_last_data_sent);
  SAME(tcpi_pmtu);
  SAME(tcpi_rtt);
  SAME(tcpi_snd_cwnd);
  SAME(tcpi_total_retrans);
  SAME(tcpi_pacing_rate);
  SAME(tcpi_bytes_acked);
  SAME(tcpi_bytes_received);
  SAME(tcpi_segs_out);
  SAME(tcpi_min_rtt);
  SAME(tcpi_delivery_rate);
  SAME(tcpi_delivered);
  SAME(tcpi_bytes_sent);
  SAME(tcpi_bytes_retrans);
  SAME(tcpi_rcv_ooopack);
  SAME(tcpi_snd_wnd);
#undef SAME
  EXPECT_EQ(sizeof(struct tcp_info), sizeof(struct us_tcp_info));
}

TEST(TcpApi, BindRules) {
  TwoStack t;
  us_tcp_sock *a = us_tcp_socket(t.b, nullptr, nullptr), *b = us_tcp_socket(t.b, nullptr, nullptr);
  ASSERT_EQ(0, us_tcp_bind(a, 0, 8080));
  EXPECT_EQ(-EINVAL, us_tcp_bind(a, 0, 8081));           // already bound
  EXPECT_EQ(-EADDRINUSE, us_tcp_bind(b, 0, 8080));       // no SO_REUSEADDR
  EXPECT_EQ(-EADDRNOTAVAIL, us_tcp_bind(b, ustest::ip4(10, 0, 0, 1), 8080));
  us_tcp_setopt(a, US_TCP_OPT_REUSEADDR, 1);
  us_tcp_setopt(b, US_TCP_OPT_REUSEADDR, 1);
  EXPECT_EQ(0, us_tcp_bind(b, TwoStack::kIpB, 8080));    // both reuse, none listening
  us_tcp_close(b);
  ASSERT_EQ(0, us_tcp_listen(a, 4));
  us_tcp_sock *c = us_tcp_socket(t.b, nullptr, nullptr);
  us_tcp_setopt(c, US_TCP_OPT_REUSEADDR, 1);
  EXPECT_EQ(-EADDRINUSE, us_tcp_bind(c, 0, 8080));       // a listener owns it
  EXPECT_EQ(0, us_tcp_bind(c, 0, 0));                     // ephemeral
  uint32_t ip;
  uint16_t port;
  us_tcp_getsockname(c, &ip, &port);
  EXPECT_GE(port, 32768);
  EXPECT_EQ(-ENOTCONN, us_tcp_getpeername(c, &ip, &port));
  char buf[4];
  EXPECT_EQ(-ENOTCONN, us_tcp_recv(c, buf, 4));
  EXPECT_EQ(-ENOTCONN, us_tcp_send(c, "x", 1));
  int err = 0;
  EXPECT_EQ(nullptr, us_tcp_accept(a, &err));
  EXPECT_EQ(-EAGAIN, err);
  EXPECT_EQ(nullptr, us_tcp_accept(c, &err));
  EXPECT_EQ(-EINVAL, err);
  us_tcp_close(a);
  us_tcp_close(c);
  EXPECT_EQ(0u, us_tcp_conn_count(t.b));
}

TEST(TcpApi, ListenerPortFreedForReuseAfterClose) {
  Pair p;
  p.listen();
  us_tcp_setopt(p.lsn.s, US_TCP_OPT_REUSEADDR, 1);  // inherited by accepted sockets
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return p.lsn.ev & US_TCP_EV_ACCEPT; }, p.t.now + US_SEC(1)));
  ASSERT_TRUE(p.accept());
  us_tcp_close(p.lsn.s);
  p.lsn.s = nullptr;
  // The accepted connection still holds the port: bind needs SO_REUSEADDR.
  us_tcp_sock *l2 = us_tcp_socket(p.t.b, nullptr, nullptr);
  EXPECT_EQ(-EADDRINUSE, us_tcp_bind(l2, 0, p.port));
  us_tcp_setopt(l2, US_TCP_OPT_REUSEADDR, 1);
  EXPECT_EQ(0, us_tcp_bind(l2, 0, p.port));
  EXPECT_EQ(0, us_tcp_listen(l2, 4));
  us_tcp_close(l2);
}

TEST(TcpApi, AcceptQueueBacklog) {
  Pair p;
  p.listen(2);
  Sock c[4];
  for (auto &k : c) {
    k.s = us_tcp_socket(p.t.a, on_event, &k);
    ASSERT_EQ(-EINPROGRESS, us_tcp_connect(k.s, TwoStack::kIpB, p.port));
  }
  p.t.run_for(US_MS(50));
  // All four clients think they are connected (their handshake ACK left),
  // but only two fit in the accept queue; the others' ACKs were dropped.
  EXPECT_GE(p.t.counter(1, US_CNT_TCP_ACCEPTQ_FULL), 2u);
  int err, n = 0;
  std::vector<us_tcp_sock *> acc;
  while (us_tcp_sock *s = us_tcp_accept(p.lsn.s, &err)) { acc.push_back(s); n++; }
  EXPECT_EQ(2, n);
  // Room again: the waiting children complete when their SYN-ACK is resent.
  p.t.run_for(US_SEC(3));
  while (us_tcp_sock *s = us_tcp_accept(p.lsn.s, &err)) { acc.push_back(s); n++; }
  EXPECT_EQ(4, n);
  for (auto *s : acc) us_tcp_close(s);
  for (auto &k : c) us_tcp_close(k.s);
}

TEST(TcpApi, ClosingListenerResetsQueuedConnections) {
  Pair p;
  p.listen();
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return p.lsn.ev & US_TCP_EV_ACCEPT; }, p.t.now + US_SEC(1)));
  us_tcp_close(p.lsn.s);
  p.lsn.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return p.cli.ev & US_TCP_EV_ERROR; }, p.t.now + US_SEC(1)));
  EXPECT_EQ(ECONNRESET, p.cli.err);
  EXPECT_EQ(0u, us_tcp_conn_count(p.t.b));
}

TEST(TcpApi, NagleHoldsSmallWritesNodelaySendsThem) {
  Pair p;
  p.connect();
  p.log.clear();
  // Nagle: the first small write goes, the next two wait for its ACK and
  // leave together.
  us_tcp_send(p.cli.s, "a", 1);
  us_tcp_send(p.cli.s, "b", 1);
  us_tcp_send(p.cli.s, "c", 1);
  p.t.run_for(US_MS(100));
  auto d = p.segs(0);
  ASSERT_GE(d.size(), 2u);
  EXPECT_EQ(1u, d[0].len);
  EXPECT_EQ(2u, d[1].len);
  EXPECT_GT(d[1].at, d[0].at);
  // TCP_NODELAY: every write is a segment at once.
  us_tcp_setopt(p.cli.s, US_TCP_OPT_NODELAY, 1);
  p.log.clear();
  us_tcp_send(p.cli.s, "d", 1);
  us_tcp_send(p.cli.s, "e", 1);
  d = p.segs(0);
  ASSERT_EQ(2u, d.size());
  EXPECT_EQ(d[0].at, d[1].at);
}

TEST(TcpApi, CorkHoldsUntilUncorkOrFullSegment) {
  Pair p;
  p.connect();
  us_tcp_setopt(p.cli.s, US_TCP_OPT_NODELAY, 1);
  us_tcp_setopt(p.cli.s, US_TCP_OPT_CORK, 1);
  p.log.clear();
  std::vector<uint8_t> b(1000, 'x');
  us_tcp_send(p.cli.s, b.data(), b.size());
  p.t.run_for(US_MS(50));
  EXPECT_EQ(0u, p.segs(0).size());
  us_tcp_send(p.cli.s, b.data(), b.size());  // 2000 bytes: one full segment may go
  p.t.run_for(US_MS(50));
  auto d = p.segs(0);
  ASSERT_EQ(1u, d.size());
  EXPECT_EQ(1448u, d[0].len);
  us_tcp_setopt(p.cli.s, US_TCP_OPT_CORK, 0);
  p.t.run_for(US_MS(50));
  d = p.segs(0);
  ASSERT_EQ(2u, d.size());
  EXPECT_EQ(552u, d[1].len);
}

TEST(TcpApi, MaxsegAndPeerMssHonoured) {
  Pair p;
  p.listen();
  ASSERT_EQ(0, us_tcp_setopt(p.lsn.s, US_TCP_OPT_MAXSEG, 536));
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return p.lsn.ev & US_TCP_EV_ACCEPT; }, p.t.now + US_SEC(1)));
  ASSERT_TRUE(p.accept());
  auto sa = p.segs(1, TCP_SYN, TCP_SYN);
  ASSERT_EQ(1u, sa.size());
  EXPECT_EQ(536, sa[0].opt.mss);
  p.log.clear();
  Flow f(p.cli.s, p.srv.s, 50000, 2);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(2)));
  for (auto &s : p.segs(0)) EXPECT_LE(s.len, 536u - 12u);
  int v;
  us_tcp_getopt(p.cli.s, US_TCP_OPT_MAXSEG, &v);
  EXPECT_EQ(524, v);
}

TEST(TcpApi, WindowScaleFromBuffer) {
  Pair p;
  p.listen();
  us_tcp_setopt(p.lsn.s, US_TCP_OPT_RCVBUF, 1 << 20);  // 2 MiB ring: wscale 6
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return p.lsn.ev & US_TCP_EV_ACCEPT; }, p.t.now + US_SEC(1)));
  EXPECT_EQ(10, p.segs(0, TCP_SYN, TCP_SYN)[0].opt.wscale);  // tcp_rmem[2] 32 MiB: 10, like Linux
  EXPECT_EQ(6, p.segs(1, TCP_SYN, TCP_SYN)[0].opt.wscale);
}

TEST(TcpApi, PeekConsumeAndWindowUpdate) {
  Pair p;
  p.connect();
  std::vector<uint8_t> b(3000);
  for (size_t i = 0; i < b.size(); i++) b[i] = pattern(i, 9);
  ASSERT_EQ(3000, us_tcp_send(p.cli.s, b.data(), b.size()));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == 3000; }, p.t.now + US_SEC(1)));
  const uint8_t *p1, *p2;
  size_t n1, n2;
  ASSERT_EQ(3000u, us_tcp_peek(p.srv.s, &p1, &n1, &p2, &n2));
  ASSERT_EQ(3000u, n1 + n2);
  EXPECT_EQ(0, memcmp(p1, b.data(), n1));
  us_tcp_consume(p.srv.s, 1000);
  EXPECT_EQ(2000u, us_tcp_readable(p.srv.s));
  char c;
  ASSERT_EQ(1, us_tcp_recv(p.srv.s, &c, 1));
  EXPECT_EQ((char)b[1000], c);
}

TEST(TcpApi, CongestionControlChoice) {
  Pair p;
  p.connect();
  EXPECT_STREQ("cubic", us_tcp_get_cc(p.cli.s));
  EXPECT_EQ(-ENOENT, us_tcp_set_cc(p.cli.s, "vegas"));
  EXPECT_EQ(0, us_tcp_set_cc(p.cli.s, "reno"));
  EXPECT_STREQ("reno", us_tcp_get_cc(p.cli.s));
}

TEST(TcpApi, PawsDropsOldTimestamps) {
  Pair p;
  p.connect();
  Flow f(p.cli.s, p.srv.s, 10000, 1);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(1)));
  uint32_t rcv_nxt = p.last_ack(1), snd_una = p.next_seq(1);
  auto last = p.segs(0).back();
  ASSERT_TRUE(last.opt.has & TCP_OPT_F_TS);
  uint32_t old = last.opt.tsval - 1000;
  std::vector<uint8_t> ts = {1, 1, 8, 10, (uint8_t)(old >> 24), (uint8_t)(old >> 16), (uint8_t)(old >> 8),
                             (uint8_t)old, 0, 0, 0, 0};
  p.inject(1, p.cli_port(), p.port, rcv_nxt, snd_una, TCP_ACK | TCP_PSH, 8192, ts, {'E', 'V', 'I', 'L'});
  p.t.run_for(US_MS(5));
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_DROP_PAWS));
  EXPECT_EQ(0u, us_tcp_readable(p.srv.s));
}

TEST(TcpApi, GsoSendsLargeSegments) {
  TwoStackOptions o;
  o.features[0] = o.features[1] = US_NETDEV_F_GSO_TCP4 | US_NETDEV_F_CSUM_OFFLOAD;
  Pair p(o);
  p.connect();
  p.log.clear();
  Flow f(p.cli.s, p.srv.s, 8 << 20, 12);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(10)));
  EXPECT_FALSE(f.bad);
  size_t big = 0, total = 0;
  for (auto &s : p.segs(0)) {
    total++;
    if (s.len > 1448) big++;
  }
  EXPECT_GT(big, total / 2);  // most data left as 64 KiB units
  EXPECT_LT(total, (8u << 20) / 1448 / 10);
}

TEST(TcpApi, RestartAfterIdleShrinksCwnd) {
  Pair p;
  p.connect();
  Flow f(p.cli.s, p.srv.s, 4 << 20, 3);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(10)));
  p.t.run_for(US_MS(100));
  us_tcp_info i;
  us_tcp_get_info(p.cli.s, &i);
  ASSERT_GT(i.tcpi_snd_cwnd, 10u);
  p.t.run_for(US_SEC(5));  // idle for longer than an RTO
  p.sync();
  us_tcp_send(p.cli.s, "x", 1);
  us_tcp_get_info(p.cli.s, &i);
  EXPECT_EQ(10u, i.tcpi_snd_cwnd);
}

TEST(TcpApi, ShutdownReadAndErrorsAfterClose) {
  Pair p;
  p.connect();
  ASSERT_EQ(0, us_tcp_shutdown(p.srv.s, 0));  // SHUT_RD
  char b[4];
  EXPECT_EQ(0, us_tcp_recv(p.srv.s, b, 4));
  EXPECT_EQ(1, us_tcp_send(p.srv.s, "x", 1));   // writing still works
  EXPECT_EQ(-EINVAL, us_tcp_shutdown(p.srv.s, 3));
  EXPECT_EQ(-EISCONN, us_tcp_connect(p.cli.s, TwoStack::kIpB, p.port));
}

TEST(TcpApi, ConnectToAbsentHostIsUnreachable) {
  Pair p;
  Sock c;
  c.s = us_tcp_socket(p.t.a, on_event, &c);
  us_time_t t0 = p.t.now;
  ASSERT_EQ(-EINPROGRESS, us_tcp_connect(c.s, ustest::ip4(198, 18, 0, 77), 80));
  ASSERT_TRUE(p.t.run_until([&] { return c.ev & US_TCP_EV_ERROR; }, t0 + US_SEC(30)));
  EXPECT_EQ(EHOSTUNREACH, c.err);
  EXPECT_LE(p.t.now - t0, US_SEC(4));  // ARP gives up after 3 tries, 1 s apart
  us_tcp_close(c.s);
}

TEST(TcpApi, FragmentationNeededLowersMss) {
  Pair p;
  p.connect();
  Flow f(p.cli.s, p.srv.s, 100000, 5);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(2)));
  // A router says: next-hop MTU 1000. Quote the client's last segment.
  auto last = p.segs(0).back();
  icmp_frag_needed(p, p.cli_port(), p.port, last.seq, 1000);
  int mss = 0;
  us_tcp_getopt(p.cli.s, US_TCP_OPT_MAXSEG, &mss);
  EXPECT_EQ(1000 - 40 - 12, mss);
  p.log.clear();
  Flow g(p.cli.s, p.srv.s, 100000, 6);
  ASSERT_TRUE(p.t.run_until([&] { g.pump(); return g.done(); }, p.t.now + US_SEC(2)));
  EXPECT_FALSE(g.bad);
  for (auto &s : p.segs(0)) EXPECT_LE(s.len, 948u);
}

TEST(TcpApi, DuplicateDataAnsweredWithDsack) {
  Pair p;
  p.connect();
  ASSERT_EQ(4, us_tcp_send(p.cli.s, "abcd", 4));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_readable(p.srv.s) == 4; }, p.t.now + US_SEC(1)));
  p.t.run_for(US_MS(100));
  auto data = p.segs(0).back();
  ASSERT_EQ(4u, data.len);
  p.log.clear();
  // The same segment again (as a spurious retransmission would be).
  p.inject(1, p.cli_port(), p.port, data.seq, data.ack, TCP_ACK | TCP_PSH, 8192, {},
           {'a', 'b', 'c', 'd'});
  p.t.run_for(US_MS(5));
  auto acks = p.segs(1);
  ASSERT_EQ(1u, acks.size());
  ASSERT_EQ(1, acks[0].opt.nsack);
  EXPECT_EQ(data.seq, acks[0].opt.sack[0].start);  // RFC 2883: below the cumulative ACK
  EXPECT_EQ(data.seq + 4, acks[0].opt.sack[0].end);
  EXPECT_EQ(data.seq + 4, acks[0].ack);
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_DSACK_TX));
  EXPECT_EQ(4u, us_tcp_readable(p.srv.s));  // not delivered twice
}
