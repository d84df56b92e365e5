// ICMP (echo, errors sent with rate limiting, errors received and delivered)
// and UDP (parser, checksum rules, demultiplexing, ports), alone and over the
// memwire between two stacks.
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/frames.h"
#include "tests/unit/twostack.h"

extern "C" {
#include "stack/icmp.h"
#include "stack/ipv4_wire.h"
#include "stack/stack.h"
#include "stack/udp.h"
#include "stack/udp_table.h"
}

using namespace ustest;

namespace {
struct Sink {
  std::vector<Bytes> got;
  std::vector<uint32_t> from;
  std::vector<int> errs;
  static void on_dgram(void *u, udp_sock *, uint32_t ip, uint16_t, const uint8_t *d, size_t n) {
    static_cast<Sink *>(u)->got.emplace_back(d, d + n);
    static_cast<Sink *>(u)->from.push_back(ip);
  }
  static void on_err(void *u, udp_sock *, int err, uint32_t, uint16_t) {
    static_cast<Sink *>(u)->errs.push_back(err);
  }
  static const udp_sock_ops ops;
};
const udp_sock_ops Sink::ops = {Sink::on_dgram, Sink::on_err};

Bytes to_us(uint8_t proto, const Bytes &l4, uint32_t src = kIpPeer, uint32_t dst = kIpUs,
            const uint8_t *dmac = kMacA) {
  return eth(dmac, kMacPeer, 0x0800, ipv4(src, dst, proto, l4));
}
}  // namespace

// ---------------- ICMP ----------------

TEST(IcmpWire, Parse) {
  icmp_hdr h;
  us_counter why;
  Bytes m = icmp(8, 0, 0x00070001, str("ping"));
  ASSERT_EQ(0, icmp_parse(m.data(), m.size(), &h, &why));
  EXPECT_EQ(8, h.type);
  EXPECT_EQ(0x00070001u, h.rest);
  EXPECT_EQ(-1, icmp_parse(m.data(), 7, &h, &why));
  EXPECT_EQ(US_CNT_ICMP_DROP_SHORT, why);
  m[9] ^= 0x40;
  EXPECT_EQ(-1, icmp_parse(m.data(), m.size(), &h, &why));
  EXPECT_EQ(US_CNT_ICMP_DROP_CSUM, why);
}

TEST(Icmp, EchoReplyMirrorsRequest) {
  OneStack os;
  os.learn_peer();
  Bytes data = str("0123456789abcdef, an echo payload");
  os.input(to_us(1, icmp(8, 0, 0xbeef0003, data)));
  ASSERT_EQ(1u, os.cap.sent.size());
  const Bytes &r = os.cap.sent[0];
  EXPECT_EQ(0, memcmp(r.data(), kMacPeer, 6));
  EXPECT_EQ(kIpUs, get32(r.data() + 26));
  EXPECT_EQ(kIpPeer, get32(r.data() + 30));
  Bytes m(r.begin() + 34, r.end());
  EXPECT_EQ(icmp(0, 0, 0xbeef0003, data), m);
  EXPECT_EQ(1u, os.cnt(US_CNT_ICMP_ECHO_RX));
}

TEST(Icmp, EchoToBroadcastIgnoredAndBadOnesDropped) {
  OneStack os;
  os.learn_peer();
  os.input(to_us(1, icmp(8, 0, 1, str("b")), kIpPeer, 0xC61200FF, kBcast));
  EXPECT_EQ(1u, os.cnt(US_CNT_ICMP_DROP_BCAST));
  Bytes bad = icmp(8, 0, 1, str("x"));
  bad[2] ^= 1;
  os.input(to_us(1, bad));
  EXPECT_EQ(1u, os.cnt(US_CNT_ICMP_DROP_CSUM));
  os.input(to_us(1, Bytes(4, 0)));
  EXPECT_EQ(1u, os.cnt(US_CNT_ICMP_DROP_SHORT));
  os.input(to_us(1, icmp(13, 0, 0, Bytes(12))));  // timestamp: not answered
  EXPECT_EQ(1u, os.cnt(US_CNT_ICMP_DROP_TYPE));
  EXPECT_TRUE(os.cap.sent.empty());
}

TEST(Icmp, PortUnreachableQuotesDatagramAndIsRateLimited) {
  OneStack os;
  os.learn_peer();
  Bytes dg = ipv4(kIpPeer, kIpUs, 17, udp(kIpPeer, kIpUs, 1234, 999, str("nobody home")));
  os.input(eth(kMacA, kMacPeer, 0x0800, dg));
  ASSERT_EQ(1u, os.cap.sent.size());
  const Bytes &r = os.cap.sent[0];
  EXPECT_EQ(Bytes(r.begin() + 34, r.end()), icmp(3, 3, 0, dg));
  EXPECT_EQ(1u, os.cnt(US_CNT_UDP_NO_PORT));
  // Burst of 6 per destination, then one per second (Linux icmp_ratelimit).
  for (int i = 0; i < 20; i++) os.input(eth(kMacA, kMacPeer, 0x0800, dg));
  EXPECT_EQ(6u, os.cap.sent.size());
  EXPECT_EQ(15u, os.cnt(US_CNT_ICMP_RATELIMIT));
  os.advance_to(os.now + US_SEC(1));
  os.input(eth(kMacA, kMacPeer, 0x0800, dg));
  os.input(eth(kMacA, kMacPeer, 0x0800, dg));
  EXPECT_EQ(7u, os.cap.sent.size());
  // None for broadcasts.
  Bytes bc = ipv4(kIpPeer, 0xFFFFFFFF, 17, udp(kIpPeer, 0xFFFFFFFF, 1, 999, str("x")));
  os.advance_to(os.now + US_SEC(10));
  os.input(eth(kBcast, kMacPeer, 0x0800, bc));
  size_t icmps = 0;
  for (size_t i = 0; i < os.cap.sent.size(); i++) icmps += os.cap.ipproto(i) == 1;
  EXPECT_EQ(7u, icmps);  // (the rest are ARP probes of the stale neighbour)
}

TEST(Icmp, NoErrorAboutAnError) {
  OneStack os;
  os.learn_peer();
  Bytes inner = ipv4(kIpUs, kIpOther, 17, Bytes(8));
  // An ICMP error carrying an unknown protocol inside must not be answered;
  // an unknown-proto datagram gets one, but not if it is itself ICMP error.
  os.input(to_us(1, icmp(3, 1, 0, inner)));
  EXPECT_TRUE(os.cap.sent.empty());
}

TEST(Icmp, ErrorsReachTheUdpSocket) {
  struct Case {
    uint8_t type, code;
    int err;
  } cases[] = {{3, 3, ECONNREFUSED}, {3, 1, EHOSTUNREACH}, {3, 0, ENETUNREACH},
               {3, 13, EHOSTUNREACH}, {11, 0, EHOSTUNREACH}, {12, 0, EPROTO}};
  for (auto c : cases) {
    OneStack os;
    os.learn_peer();
    Sink sink;
    udp_sock *u = us_udp_open(os.s, &Sink::ops, &sink);
    ASSERT_EQ(0, us_udp_connect(u, kIpOther, 53));
    ASSERT_EQ(2, us_udp_sendto(u, 0, 0, "hi", 2));
    uint16_t lport;
    us_udp_local(u, nullptr, &lport);
    Bytes sent = ipv4(kIpUs, kIpOther, 17, udp(kIpUs, kIpOther, lport, 53, str("hi")));
    os.input(to_us(1, icmp(c.type, c.code, 0, sent)));
    ASSERT_EQ(1u, sink.errs.size()) << (int)c.type << "/" << (int)c.code;
    EXPECT_EQ(c.err, sink.errs[0]);
    // A quote of someone else's datagram, or a truncated one, is dropped.
    Bytes foreign = ipv4(kIpOther, kIpPeer, 17, udp(kIpOther, kIpPeer, lport, 53, str("hi")));
    os.input(to_us(1, icmp(c.type, c.code, 0, foreign)));
    os.input(to_us(1, icmp(c.type, c.code, 0, Bytes(sent.begin(), sent.begin() + 24))));
    EXPECT_EQ(1u, sink.errs.size());
    EXPECT_EQ(2u, os.cnt(US_CNT_ICMP_DROP_INNER));
    us_udp_close(u);
  }
}

TEST(Icmp, FragmentationNeededLowersPathMtu) {
  OneStack os;
  os.learn_peer();
  Sink sink;
  udp_sock *u = us_udp_open(os.s, &Sink::ops, &sink);
  ASSERT_EQ(0, us_udp_connect(u, kIpFar, 53));
  uint16_t lport;
  us_udp_local(u, nullptr, &lport);
  EXPECT_EQ(1500u, ipv4_path_mtu(os.s, kIpFar));
  Bytes sent = ipv4(kIpUs, kIpFar, 17, udp(kIpUs, kIpFar, lport, 53, Bytes(1400)));
  os.input(to_us(1, icmp(3, 4, 1000, sent)));
  ASSERT_EQ(1u, sink.errs.size());
  EXPECT_EQ(EMSGSIZE, sink.errs[0]);
  EXPECT_EQ(1000u, ipv4_path_mtu(os.s, kIpFar));
  EXPECT_EQ(1500u, ipv4_path_mtu(os.s, kIpPeer));
  os.cap.sent.clear();
  Bytes big(1400, 3);
  ASSERT_EQ(1400, us_udp_sendto(u, 0, 0, big.data(), big.size()));
  ASSERT_EQ(2u, os.cap.sent.size());  // fragmented at the path MTU
  EXPECT_EQ(14u + 1000 - 4, os.cap.sent[0].size());  // 976 payload bytes: a multiple of 8
  // Claims below Linux's min_pmtu are raised to 552; the entry expires.
  os.input(to_us(1, icmp(3, 4, 300, sent)));
  EXPECT_EQ(552u, ipv4_path_mtu(os.s, kIpFar));
  os.advance_to(os.now + US_SEC(601));
  EXPECT_EQ(1500u, ipv4_path_mtu(os.s, kIpFar));
  us_udp_close(u);
}

TEST(Icmp, PingBetweenTwoStacksUnderLoss) {
  TwoStackOptions o;
  o.seed = 11;
  o.faults[0].loss = o.faults[1].loss = 0.2;
  TwoStack t(o);
  std::set<uint16_t> seqs;
  struct Ctx {
    std::set<uint16_t> *seqs;
  } ctx{&seqs};
  us_icmp_set_echo_cb(
      t.a,
      [](void *arg, uint32_t src, uint16_t id, uint16_t seq, const uint8_t *d, size_t n) {
        EXPECT_EQ(TwoStack::kIpB, src);
        EXPECT_EQ(42, id);
        EXPECT_EQ(std::string("payload"), std::string((const char *)d, n));
        static_cast<Ctx *>(arg)->seqs->insert(seq);
      },
      &ctx);
  for (uint16_t i = 0; i < 100; i++) {
    us_icmp_echo(t.a, TwoStack::kIpB, 42, i, "payload", 7);
    t.run_for(US_SEC(1));
  }
  EXPECT_GT(seqs.size(), 50u);
  EXPECT_LT(seqs.size(), 80u);  // ~0.8 * 0.8 of them, plus ARP losses
}

// ---------------- UDP ----------------

TEST(UdpWire, Parse) {
  udp_hdr h;
  us_counter why;
  Bytes u = udp(kIpPeer, kIpUs, 1, 2, str("abc"));
  ASSERT_EQ(0, udp_parse(u.data(), u.size(), &h, &why));
  EXPECT_EQ(11, h.len);
  EXPECT_EQ(-1, udp_parse(u.data(), 7, &h, &why));
  EXPECT_EQ(US_CNT_UDP_DROP_SHORT, why);
  EXPECT_EQ(-1, udp_parse(u.data(), 10, &h, &why));  // length field says 11
  EXPECT_EQ(US_CNT_UDP_DROP_LEN, why);
  put16(u, 4, 7);
  EXPECT_EQ(-1, udp_parse(u.data(), u.size(), &h, &why));
  EXPECT_EQ(US_CNT_UDP_DROP_LEN, why);
  udp_hdr e = {1, 2, 8, 0x1234};
  uint8_t out[8];
  udp_emit(out, &e);
  ASSERT_EQ(0, udp_parse(out, 8, &h, &why));
  EXPECT_EQ(0x1234, h.csum);
}

struct UdpRig {
  OneStack os;
  Sink sink;
  udp_sock *u;
  UdpRig() {
    u = us_udp_open(os.s, &Sink::ops, &sink);
    EXPECT_EQ(0, us_udp_bind(u, 0, 7));
    os.learn_peer();
  }
  ~UdpRig() { us_udp_close(u); }
};

TEST(Udp, ChecksumRules) {
  UdpRig r;
  r.os.input(to_us(17, udp(kIpPeer, kIpUs, 5, 7, str("zero"), /*with_csum=*/false)));
  ASSERT_EQ(1u, r.sink.got.size());  // 0 = no checksum: accepted over IPv4
  Bytes bad = udp(kIpPeer, kIpUs, 5, 7, str("bad"));
  bad[8] ^= 1;
  r.os.input(to_us(17, bad));
  EXPECT_EQ(1u, r.os.cnt(US_CNT_UDP_DROP_CSUM));
  EXPECT_EQ(1u, r.sink.got.size());
  r.os.input_valid(to_us(17, bad));  // the device vouched for it
  EXPECT_EQ(2u, r.sink.got.size());
  // The length field, not the IP length, bounds the payload.
  Bytes u = udp(kIpPeer, kIpUs, 5, 7, str("abc"));
  u.push_back(0x55);
  r.os.input(to_us(17, u));
  ASSERT_EQ(3u, r.sink.got.size());
  EXPECT_EQ(str("abc"), r.sink.got[2]);
  r.os.input(to_us(17, Bytes(5, 0)));
  EXPECT_EQ(1u, r.os.cnt(US_CNT_UDP_DROP_SHORT));
}

TEST(Udp, ConnectedSocketPreferredAndFiltered) {
  OneStack os;
  os.learn_peer();
  Sink any, conn, addr;
  udp_sock *ua = us_udp_open(os.s, &Sink::ops, &any);
  udp_sock *uc = us_udp_open(os.s, &Sink::ops, &conn);
  ASSERT_EQ(0, us_udp_bind(ua, 0, 53));
  EXPECT_EQ(-EADDRINUSE, us_udp_bind(uc, 0, 53));
  EXPECT_EQ(-EADDRINUSE, us_udp_bind(uc, kIpUs, 53));
  EXPECT_EQ(-EADDRNOTAVAIL, us_udp_bind(uc, kIpOther, 54));
  ASSERT_EQ(0, us_udp_bind(uc, kIpUs, 54));
  ASSERT_EQ(0, us_udp_connect(uc, kIpPeer, 1000));
  udp_sock *ub = us_udp_open(os.s, &Sink::ops, &addr);
  ASSERT_EQ(0, us_udp_bind(ub, kIpUs, 55));
  os.input(to_us(17, udp(kIpPeer, kIpUs, 1000, 53, str("to-any"))));
  os.input(to_us(17, udp(kIpPeer, kIpUs, 1000, 54, str("to-conn"))));
  os.input(to_us(17, udp(kIpPeer, kIpUs, 1001, 54, str("wrong-port"))));  // not its peer
  os.input(to_us(17, udp(kIpPeer, kIpUs, 1000, 55, str("to-addr"))));
  ASSERT_EQ(1u, any.got.size());
  ASSERT_EQ(1u, conn.got.size());
  EXPECT_EQ(str("to-conn"), conn.got[0]);
  ASSERT_EQ(1u, addr.got.size());
  EXPECT_EQ(1u, os.cnt(US_CNT_UDP_NO_PORT));
  us_udp_close(ua);
  us_udp_close(uc);
  us_udp_close(ub);
  // Port free again after close.
  udp_sock *again = us_udp_open(os.s, &Sink::ops, &any);
  EXPECT_EQ(0, us_udp_bind(again, 0, 53));
  us_udp_close(again);
}

TEST(Udp, EphemeralPortsAreRandomInRangeAndSeeded) {
  auto ports = [](uint64_t seed) {
    CaptureDev cap;
    us_stack_config cfg = {};
    cfg.ip = kIpUs;
    cfg.prefix_len = 24;
    cfg.seed = seed;
    cfg.no_garp = 1;
    us_stack *s = us_stack_new(&cfg, &cap.dev, 1);
    std::vector<uint16_t> v;
    std::vector<udp_sock *> socks;
    for (int i = 0; i < 50; i++) {
      udp_sock *u = us_udp_open(s, &Sink::ops, nullptr);
      EXPECT_EQ(0, us_udp_bind(u, 0, 0));
      uint16_t p;
      us_udp_local(u, nullptr, &p);
      v.push_back(p);
      socks.push_back(u);
    }
    for (auto *u : socks) us_udp_close(u);
    us_stack_free(s);
    return v;
  };
  auto a = ports(1), b = ports(1), c = ports(2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::set<uint16_t> uniq(a.begin(), a.end());
  EXPECT_EQ(a.size(), uniq.size());
  for (auto p : a) {
    EXPECT_GE(p, UDP_EPHEMERAL_LO);
    EXPECT_LE(p, UDP_EPHEMERAL_HI);
  }
}

// getsockname of a connected UDP socket: the source address the route gives
// (Linux fills it in at connect), back to any when the association is
// dissolved; an explicit bind address stays. No route: ENETUNREACH at once.
TEST(Udp, ConnectedSocketNamesItsSourceAddress) {
  OneStack os;
  Sink sink;
  udp_sock *u = us_udp_open(os.s, &Sink::ops, &sink);
  uint32_t ip = 1;
  uint16_t port = 0;
  us_udp_local(u, &ip, &port);
  EXPECT_EQ(0u, ip);
  ASSERT_EQ(0, us_udp_connect(u, kIpFar, 53));  // through the gateway
  us_udp_local(u, &ip, &port);
  EXPECT_EQ(kIpUs, ip);
  EXPECT_NE(0, port);
  ASSERT_EQ(0, us_udp_connect(u, 0, 0));
  us_udp_local(u, &ip, nullptr);
  EXPECT_EQ(0u, ip);
  us_udp_close(u);
  EXPECT_TRUE(os.cap.sent.empty()) << "connect sends nothing";

  CaptureDev cap;
  us_stack_config cfg = {};
  cfg.ip = kIpUs;
  cfg.prefix_len = 24;
  cfg.no_garp = 1;
  us_stack *s = us_stack_new(&cfg, &cap.dev, 1);  // no gateway
  u = us_udp_open(s, &Sink::ops, &sink);
  EXPECT_EQ(-ENETUNREACH, us_udp_connect(u, kIpFar, 53));
  ASSERT_EQ(0, us_udp_connect(u, kIpOther, 53));  // on the link
  us_udp_local(u, &ip, nullptr);
  EXPECT_EQ(kIpUs, ip);
  us_udp_close(u);
  us_stack_free(s);
}

TEST(Udp, SendErrors) {
  UdpRig r;
  EXPECT_EQ(-EDESTADDRREQ, us_udp_sendto(r.u, 0, 0, "x", 1));
  Bytes huge(65508);
  EXPECT_EQ(-EMSGSIZE, us_udp_sendto(r.u, kIpPeer, 9, huge.data(), huge.size()));
  EXPECT_EQ(65507, us_udp_sendto(r.u, kIpPeer, 9, huge.data(), 65507));
  EXPECT_EQ(45u, r.os.cap.sent.size());  // 65515 bytes in 1480-byte fragments
}

TEST(Udp, ExchangeBetweenTwoStacksWithFaults) {
  TwoStackOptions o;
  o.seed = 3;
  for (int d = 0; d < 2; d++) {
    o.faults[d].loss = 0.05;
    o.faults[d].dup = 0.05;
    o.faults[d].reorder = 0.1;
    o.faults[d].corrupt = 0.05;
    o.faults[d].jitter = US_MS(1);
  }
  TwoStack t(o);
  Sink sa, sb;
  udp_sock *ua = us_udp_open(t.a, &Sink::ops, &sa);
  udp_sock *ub = us_udp_open(t.b, &Sink::ops, &sb);
  ASSERT_EQ(0, us_udp_bind(ub, 0, 7));
  ASSERT_EQ(0, us_udp_connect(ua, TwoStack::kIpB, 7));
  std::set<Bytes> sent;
  for (int i = 0; i < 500; i++) {
    Bytes m = str(("message number " + std::to_string(i)).c_str());
    sent.insert(m);
    ASSERT_EQ((ssize_t)m.size(), us_udp_sendto(ua, 0, 0, m.data(), m.size()));
    t.run_for(US_MS(2));
  }
  t.run_for(US_SEC(5));
  EXPECT_GT(sb.got.size(), 400u);
  for (auto &g : sb.got) EXPECT_TRUE(sent.count(g)) << std::string(g.begin(), g.end());
  uint64_t csum_drops = t.counter(1, US_CNT_UDP_DROP_CSUM) + t.counter(1, US_CNT_IPV4_DROP_CSUM);
  EXPECT_GT(csum_drops, 0u);
  // Closed port on B: A's connected socket hears ECONNREFUSED.
  udp_sock *uc = us_udp_open(t.a, &Sink::ops, &sa);
  ASSERT_EQ(0, us_udp_connect(uc, TwoStack::kIpB, 9));
  t.run_for(US_SEC(2));  // let the ICMP rate limit refill
  for (int i = 0; i < 5 && sa.errs.empty(); i++) {
    us_udp_sendto(uc, 0, 0, "x", 1);
    t.run_for(US_MS(100));
  }
  ASSERT_FALSE(sa.errs.empty());
  EXPECT_EQ(ECONNREFUSED, sa.errs[0]);
  us_udp_close(ua);
  us_udp_close(ub);
  us_udp_close(uc);
}
