// Ethernet and IPv4: parsers, input checks (every drop counted), options,
// link padding, routing, DF, TTL, protocol unreachable.
#include <gtest/gtest.h>

#include "tests/unit/frames.h"

extern "C" {
#include "stack/eth.h"
#include "stack/ipv4_wire.h"
#include "stack/stack.h"
#include "stack/udp.h"
}

using namespace ustest;

namespace {
struct Sink {
  std::vector<Bytes> got;
  std::vector<int> errs;
  static void on_dgram(void *u, udp_sock *, uint32_t, uint16_t, const uint8_t *d, size_t n) {
    static_cast<Sink *>(u)->got.emplace_back(d, d + n);
  }
  static void on_err(void *u, udp_sock *, int err, uint32_t, uint16_t) {
    static_cast<Sink *>(u)->errs.push_back(err);
  }
  static const udp_sock_ops ops;
};
const udp_sock_ops Sink::ops = {Sink::on_dgram, Sink::on_err};

Bytes udp_frame(const Bytes &data, uint32_t dst = kIpUs, const IpOpts &o = IpOpts()) {
  return eth(kMacA, kMacPeer, 0x0800, ipv4(kIpPeer, dst, 17, udp(kIpPeer, dst, 1111, 7, data), o));
}

struct Bound {
  OneStack os;
  Sink sink;
  udp_sock *u;
  Bound() {
    u = us_udp_open(os.s, &Sink::ops, &sink);
    EXPECT_EQ(0, us_udp_bind(u, 0, 7));
    os.learn_peer();
  }
  ~Bound() { us_udp_close(u); }
};
}  // namespace

TEST(EthWire, ParseAndEmit) {
  eth_hdr h;
  us_counter why;
  Bytes f = eth(kMacA, kMacPeer, 0x0800, Bytes(4));
  ASSERT_EQ(0, eth_parse(f.data(), f.size(), &h, &why));
  EXPECT_EQ(0x0800, h.type);
  EXPECT_EQ(0, memcmp(h.src, kMacPeer, 6));
  uint8_t out[14];
  eth_emit(out, &h);
  EXPECT_EQ(0, memcmp(out, f.data(), 14));
  for (size_t n = 0; n < 14; n++) {
    EXPECT_EQ(-1, eth_parse(f.data(), n, &h, &why));
    EXPECT_EQ(US_CNT_ETH_DROP_SHORT, why);
  }
}

TEST(Eth, DropsOtherHostsShortAndUnknownTypes) {
  Bound b;
  b.os.input(eth(kMacOther, kMacPeer, 0x0800, Bytes(40)));
  EXPECT_EQ(1u, b.os.cnt(US_CNT_ETH_DROP_NOT_US));
  uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
  b.os.input(eth(mcast, kMacPeer, 0x0800, Bytes(40)));
  EXPECT_EQ(2u, b.os.cnt(US_CNT_ETH_DROP_NOT_US));
  b.os.input(Bytes(13, 0));
  EXPECT_EQ(1u, b.os.cnt(US_CNT_ETH_DROP_SHORT));
  b.os.input(eth(kMacA, kMacPeer, 0x86dd, Bytes(40)));
  EXPECT_EQ(1u, b.os.cnt(US_CNT_ETH_DROP_PROTO));
  EXPECT_EQ(0u, b.os.cnt(US_CNT_IPV4_RX));
  // Still answering afterwards.
  b.os.input(udp_frame(str("hi")));
  EXPECT_EQ(1u, b.sink.got.size());
}

TEST(Ipv4Wire, ParseChecksEveryField) {
  Bytes good = ipv4(kIpPeer, kIpUs, 17, Bytes(12));
  ipv4_hdr h;
  int opts;
  us_counter why;
  ASSERT_EQ(0, ipv4_parse(good.data(), good.size(), &h, &opts, &why));
  EXPECT_EQ(20, h.hlen);
  EXPECT_EQ(32, h.tot_len);
  EXPECT_EQ(kIpPeer, h.src);
  EXPECT_EQ(0, opts);
  auto expect_drop = [&](Bytes p, us_counter c) {
    EXPECT_EQ(-1, ipv4_parse(p.data(), p.size(), &h, &opts, &why));
    EXPECT_EQ(c, why);
  };
  expect_drop(Bytes(good.begin(), good.begin() + 19), US_CNT_IPV4_DROP_SHORT);
  Bytes b = good;
  b[0] = 0x65;
  expect_drop(b, US_CNT_IPV4_DROP_VERSION);
  b = good;
  b[0] = 0x44;  // ihl 4
  expect_drop(b, US_CNT_IPV4_DROP_HDRLEN);
  b = good;
  b[0] = 0x4f;  // 60-byte header in a 32-byte packet
  expect_drop(b, US_CNT_IPV4_DROP_HDRLEN);
  b = good;
  put16(b, 2, 33);  // longer than the buffer
  expect_drop(b, US_CNT_IPV4_DROP_TOTLEN);
  b = good;
  put16(b, 2, 19);
  expect_drop(b, US_CNT_IPV4_DROP_TOTLEN);
  b = good;
  b[8] ^= 1;  // TTL changed, checksum not
  expect_drop(b, US_CNT_IPV4_DROP_CSUM);
  // Truncated at every length: always rejected, never read past len.
  for (size_t n = 0; n < good.size(); n++) {
    Bytes t(good.begin(), good.begin() + n);
    EXPECT_EQ(-1, ipv4_parse(t.data(), t.size(), &h, &opts, &why)) << n;
  }
}

TEST(Ipv4Wire, EmitRoundTrips) {
  ipv4_hdr h = {}, g;
  h.hlen = 20;
  h.tos = 0x10;
  h.tot_len = 20;
  h.id = 0x1234;
  h.frag = IPV4_F_DF;
  h.ttl = 64;
  h.proto = 6;
  h.src = kIpUs;
  h.dst = kIpFar;
  uint8_t out[20];
  ipv4_emit(out, &h);
  int opts;
  us_counter why;
  ASSERT_EQ(0, ipv4_parse(out, 20, &g, &opts, &why));
  EXPECT_EQ(h.id, g.id);
  EXPECT_EQ(h.frag, g.frag);
  EXPECT_EQ(h.dst, g.dst);
  EXPECT_EQ(h.tos, g.tos);
}

TEST(Ipv4, OptionsAreSkippedOrRefused) {
  Bound b;
  IpOpts o;
  o.options = {0x94, 0x04, 0x00, 0x00};  // router alert
  b.os.input(udp_frame(str("opt"), kIpUs, o));
  ASSERT_EQ(1u, b.sink.got.size());
  EXPECT_EQ(str("opt"), b.sink.got[0]);
  EXPECT_EQ(1u, b.os.cnt(US_CNT_IPV4_RX_OPTIONS));
  o.options = {0x83, 0x07, 0x04, 0, 0, 0, 0, 0};  // loose source route
  b.os.input(udp_frame(str("lsrr"), kIpUs, o));
  o.options = {0x44, 0x01, 0x00, 0x00};  // length 1: malformed
  b.os.input(udp_frame(str("bad"), kIpUs, o));
  o.options = {0x44, 0x09, 0x00, 0x00};  // runs past the header
  b.os.input(udp_frame(str("bad"), kIpUs, o));
  EXPECT_EQ(3u, b.os.cnt(US_CNT_IPV4_DROP_OPTIONS));
  EXPECT_EQ(1u, b.sink.got.size());
}

TEST(Ipv4, LinkPaddingIsTrimmed) {
  Bound b;
  Bytes f = udp_frame(str("x"));
  f.resize(60, 0xee);  // Ethernet minimum with padding
  b.os.input(f);
  ASSERT_EQ(1u, b.sink.got.size());
  EXPECT_EQ(str("x"), b.sink.got[0]);
}

TEST(Ipv4, DropsNotOursAndMartians) {
  Bound b;
  b.os.input(udp_frame(str("x"), kIpOther));
  EXPECT_EQ(1u, b.os.cnt(US_CNT_IPV4_DROP_NOT_US));
  auto from = [&](uint32_t src) {
    return eth(kMacA, kMacPeer, 0x0800, ipv4(src, kIpUs, 17, udp(src, kIpUs, 1, 7, str("m"))));
  };
  b.os.input(from(kIpUs));
  b.os.input(from(0xC61200FF));  // subnet broadcast
  b.os.input(from(0xE0000001));  // multicast
  b.os.input(from(0x7F000001));  // loopback
  EXPECT_EQ(4u, b.os.cnt(US_CNT_IPV4_DROP_MARTIAN));
  EXPECT_TRUE(b.sink.got.empty());
  // Broadcast destinations are accepted for UDP.
  b.os.input(udp_frame(str("b1"), 0xFFFFFFFF));
  b.os.input(udp_frame(str("b2"), 0xC61200FF));
  EXPECT_EQ(2u, b.sink.got.size());
}

TEST(Ipv4, UnknownProtocolGetsProtocolUnreachable) {
  Bound b;
  b.os.input(eth(kMacA, kMacPeer, 0x0800, ipv4(kIpPeer, kIpUs, 99, Bytes(8, 1))));
  EXPECT_EQ(1u, b.os.cnt(US_CNT_IPV4_DROP_PROTO));
  ASSERT_EQ(1u, b.os.cap.sent.size());
  const Bytes &r = b.os.cap.sent[0];
  EXPECT_EQ(1, b.os.cap.ipproto(0));
  EXPECT_EQ(3, r[34]);
  EXPECT_EQ(2, r[35]);
  // Not for a broadcast.
  b.os.input(eth(kBcast, kMacPeer, 0x0800, ipv4(kIpPeer, 0xFFFFFFFF, 99, Bytes(8, 1))));
  EXPECT_EQ(1u, b.os.cap.sent.size());
}

TEST(Ipv4, TtlOneAndZeroAreDeliveredToAHost) {
  Bound b;
  IpOpts o;
  o.ttl = 1;
  b.os.input(udp_frame(str("t1"), kIpUs, o));
  o.ttl = 0;  // RFC 1122 3.2.1.7: a host must not drop on TTL
  b.os.input(udp_frame(str("t0"), kIpUs, o));
  EXPECT_EQ(2u, b.sink.got.size());
}

TEST(Ipv4, OutputHeaderAndRouting) {
  Bound b;
  ASSERT_EQ(3, us_udp_sendto(b.u, kIpPeer, 9, "abc", 3));
  ASSERT_EQ(1u, b.os.cap.sent.size());
  const Bytes &f = b.os.cap.sent[0];
  ipv4_hdr h;
  int opts;
  us_counter why;
  ASSERT_EQ(0, ipv4_parse(f.data() + 14, f.size() - 14, &h, &opts, &why));
  EXPECT_EQ(64, h.ttl);
  EXPECT_EQ(17, h.proto);
  EXPECT_EQ(kIpUs, h.src);
  EXPECT_EQ(kIpPeer, h.dst);
  EXPECT_EQ(0, h.frag);
  EXPECT_EQ(31, h.tot_len);
  // Successive datagrams get new identifications.
  ASSERT_EQ(3, us_udp_sendto(b.u, kIpPeer, 9, "abc", 3));
  EXPECT_NE(get16(b.os.cap.sent[0].data() + 18), get16(b.os.cap.sent[1].data() + 18));
}

TEST(Ipv4, NoRouteWithoutGateway) {
  CaptureDev cap;
  us_stack_config cfg = {};
  cfg.ip = kIpUs;
  cfg.prefix_len = 24;
  cfg.no_garp = 1;
  us_stack *s = us_stack_new(&cfg, &cap.dev, 1);
  udp_sock *u = us_udp_open(s, &Sink::ops, nullptr);
  EXPECT_EQ(-ENETUNREACH, us_udp_sendto(u, kIpFar, 9, "a", 1));
  EXPECT_EQ(1u, us_stack_counter(s, US_CNT_IPV4_TX_NOROUTE));
  us_udp_close(u);
  us_stack_free(s);
}

TEST(Ipv4, DontFragmentTooBigFails) {
  Bound b;
  uint8_t buf[4000];
  us_pkt pkt;
  us_pkt_init(&pkt, buf, sizeof buf, US_PKT_HEADROOM);
  us_pkt_put(&pkt, 1481);
  EXPECT_EQ(-EMSGSIZE, ipv4_output(b.os.s, &pkt, 0, kIpPeer, 6, 1));
  EXPECT_EQ(1u, b.os.cnt(US_CNT_IPV4_TX_MSGSIZE));
  us_pkt_init(&pkt, buf, sizeof buf, US_PKT_HEADROOM);
  us_pkt_put(&pkt, 1480);
  EXPECT_EQ(0, ipv4_output(b.os.s, &pkt, 0, kIpPeer, 6, 1));
  ASSERT_EQ(1u, b.os.cap.sent.size());
  EXPECT_EQ(1514u, b.os.cap.sent[0].size());
  EXPECT_EQ(IPV4_F_DF, get16(b.os.cap.sent[0].data() + 20));
}

TEST(Ipv4, GsoSuperFramePassesWhole) {
  OneStack os(1500, US_NETDEV_F_GSO_TCP4 | US_NETDEV_F_CSUM_OFFLOAD);
  os.learn_peer();
  std::vector<uint8_t> buf(US_PKT_HEADROOM + 20000);
  us_pkt pkt;
  us_pkt_init(&pkt, buf.data(), (uint32_t)buf.size(), US_PKT_HEADROOM);
  us_pkt_put(&pkt, 20000);
  pkt.meta.gso_size = 1448;
  pkt.meta.hdr_len = 20;
  EXPECT_EQ(0, ipv4_output(os.s, &pkt, 0, kIpPeer, 6, 1));
  ASSERT_EQ(1u, os.cap.sent.size());
  EXPECT_EQ(14u + 20 + 20000, os.cap.sent[0].size());
  EXPECT_EQ(54, os.cap.metas[0].hdr_len);
  EXPECT_EQ(20020, get16(os.cap.sent[0].data() + 16));
}

TEST(Ipv4, OwnAddressLoopsBackOnNextAdvance) {
  for (uint32_t feat : {0u, (uint32_t)US_NETDEV_F_CSUM_OFFLOAD}) {
    OneStack os(1500, feat);
    Sink sink;
    udp_sock *srv = us_udp_open(os.s, &Sink::ops, &sink);
    ASSERT_EQ(0, us_udp_bind(srv, 0, 7));
    udp_sock *cli = us_udp_open(os.s, &Sink::ops, &sink);
    Bytes big(5000, 9);
    ASSERT_EQ(3, us_udp_sendto(cli, kIpUs, 7, "abc", 3));
    ASSERT_EQ(5000, us_udp_sendto(cli, kIpUs, 7, big.data(), big.size()));
    EXPECT_TRUE(sink.got.empty());  // never delivered inside the send call
    EXPECT_EQ(os.now, us_stack_next_deadline(os.s));
    os.advance_to(os.now);
    ASSERT_EQ(2u, sink.got.size());
    EXPECT_EQ(str("abc"), sink.got[0]);
    EXPECT_EQ(big, sink.got[1]);
    EXPECT_TRUE(os.cap.sent.empty());  // nothing on the wire
    EXPECT_EQ(2u, os.cnt(US_CNT_IPV4_LOOP));
    // Pending looped datagrams are freed with the stack.
    ASSERT_EQ(3, us_udp_sendto(cli, kIpUs, 7, "abc", 3));
    us_udp_close(srv);
    us_udp_close(cli);
  }
}

TEST(Ipv4, TinyMtuDeviceRefusesToFragment) {
  OneStack os(40);
  os.learn_peer();
  udp_sock *u = us_udp_open(os.s, &Sink::ops, nullptr);
  EXPECT_EQ(-EMSGSIZE, us_udp_sendto(u, kIpPeer, 9, "0123456789abcdefghijklmnop", 26));
  EXPECT_TRUE(os.cap.sent.empty());
  us_udp_close(u);
}
