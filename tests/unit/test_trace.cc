// The trace sinks (shim/trace_*.c, stats_table.c) on a connection between
// two stacks in virtual time: the text lines in order with relative
// sequence numbers, the category filter, JSON lines, the statistics JSON
// with the bytes moved, and the one-line summaries of each event kind.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "tests/unit/test_tcp_util.h"

extern "C" {
#include "shim/trace_int.h"
#include "stack/dns_client.h"
}

using tcpt::Flow;
using tcpt::Pair;
using ustest::TwoStack;

namespace {

std::string slurp(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> lines(const std::string &s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  std::string l;
  while (std::getline(ss, l)) v.push_back(l);
  return v;
}

struct TmpDir {
  std::string path;
  TmpDir() {
    char t[] = "/tmp/ustack-trace-test.XXXXXX";
    path = mkdtemp(t);
  }
  ~TmpDir() { std::system(("rm -rf " + path).c_str()); }
  std::string f(const char *name) const { return path + "/" + name; }
};

// A traced client on A: connect, `up` bytes A->B, `down` bytes B->A, client
// closes first, then the server.
struct Traced {
  Pair p;
  TmpDir dir;
  us_trace *tr = nullptr;

  explicit Traced(unsigned cats, const ustest::TwoStackOptions &o = ustest::TwoStackOptions())
      : p(o) {
    us_config c;
    us_config_init(&c);
    c.trace = cats;
    snprintf(c.trace_file, sizeof c.trace_file, "%s", dir.f("trace.txt").c_str());
    snprintf(c.trace_json, sizeof c.trace_json, "%s", dir.f("trace.json").c_str());
    snprintf(c.stats_json, sizeof c.stats_json, "%s", dir.f("stats.json").c_str());
    snprintf(c.diagram, sizeof c.diagram, "%s", dir.f("diagram.html").c_str());
    char err[256];
    EXPECT_EQ(0, us_trace_attach(&tr, p.t.a, &c, err, sizeof err)) << err;
    EXPECT_NE(nullptr, tr);
  }
  void run(uint64_t up, uint64_t down) {
    p.connect();
    Flow fu(p.cli.s, p.srv.s, up), fd(p.srv.s, p.cli.s, down, 9);
    ASSERT_TRUE(p.t.run_until([&] { fu.pump(); fd.pump(); return fu.done() && fd.done(); },
                              p.t.now + US_SEC(300)));
    us_tcp_close(p.cli.s);
    p.cli.s = nullptr;
    ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.srv.s) == US_TCP_CLOSE_WAIT; },
                              p.t.now + US_SEC(5)));
    us_tcp_close(p.srv.s);
    p.srv.s = nullptr;
    p.t.run_for(US_SEC(1));
  }
  void detach() {
    us_trace_detach(tr, p.t.a);
    tr = nullptr;
  }
  ~Traced() {
    if (tr) us_trace_detach(tr, p.t.a);
  }
};

// Index of the first line at or after from containing all of parts; -1 if none.
int find_line(const std::vector<std::string> &v, std::initializer_list<const char *> parts, int from = 0) {
  for (size_t i = (size_t)from; i < v.size(); i++) {
    bool all = true;
    for (const char *p : parts) all = all && v[i].find(p) != std::string::npos;
    if (all) return (int)i;
  }
  return -1;
}

TEST(Trace, TextLinesTellTheStoryInOrder) {
  Traced x(US_TRACE_ALL);
  x.run(3000, 500);
  x.detach();
  auto v = lines(slurp(x.dir.f("trace.txt")));
  int arp_req = find_line(v, {"arp  who-has 198.18.0.1 tell 198.18.0.10"});
  int arp_rep = find_line(v, {"arp  198.18.0.1 is-at 02:00:00:00:00:01"});
  int tx_data = find_line(v, {"> 198.18.0.1:80 [ACK] seq=1 ack=1 ", "len=1448"});
  int rx_data = find_line(v, {"198.18.0.1:80 > ", "[PSH, ACK] seq=1 ack="});
  std::vector<int> at = {
      find_line(v, {"tcp  state CLOSED -> SYN_SENT", "198.18.0.10:"}),
      find_line(v, {"> 198.18.0.1:80 [SYN] seq=0 win=", "<mss 1460,sackOK,TS val", "wscale 10>"}),
      find_line(v, {"198.18.0.1:80 > 198.18.0.10:", "[SYN, ACK] seq=0 ack=1 "}),
      find_line(v, {"tcp  state SYN_SENT -> ESTABLISHED"}),
      find_line(v, {"tcp  cwnd 10 (initial"}),
      find_line(v, {"[ACK] seq=1 ack=1 "}),
      std::min(tx_data, rx_data),
      find_line(v, {"tcp  state ESTABLISHED -> FIN_WAIT_1"}),
      find_line(v, {"> 198.18.0.1:80 [FIN, ACK] seq=3001 ack=501 "}),
      find_line(v, {"tcp  state FIN_WAIT_1 -> FIN_WAIT_2"}),
      find_line(v, {"198.18.0.1:80 > ", "[FIN, ACK] seq=501 ack=3002 "}),
      find_line(v, {"tcp  state FIN_WAIT_2 -> TIME_WAIT"}),
      find_line(v, {"> 198.18.0.1:80 [ACK] seq=3002 ack=502 "}),
  };
  ASSERT_GE(tx_data, 0) << slurp(x.dir.f("trace.txt"));
  ASSERT_GE(rx_data, 0);
  for (size_t i = 0; i < at.size(); i++) ASSERT_GE(at[i], 0) << "line " << i << " missing";
  for (size_t i = 1; i < at.size(); i++) EXPECT_LT(at[i - 1], at[i]) << "line " << i;
  EXPECT_LT(std::max(tx_data, rx_data), at[7]);
  // The SYN waits for ARP: it is built, then the request and reply, then the SYN-ACK.
  EXPECT_LT(at[1], arp_req);
  EXPECT_LT(arp_req, arp_rep);
  EXPECT_LT(arp_rep, at[2]);
  // Every line starts with seconds.microseconds since the first event.
  EXPECT_EQ(0u, v[0].find("   0.000000 "));
  EXPECT_EQ(1, find_line(v, {"rtt "}) >= 0);
}

// Reordering makes the sender retransmit what was only late; D-SACKs and
// timestamps prove it, and the trace names the window's return as an undo.
TEST(Trace, SpuriousRecoveryIsNamedUndo) {
  ustest::TwoStackOptions o;
  o.seed = 3;
  for (int d = 0; d < 2; d++) {
    o.faults[d].reorder = 0.05;
    o.features[d] = US_NETDEV_F_GSO_TCP4 | US_NETDEV_F_CSUM_OFFLOAD;
  }
  Traced x(US_TRACE_CC, o);
  x.run(4 << 20, 0);
  x.detach();
  auto v = lines(slurp(x.dir.f("trace.txt")));
  int rec = find_line(v, {"tcp  cwnd ", "(fast recovery)"});
  ASSERT_GE(rec, 0) << slurp(x.dir.f("trace.txt"));
  EXPECT_GT(find_line(v, {"tcp  cwnd ", "(undo: every resend was spurious"}, rec), rec)
      << slurp(x.dir.f("trace.txt"));
  EXPECT_NE(std::string::npos, slurp(x.dir.f("trace.json")).find("\"undos\":1"));
}

TEST(Trace, CategoryFilter) {
  Traced x(US_TRACE_STATE);
  x.run(100, 100);
  x.detach();
  auto v = lines(slurp(x.dir.f("trace.txt")));
  ASSERT_FALSE(v.empty());
  for (auto &l : v) EXPECT_NE(std::string::npos, l.find("tcp  state ")) << l;
  EXPECT_GE(find_line(v, {"FIN_WAIT_2 -> TIME_WAIT"}), 0);
}

TEST(Trace, JsonLinesOnePerEvent) {
  Traced x(0);
  x.run(2000, 0);
  x.detach();
  auto v = lines(slurp(x.dir.f("trace.json")));
  size_t segs = 0;
  for (auto &l : v) {
    EXPECT_EQ('{', l.front());
    EXPECT_EQ('}', l.back());
    if (l.find("\"type\":\"tcp_seg\"") != std::string::npos) segs++;
  }
  EXPECT_EQ(x.p.log.size(), segs);  // every segment, both ways
  EXPECT_GE(find_line(v, {"\"type\":\"tcp_state\"", "\"to\":\"TIME_WAIT\""}), 0);
  EXPECT_GE(find_line(v, {"\"flags\":\"SYN\"", "\"rel_seq\":0"}), 0);
}

TEST(Trace, StatsJsonHasTheBytesMoved) {
  Traced x(0);
  x.run(123456, 7890);
  x.detach();
  std::string j = slurp(x.dir.f("stats.json"));
  EXPECT_NE(std::string::npos, j.find("\"bytes_acked\": 123456,")) << j;
  EXPECT_NE(std::string::npos, j.find("\"bytes_received\": 7890,")) << j;
  EXPECT_NE(std::string::npos, j.find("\"state\": \"TIME_WAIT\""));
  EXPECT_NE(std::string::npos, j.find("\"TCP_ACTIVE_OPEN\": 1"));
}

us_event seg_event(int dir, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len) {
  us_event e{};
  e.type = US_EV_TCP_SEG;
  e.dir = (uint8_t)dir;
  e.has_conn = 1;
  e.conn = {TwoStack::kIpA, TwoStack::kIpB, 40001, 80};
  e.u.seg.sip = dir == US_EV_TX ? TwoStack::kIpA : TwoStack::kIpB;
  e.u.seg.dip = dir == US_EV_TX ? TwoStack::kIpB : TwoStack::kIpA;
  e.u.seg.sport = dir == US_EV_TX ? 40001 : 80;
  e.u.seg.dport = dir == US_EV_TX ? 80 : 40001;
  e.u.seg.flags = flags;
  e.u.seg.seq = seq;
  e.u.seg.ack = ack;
  e.u.seg.len = len;
  e.u.seg.win = 502;
  return e;
}

TEST(Trace, Summaries) {
  us_trace t{};
  t.tail = &t.conns;
  char buf[512];
  unsigned cat;
  us_event e{};
  e.type = US_EV_ARP;
  e.u.arp = {1, TwoStack::kIpA, TwoStack::kIpB, {2, 0, 0, 0, 0, 0x0a}, {}};
  tr_describe(&t, nullptr, &e, buf, sizeof buf, &cat);
  EXPECT_STREQ("arp  who-has 198.18.0.1 tell 198.18.0.10", buf);
  EXPECT_EQ((unsigned)US_TRACE_ARP, cat);
  e.u.arp = {2, TwoStack::kIpB, TwoStack::kIpA, {2, 0, 0, 0, 0, 1}, {}};
  tr_describe(&t, nullptr, &e, buf, sizeof buf, &cat);
  EXPECT_STREQ("arp  198.18.0.1 is-at 02:00:00:00:00:01", buf);

  e = us_event{};
  e.type = US_EV_DNS_RESULT;
  snprintf(e.u.dns.name, sizeof e.u.dns.name, "web.ustack.test");
  e.u.dns.n4 = 1;
  e.u.dns.v4[0] = TwoStack::kIpB;
  e.u.dns.elapsed = US_MS(2);
  tr_describe(&t, nullptr, &e, buf, sizeof buf, &cat);
  EXPECT_STREQ("dns  web.ustack.test -> 198.18.0.1 (2 ms)", buf);
  EXPECT_EQ((unsigned)US_TRACE_DNS, cat);
  e.type = US_EV_DNS_QUERY;
  e.u.dns.qtype = 1;
  e.u.dns.id = 0x1234;
  e.u.dns.tries = 1;
  tr_describe(&t, nullptr, &e, buf, sizeof buf, &cat);
  EXPECT_STREQ("dns  A? web.ustack.test (id 0x1234)", buf);

  // Relative numbers: the connection learns each side's ISN from its SYN.
  us_event syn = seg_event(US_EV_TX, TCP_SYN, 1000000, 0, 0);
  syn.u.seg.opt_has = TCP_OPT_F_MSS | TCP_OPT_F_WS;
  syn.u.seg.mss = 1460;
  syn.u.seg.wscale = 7;
  tr_conn *c = tr_conn_of(&t, &syn);
  ASSERT_NE(nullptr, c);
  c->isn_l = 1000000;
  c->isn_r = 5000;
  tr_describe(&t, c, &syn, buf, sizeof buf, &cat);
  EXPECT_STREQ("tcp  198.18.0.10:40001 > 198.18.0.1:80 [SYN] seq=0 win=502 len=0 <mss 1460,wscale 7>", buf);
  us_event data = seg_event(US_EV_RX, TCP_ACK | TCP_PSH, 5001, 1000079, 200);
  tr_describe(&t, c, &data, buf, sizeof buf, &cat);
  EXPECT_STREQ("tcp  198.18.0.1:80 > 198.18.0.10:40001 [PSH, ACK] seq=1 ack=79 win=502 len=200", buf);
  c->ws_l = 7;
  c->ws_r = 10;
  tr_describe(&t, c, &data, buf, sizeof buf, &cat);
  EXPECT_NE(nullptr, strstr(buf, " win=514048 "));  // 502 << 10

  us_event rtx{};
  rtx.type = US_EV_TCP_RETRANS;
  rtx.has_conn = 1;
  rtx.conn = syn.conn;
  rtx.u.rtx = {1014481, 1448, US_EV_RTX_TIMEOUT};
  rtx.snap.rto_us = 412000;
  rtx.snap.backoff = 1;
  tr_describe(&t, c, &rtx, buf, sizeof buf, &cat);
  EXPECT_EQ(0, strncmp(buf, "tcp  retransmit seq=14481 len=1448 (RTO 412 ms, backoff 1)", 58)) << buf;

  us_event drop{};
  drop.type = US_EV_COUNT;
  drop.u.count.counter = US_CNT_TCP_DROP_CSUM;
  tr_describe(&t, nullptr, &drop, buf, sizeof buf, &cat);
  EXPECT_STREQ("drop tcp dropped: bad checksum (TCP_DROP_CSUM)", buf);
  EXPECT_EQ((unsigned)US_TRACE_DROP, cat);
  EXPECT_FALSE(tr_counter_is_drop(US_CNT_TCP_RX));
  free(c);
}

TEST(Trace, ConfigFlags) {
  us_config c;
  us_config_init(&c);
  char err[256];
  int prog;
  char a0[] = "ustack", a1[] = "--trace=arp,state", a2[] = "--stats", a3[] = "--diagram",
       a4[] = "/tmp/d.html", a5[] = "--stats-json", a6[] = "/tmp/s.json", a7[] = "--", a8[] = "true";
  char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8};
  ASSERT_EQ(US_CONFIG_OK, us_config_parse_args(&c, 9, argv, &prog, err, sizeof err)) << err;
  EXPECT_EQ(8, prog);
  EXPECT_EQ((unsigned)(US_TRACE_ARP | US_TRACE_STATE), c.trace);
  EXPECT_EQ(1, c.stats);
  EXPECT_STREQ("/tmp/d.html", c.diagram);
  EXPECT_STREQ("/tmp/s.json", c.stats_json);
  us_config_init(&c);
  char b1[] = "--trace", b2[] = "curl";
  char *argv2[] = {a0, b1, b2};
  ASSERT_EQ(US_CONFIG_OK, us_config_parse_args(&c, 3, argv2, &prog, err, sizeof err));
  EXPECT_EQ((unsigned)US_TRACE_ALL, c.trace);  // no value: everything, and curl is the program
  EXPECT_EQ(2, prog);
  char c1[] = "--trace=arp,bogus";
  char *argv3[] = {a0, c1, b2};
  EXPECT_EQ(US_CONFIG_ERROR, us_config_parse_args(&c, 3, argv3, &prog, err, sizeof err));
  EXPECT_NE(nullptr, strstr(err, "bogus"));
}

}  // namespace
