// The net.ipv4 sysctls on the in-memory wire: each one changes what the next
// socket does, as on Linux (tcp_sock.h us_tcp_sysctls), with virtual time so
// the retry counts and timeouts are exact.
#include <cerrno>

#include "tests/unit/test_tcp_util.h"

extern "C" {
#include "stack/counters.h"
}

using namespace tcpt;

namespace {

void set_sys(us_stack *s, void (*f)(us_tcp_sysctls *)) {
  us_tcp_sysctls v;
  us_tcp_get_sysctls(s, &v);
  f(&v);
  ASSERT_EQ(0, us_tcp_set_sysctls(s, &v));
}

// A second client socket on side A, connected to B's listener.
us_tcp_sock *connect_more(Pair &p, Sock &k) {
  k.s = us_tcp_socket(p.t.a, on_event, &k);
  EXPECT_EQ(-EINPROGRESS, us_tcp_connect(k.s, TwoStack::kIpB, p.port));
  EXPECT_TRUE(p.t.run_until([&] { return (k.ev & US_TCP_EV_CONNECTED) != 0; }, p.t.now + US_SEC(5)));
  return k.s;
}

}  // namespace

TEST(TcpSysctl, DefaultsAreLinuxs) {
  us_tcp_sysctls v;
  us_tcp_sysctls_default(&v);
  EXPECT_EQ(131072u, v.rmem[1]);
  EXPECT_EQ(33554432u, v.rmem[2]);
  EXPECT_EQ(16384u, v.wmem[1]);
  EXPECT_EQ(2, v.ecn);
  EXPECT_EQ(6, v.syn_retries);
  EXPECT_EQ(32768, v.port_lo);
  EXPECT_EQ(60999, v.port_hi);
  Pair p;
  p.connect();
  int rcv = 0, snd = 0;
  us_tcp_sock *fresh = us_tcp_socket(p.t.a, on_event, nullptr);
  us_tcp_getopt(fresh, US_TCP_OPT_RCVBUF, &rcv);
  us_tcp_getopt(fresh, US_TCP_OPT_SNDBUF, &snd);
  EXPECT_EQ(131072, rcv);  // tcp_rmem[1], as getsockopt(SO_RCVBUF) on Linux
  EXPECT_EQ(16384, snd);
  us_tcp_close(fresh);
  us_tcp_sysctls bad = v;
  bad.port_lo = 61000;  // above port_hi: Linux refuses it, so do we
  bad.port_hi = 60000;
  EXPECT_EQ(-EINVAL, us_tcp_set_sysctls(p.t.a, &bad));
}

// tcp_timestamps=0 and tcp_sack=0 take effect for the next connect of a
// stack that already has connections, and the SYN-ACK of a listener too.
TEST(TcpSysctl, TimestampsAndSackOffForTheNextSocket) {
  Pair p;
  p.connect();
  auto first = p.segs(0, TCP_SYN, TCP_SYN);
  ASSERT_EQ(1u, first.size());
  EXPECT_TRUE(first[0].opt.has & TCP_OPT_F_TS);
  EXPECT_TRUE(first[0].opt.has & TCP_OPT_F_SACKOK);
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->timestamps = 0; v->sack = 0; });
  p.log.clear();
  Sock k;
  connect_more(p, k);
  auto syn = p.segs(0, TCP_SYN, TCP_SYN);
  ASSERT_EQ(1u, syn.size());
  EXPECT_FALSE(syn[0].opt.has & TCP_OPT_F_TS);
  EXPECT_FALSE(syn[0].opt.has & TCP_OPT_F_SACKOK);
  EXPECT_TRUE(syn[0].opt.has & TCP_OPT_F_WS);
  us_tcp_info i;
  us_tcp_get_info(k.s, &i);
  EXPECT_EQ(4u, i.tcpi_options);  // window scaling only
  us_tcp_get_info(p.cli.s, &i);
  EXPECT_EQ(7u, i.tcpi_options);  // the first connection keeps what it agreed
  us_tcp_close(k.s);
  // The passive side: B stops answering with them.
  set_sys(p.t.b, [](us_tcp_sysctls *v) { v->timestamps = 0; v->sack = 0; });
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->timestamps = 1; v->sack = 1; });
  p.log.clear();
  Sock k2;
  connect_more(p, k2);
  auto sa = p.segs(1, TCP_SYN, TCP_SYN);
  ASSERT_EQ(1u, sa.size());
  EXPECT_FALSE(sa[0].opt.has & TCP_OPT_F_TS);
  EXPECT_FALSE(sa[0].opt.has & TCP_OPT_F_SACKOK);
  us_tcp_close(k2.s);
}

// Linux's tcp_select_initial_window: wscale = ilog2(max(tcp_rmem[2],
// core.rmem_max)) - 15, on both the SYN and the SYN-ACK; no option at all
// with tcp_window_scaling=0.
TEST(TcpSysctl, WindowScaleFromRmemMax) {
  Pair p;
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->rmem[2] = 1 << 20; v->core_rmem_max = 212992; });
  set_sys(p.t.b, [](us_tcp_sysctls *v) { v->rmem[2] = 4096 * 64; v->core_rmem_max = 4 << 20; });
  p.connect();
  EXPECT_EQ(5, p.segs(0, TCP_SYN, TCP_SYN)[0].opt.wscale);  // ilog2(1 MiB) - 15
  EXPECT_EQ(7, p.segs(1, TCP_SYN, TCP_SYN)[0].opt.wscale);  // rmem_max 4 MiB wins
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->window_scaling = 0; });
  p.log.clear();
  Sock k;
  connect_more(p, k);
  EXPECT_FALSE(p.segs(0, TCP_SYN, TCP_SYN)[0].opt.has & TCP_OPT_F_WS);
  us_tcp_close(k.s);
}

// tcp_syn_retries=2: the SYN and two retransmissions (1 s, 2 s apart), then
// ETIMEDOUT after 1 + 2 + 4 s, read when the timer fires.
TEST(TcpSysctl, SynRetries) {
  Pair p;
  p.listen();
  p.blackhole(0);
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->syn_retries = 2; });
  p.sync();
  us_time_t start = p.t.now;
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return (p.cli.ev & US_TCP_EV_ERROR) != 0; }, p.t.now + US_SEC(200)));
  EXPECT_EQ(ETIMEDOUT, p.cli.err);
  auto syn = p.segs(0, TCP_SYN, TCP_SYN);
  ASSERT_EQ(3u, syn.size());
  EXPECT_EQ(US_SEC(1), syn[1].at - start);  // (the first waited for ARP)
  EXPECT_EQ(US_SEC(3), syn[2].at - start);
  EXPECT_EQ(US_SEC(7), p.t.now - start);
}

// tcp_synack_retries=1 on the listener: one SYN-ACK resent, then the child goes.
TEST(TcpSysctl, SynackRetries) {
  Pair p;
  set_sys(p.t.b, [](us_tcp_sysctls *v) { v->synack_retries = 1; });
  p.listen();
  int syns = 0;  // B gets the first SYN only, A gets nothing back
  p.t.drop = [&](int d, uint64_t, const uint8_t *f, size_t n) {
    Seg s;
    if (!parse_frame(f, n, &s)) return false;
    return d == 1 || (s.flags & TCP_SYN && ++syns > 1);
  };
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_conn_count(p.t.b) == 2; }, p.t.now + US_SEC(1)));
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_conn_count(p.t.b) == 1; }, p.t.now + US_SEC(30)));
  auto sa = p.segs(1, TCP_SYN | TCP_ACK, TCP_SYN | TCP_ACK);
  ASSERT_EQ(2u, sa.size());
  EXPECT_EQ(US_SEC(1), sa[1].at - sa[0].at);
  EXPECT_EQ(US_SEC(3), p.t.now - sa[0].at);  // 1 s + 2 s, then the child goes
}

// tcp_fin_timeout: an orphan in FIN-WAIT-2 lasts that long.
TEST(TcpSysctl, FinTimeout) {
  Pair p;
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->fin_timeout = 5; });
  p.connect();
  uint32_t before = us_tcp_conn_count(p.t.a);
  p.sync();
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  us_time_t closed = p.t.now;
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_conn_count(p.t.a) < before; }, p.t.now + US_SEC(100)));
  EXPECT_GE(p.t.now - closed, US_SEC(5));
  EXPECT_LT(p.t.now - closed, US_SEC(5) + US_MS(100));
}

// tcp_keepalive_time/intvl/probes, for a socket that set only SO_KEEPALIVE,
// read when the timer fires: a change reaches a socket already open.
TEST(TcpSysctl, Keepalive) {
  Pair p;
  p.connect();
  set_sys(p.t.a, [](us_tcp_sysctls *v) {
    v->keepalive_time = 10;
    v->keepalive_intvl = 2;
    v->keepalive_probes = 3;
  });
  int idle = 0;
  us_tcp_getopt(p.cli.s, US_TCP_OPT_KEEPIDLE, &idle);
  EXPECT_EQ(10, idle);
  p.sync();
  us_time_t start = p.t.now;
  us_tcp_setopt(p.cli.s, US_TCP_OPT_KEEPALIVE, 1);
  p.blackhole(1);
  p.log.clear();
  ASSERT_TRUE(p.t.run_until([&] { return (p.cli.ev & US_TCP_EV_ERROR) != 0; }, p.t.now + US_SEC(100)));
  EXPECT_EQ(ETIMEDOUT, p.cli.err);
  auto probes = p.segs(0);
  ASSERT_EQ(3u, probes.size());
  // From the last segment received (which came just before start).
  EXPECT_LE(probes[0].at - start, US_SEC(10));
  EXPECT_GT(probes[0].at - start, US_SEC(10) - US_MS(10));
  EXPECT_EQ(US_SEC(2), probes[1].at - probes[0].at);
  EXPECT_EQ(US_SEC(2), probes[2].at - probes[1].at);
  EXPECT_EQ(US_SEC(2), p.t.now - probes[2].at);  // then ETIMEDOUT
}

// ip_local_port_range bounds connect's and bind(0)'s ports.
TEST(TcpSysctl, LocalPortRange) {
  Pair p;
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->port_lo = 40000; v->port_hi = 40001; });
  p.connect();
  EXPECT_EQ(40000, p.cli_port() & ~1);
  Sock k;
  connect_more(p, k);
  uint32_t ip;
  uint16_t port;
  us_tcp_getsockname(k.s, &ip, &port);
  EXPECT_EQ(40000, port & ~1);
  EXPECT_NE(p.cli_port(), port);
  us_tcp_sock *third = us_tcp_socket(p.t.a, on_event, nullptr);
  EXPECT_EQ(-EADDRNOTAVAIL, us_tcp_connect(third, TwoStack::kIpB, p.port));
  us_tcp_close(third);
  us_tcp_close(k.s);
}

// tcp_ecn=2 (the default) on both: nobody asks, nothing is marked.
TEST(TcpEcn, DefaultNeitherAsks) {
  Pair p;
  p.connect();
  Flow f(p.cli.s, p.srv.s, 20000);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(2)));
  for (auto &s : p.log) {
    EXPECT_EQ(0, s.flags & (TCP_ECE | TCP_CWR));
    EXPECT_EQ(0, s.tos & 3);
  }
}

// tcp_ecn=1 asks (SYN with ECE|CWR); a tcp_ecn=2 listener accepts (SYN-ACK
// with ECE only); new data goes ECT(0), ACKs and SYNs Not-ECT.
TEST(TcpEcn, RequestedAndAccepted) {
  Pair p;
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->ecn = 1; });
  p.connect();
  auto syn = p.segs(0, TCP_SYN, TCP_SYN);
  auto sa = p.segs(1, TCP_SYN, TCP_SYN);
  ASSERT_EQ(1u, syn.size());
  EXPECT_EQ(TCP_ECE | TCP_CWR, syn[0].flags & (TCP_ECE | TCP_CWR));
  EXPECT_EQ(TCP_ECE, sa[0].flags & (TCP_ECE | TCP_CWR));
  EXPECT_EQ(0, syn[0].tos & 3);
  EXPECT_EQ(0, sa[0].tos & 3);
  us_tcp_info i;
  us_tcp_get_info(p.cli.s, &i);
  EXPECT_EQ(1u | 2u | 4u | 8u, i.tcpi_options);  // TCPI_OPT_ECN, as ss -i shows "ecn"
  us_tcp_get_info(p.srv.s, &i);
  EXPECT_EQ(1u | 2u | 4u | 8u, i.tcpi_options);
  Flow f(p.cli.s, p.srv.s, 20000);
  Flow g(p.srv.s, p.cli.s, 3000, 5);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); g.pump(); return f.done() && g.done(); },
                            p.t.now + US_SEC(2)));
  int data = 0;
  for (auto &s : p.log) {
    if (s.flags & TCP_SYN) continue;
    EXPECT_EQ(s.len ? 2 : 0, s.tos & 3) << "dir " << s.dir << " len " << s.len;  // ECT(0)
    EXPECT_EQ(0, s.flags & (TCP_ECE | TCP_CWR));
    data += s.len > 0;
  }
  EXPECT_GT(data, 10);
}

// A listener with tcp_ecn=0 does not accept: no ECE on the SYN-ACK, no ECT.
TEST(TcpEcn, RefusedByTheListener) {
  Pair p;
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->ecn = 1; });
  set_sys(p.t.b, [](us_tcp_sysctls *v) { v->ecn = 0; });
  p.connect();
  EXPECT_EQ(0, p.segs(1, TCP_SYN, TCP_SYN)[0].flags & (TCP_ECE | TCP_CWR));
  Flow f(p.cli.s, p.srv.s, 20000);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(2)));
  for (auto &s : p.segs(0)) EXPECT_EQ(0, s.tos & 3);
}

// A retransmitted SYN no longer asks (Linux's tcp_ecn_fallback).
TEST(TcpEcn, RetransmittedSynDropsTheRequest) {
  Pair p;
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->ecn = 1; });
  p.listen();
  bool on = true;
  p.blackhole(0, &on);
  p.start_connect();
  p.t.run_until([] { return false; }, p.t.now + US_MS(1500));
  on = false;
  ASSERT_TRUE(p.t.run_until([&] { return (p.cli.ev & US_TCP_EV_CONNECTED) != 0; }, p.t.now + US_SEC(5)));
  auto syn = p.segs(0, TCP_SYN, TCP_SYN);
  ASSERT_EQ(3u, syn.size());
  EXPECT_EQ(TCP_ECE | TCP_CWR, syn[0].flags & (TCP_ECE | TCP_CWR));
  EXPECT_EQ(0, syn[2].flags & (TCP_ECE | TCP_CWR));
  EXPECT_EQ(0, p.segs(1, TCP_SYN, TCP_SYN)[0].flags & TCP_ECE);
}

// A router marks one data segment CE: the receiver sets ECE on its ACKs
// until the sender's CWR; the sender cuts cwnd once for the window and sets
// CWR on its next new data.
TEST(TcpEcn, CongestionExperiencedEchoedUntilCwr) {
  TwoStackOptions o;
  o.faults[0].delay = o.faults[1].delay = US_MS(5);
  Pair p(o);
  set_sys(p.t.a, [](us_tcp_sysctls *v) { v->ecn = 1; });
  p.connect();
  // The 20th data frame A sends reaches B marked CE (IP checksum fixed).
  int data_frames = 0;
  p.t.rx_mangle = [&](int side, std::vector<uint8_t> &fr) {
    Seg s;
    if (side != 1 || !parse_frame(fr.data(), fr.size(), &s) || !s.len || ++data_frames != 20)
      return;
    uint8_t *ip = &fr[14];
    ip[1] |= 3;
    ip[10] = ip[11] = 0;
    uint16_t c = us_csum_fold(us_csum_add(0, ip, 20));
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
  };
  Flow f(p.cli.s, p.srv.s, 2 << 20);
  ASSERT_TRUE(p.t.run_until([&] {
    f.pump();
    return f.done();
  }, p.t.now + US_SEC(10)));
  EXPECT_FALSE(f.bad);
  EXPECT_EQ(1u, p.t.counter(1, US_CNT_TCP_ECN_CE));
  EXPECT_EQ(1u, p.t.counter(0, US_CNT_TCP_ECN_ECE));  // one reduction for the window
  // B: ECE on every ACK from the CE until A's CWR reached it.
  size_t first_ece = 0, cwr = 0, last_ece = 0;
  for (size_t i = 0; i < p.log.size(); i++) {
    const Seg &s = p.log[i];
    if (s.dir == 1 && (s.flags & TCP_ECE) && !(s.flags & TCP_SYN)) {
      if (!first_ece) first_ece = i;
      last_ece = i;
    }
    if (s.dir == 0 && (s.flags & TCP_CWR) && !(s.flags & TCP_SYN)) {
      EXPECT_EQ(0u, cwr) << "one CWR";
      cwr = i;
      EXPECT_GT(s.len, 0u);
    }
  }
  ASSERT_GT(first_ece, 0u);
  ASSERT_GT(cwr, first_ece);
  for (size_t i = first_ece; i < p.log.size(); i++)
    if (p.log[i].dir == 1 && p.log[i].at < p.log[cwr].at + US_MS(5))
      EXPECT_TRUE(p.log[i].flags & TCP_ECE) << i;
  EXPECT_LT(p.log[last_ece].at, p.log[cwr].at + US_MS(5) + US_MS(1));
  us_tcp_info after;
  us_tcp_get_info(p.cli.s, &after);
  EXPECT_LT(after.tcpi_snd_ssthresh, 0x7fffffffu);  // slow start ended on the ECE
  EXPECT_EQ(0u, after.tcpi_total_retrans);          // nothing was lost
}

// Receive-buffer autotuning: a reader that keeps up lets the window grow
// from tcp_rmem[1] toward tcp_rmem[2]; SO_RCVBUF locks it.
namespace {
uint32_t max_window(Pair &p, int dir, uint8_t wscale) {
  uint32_t m = 0;
  for (auto &s : p.segs(dir))
    if (!(s.flags & TCP_SYN)) m = std::max(m, (uint32_t)s.win << wscale);
  return m;
}
}  // namespace

TEST(TcpRcvBuf, AutotuningGrowsTheWindow) {
  TwoStackOptions o;
  o.faults[0].delay = o.faults[1].delay = US_MS(10);
  Pair p(o);
  set_sys(p.t.b, [](us_tcp_sysctls *v) { v->rmem[2] = 3 << 20; });
  p.connect();
  uint8_t ws = p.segs(1, TCP_SYN, TCP_SYN)[0].opt.wscale;
  Flow f(p.cli.s, p.srv.s, 40 << 20);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(60)));
  EXPECT_FALSE(f.bad);
  uint32_t m = max_window(p, 1, ws);
  EXPECT_GT(m, 2u << 20) << "started at 128 KiB";
  EXPECT_LE(m, 3u << 20) << "never beyond tcp_rmem[2]";
  int rcv = 0;
  us_tcp_getopt(p.srv.s, US_TCP_OPT_RCVBUF, &rcv);
  EXPECT_GT(rcv, 2 << 20);
  int snd = 0;  // and the sender's buffer grew with its cwnd
  us_tcp_getopt(p.cli.s, US_TCP_OPT_SNDBUF, &snd);
  EXPECT_GT(snd, 16384);
}

TEST(TcpRcvBuf, SoRcvbufLocksIt) {
  TwoStackOptions o;
  o.faults[0].delay = o.faults[1].delay = US_MS(10);
  Pair p(o);
  p.listen();
  us_tcp_setopt(p.lsn.s, US_TCP_OPT_RCVBUF, 128 << 10);  // 256 KiB, as Linux doubles it
  p.start_connect();
  ASSERT_TRUE(p.t.run_until([&] { return (p.lsn.ev & US_TCP_EV_ACCEPT) != 0; }, p.t.now + US_SEC(5)));
  ASSERT_TRUE(p.accept());
  uint8_t ws = p.segs(1, TCP_SYN, TCP_SYN)[0].opt.wscale;
  Flow f(p.cli.s, p.srv.s, 10 << 20);
  ASSERT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(60)));
  EXPECT_LE(max_window(p, 1, ws), 256u << 10);
}

// ECN beside loss recovery: both ends with tcp_ecn=1, 3% loss each way and
// every 50th data frame marked CE; every byte arrives, in order.
TEST(TcpEcn, MarksAndLossTogether) {
  TwoStackOptions o;
  for (int d = 0; d < 2; d++) o.faults[d].loss = 0.03;
  Pair p(o);
  p.logging = false;
  for (int i = 0; i < 2; i++) set_sys(p.t.st[i], [](us_tcp_sysctls *v) { v->ecn = 1; });
  p.connect();
  int n = 0;
  std::vector<std::vector<uint8_t>> held;
  p.t.drop = [&](int d, uint64_t, const uint8_t *f, size_t len) {
    Seg s;
    if (d != 0 || !parse_frame(f, len, &s) || !s.len || ++n % 50) return false;
    held.emplace_back(f, f + len);
    uint8_t *ip = &held.back()[14];
    ip[1] |= 3;
    ip[10] = ip[11] = 0;
    uint16_t c = us_csum_fold(us_csum_add(0, ip, 20));
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    return true;
  };
  Flow f(p.cli.s, p.srv.s, 4 << 20, 3);
  ASSERT_TRUE(p.t.run_until([&] {
    for (auto &h : held) us_stack_input(p.t.b, h.data(), h.size(), nullptr, p.t.now);
    held.clear();
    f.pump();
    return f.done();
  }, p.t.now + US_SEC(120)));
  EXPECT_FALSE(f.bad);
  EXPECT_GT(p.t.counter(1, US_CNT_TCP_ECN_CE), 0u);
  EXPECT_GT(p.t.counter(0, US_CNT_TCP_ECN_ECE), 0u);
}
