// IPv4 reassembly: orders, duplicates, overlaps (whole datagram dropped),
// never-complete (30 s timeout, ICMP time exceeded), oversize, inconsistent
// lengths, memory bounds; and fragmentation of large UDP sends.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/frames.h"
#include "tests/unit/twostack.h"

extern "C" {
#include "stack/ipv4_frag.h"
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

Bytes pattern(size_t n, uint8_t seed = 1) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(i * 7 + seed);
  return b;
}

// Fragment of the UDP datagram `l4` (header included): bytes [off, off+len).
Bytes frag(const Bytes &l4, size_t off, size_t len, bool more, uint16_t id = 77,
           uint32_t src = kIpPeer) {
  IpOpts o;
  o.id = id;
  o.frag = (uint16_t)((more ? IPV4_F_MF : 0) | (off / 8));
  Bytes part(l4.begin() + (long)off, l4.begin() + (long)(off + len));
  return eth(kMacA, kMacPeer, 0x0800, ipv4(src, kIpUs, 17, part, o));
}

struct Rig {
  OneStack os;
  Sink sink;
  udp_sock *u;
  Rig() {
    u = us_udp_open(os.s, &Sink::ops, &sink);
    EXPECT_EQ(0, us_udp_bind(u, 0, 7));
    os.learn_peer();
  }
  ~Rig() { us_udp_close(u); }
  us_stack &s() { return *os.s; }
};

Bytes dgram(size_t payload, uint8_t seed = 1) {
  return udp(kIpPeer, kIpUs, 1000, 7, pattern(payload, seed));
}
}  // namespace

TEST(Frag, InOrderAndReversedAndShuffled) {
  for (int order = 0; order < 3; order++) {
    Rig r;
    Bytes l4 = dgram(3000);  // 3008 bytes: 1480 + 1480 + 48
    std::vector<Bytes> fs = {frag(l4, 0, 1480, true), frag(l4, 1480, 1480, true),
                             frag(l4, 2960, 48, false)};
    if (order == 1) std::reverse(fs.begin(), fs.end());
    if (order == 2) std::swap(fs[0], fs[1]);
    for (auto &f : fs) r.os.input(f);
    ASSERT_EQ(1u, r.sink.got.size()) << order;
    EXPECT_EQ(pattern(3000), r.sink.got[0]);
    EXPECT_EQ(1u, r.os.cnt(US_CNT_IPV4_FRAG_OK));
    EXPECT_EQ(3u, r.os.cnt(US_CNT_IPV4_FRAG_RX));
    EXPECT_EQ(0u, r.s().frag.count);
  }
}

TEST(Frag, ExactDuplicateIgnored) {
  Rig r;
  Bytes l4 = dgram(2000);
  r.os.input(frag(l4, 0, 1000, true));
  r.os.input(frag(l4, 0, 1000, true));
  EXPECT_EQ(1u, r.os.cnt(US_CNT_IPV4_FRAG_DUP));
  r.os.input(frag(l4, 1000, 1008, false));
  ASSERT_EQ(1u, r.sink.got.size());
  EXPECT_EQ(pattern(2000), r.sink.got[0]);
}

TEST(Frag, OverlapDropsWholeDatagram) {
  Rig r;
  Bytes l4 = dgram(2000);
  r.os.input(frag(l4, 0, 1000, true));
  r.os.input(frag(l4, 992, 1016, false));  // overlaps by 8 bytes
  EXPECT_EQ(1u, r.os.cnt(US_CNT_IPV4_FRAG_OVERLAP));
  // A clean copy of the rest cannot revive it (RFC 5722 style).
  r.os.input(frag(l4, 1000, 1008, false));
  EXPECT_EQ(1u, r.os.cnt(US_CNT_IPV4_FRAG_DEAD));
  EXPECT_TRUE(r.sink.got.empty());
  // After the timeout a new datagram with the same id works again.
  r.os.advance_to(r.os.now + US_SEC(31));
  r.os.input(frag(l4, 0, 1000, true));
  r.os.input(frag(l4, 1000, 1008, false));
  EXPECT_EQ(1u, r.sink.got.size());
}

TEST(Frag, NeverCompleteTimesOutAfter30sWithTimeExceeded) {
  Rig r;
  Bytes l4 = dgram(2000);
  us_time_t t0 = r.os.now;
  r.os.input(frag(l4, 0, 1000, true));
  r.os.advance_to(t0 + US_SEC(30) - 1);
  EXPECT_EQ(1u, r.s().frag.count);
  EXPECT_TRUE(r.os.cap.sent.empty());
  r.os.advance_to(t0 + US_SEC(30));
  EXPECT_EQ(0u, r.s().frag.count);
  EXPECT_EQ(0u, r.s().frag.mem);
  EXPECT_EQ(1u, r.os.cnt(US_CNT_IPV4_FRAG_TIMEOUT));
  ASSERT_EQ(1u, r.os.cap.sent.size());
  const Bytes &e = r.os.cap.sent[0];
  EXPECT_EQ(11, e[34]);  // time exceeded
  EXPECT_EQ(1, e[35]);   // fragment reassembly
  EXPECT_EQ(kIpPeer, get32(e.data() + 30));
}

TEST(Frag, TimeoutWithoutFirstFragmentIsSilent) {
  Rig r;
  Bytes l4 = dgram(2000);
  r.os.input(frag(l4, 1000, 1008, false));
  r.os.advance_to(r.os.now + US_SEC(31));
  EXPECT_EQ(1u, r.os.cnt(US_CNT_IPV4_FRAG_TIMEOUT));
  EXPECT_TRUE(r.os.cap.sent.empty());
}

TEST(Frag, OversizeRejected) {
  Rig r;
  Bytes l4 = dgram(100);
  IpOpts o;
  o.id = 5;
  o.frag = (uint16_t)(65528 / 8);  // offset 65528 + 16 bytes > 65535
  r.os.input(eth(kMacA, kMacPeer, 0x0800, ipv4(kIpPeer, kIpUs, 17, Bytes(16), o)));
  EXPECT_EQ(1u, r.os.cnt(US_CNT_IPV4_FRAG_OVERSIZE));
  EXPECT_EQ(0u, r.s().frag.count);
  // Started datagram killed by an oversize piece.
  r.os.input(frag(l4, 0, 56, true, 6));
  o.id = 6;
  r.os.input(eth(kMacA, kMacPeer, 0x0800, ipv4(kIpPeer, kIpUs, 17, Bytes(16), o)));
  EXPECT_EQ(2u, r.os.cnt(US_CNT_IPV4_FRAG_OVERSIZE));
  r.os.input(frag(l4, 56, 52, false, 6));
  EXPECT_TRUE(r.sink.got.empty());
}

TEST(Frag, MaximumSizeDatagramReassembles) {
  Rig r;
  Bytes l4 = dgram(65535 - 20 - 8);
  for (size_t off = 0; off < l4.size(); off += 1480) {
    size_t n = std::min<size_t>(1480, l4.size() - off);
    r.os.input(frag(l4, off, n, off + n < l4.size()));
  }
  ASSERT_EQ(1u, r.sink.got.size());
  EXPECT_EQ(65507u, r.sink.got[0].size());
}

TEST(Frag, InconsistentLengthsDropped) {
  Rig r;
  Bytes l4 = dgram(2000);
  r.os.input(frag(l4, 0, 1001, true));  // non-last not a multiple of 8
  EXPECT_EQ(1u, r.os.cnt(US_CNT_IPV4_FRAG_BAD));
  r.os.input(frag(l4, 1000, 8, false, 9));      // a last fragment ending at 1008...
  r.os.input(frag(l4, 1008, 1000, false, 9));   // ...and another ending at 2008
  EXPECT_EQ(2u, r.os.cnt(US_CNT_IPV4_FRAG_BAD));
  r.os.input(frag(l4, 1000, 1008, true, 10));
  r.os.input(frag(l4, 8, 8, false, 10));  // last fragment before data already held
  EXPECT_EQ(3u, r.os.cnt(US_CNT_IPV4_FRAG_BAD));
  EXPECT_TRUE(r.sink.got.empty());
}

TEST(Frag, TooManyPiecesDropped) {
  Rig r;
  Bytes l4 = dgram(8 * (IPV4_FRAG_MAX_PIECES + 4));
  for (size_t i = 0; i <= IPV4_FRAG_MAX_PIECES; i++) r.os.input(frag(l4, i * 8, 8, true));
  EXPECT_EQ(1u, r.os.cnt(US_CNT_IPV4_FRAG_TOO_MANY));
}

TEST(Frag, MemoryIsBounded) {
  Rig r;
  // Many incomplete large datagrams: memory stays under the bound, oldest go.
  for (uint16_t id = 0; id < 300; id++) {
    Bytes l4 = dgram(60000, (uint8_t)id);
    for (size_t off = 1480; off < 60000 - 1480; off += 1480)
      r.os.input(frag(l4, off, 1480, true, id));
    ASSERT_LE(r.s().frag.mem, (size_t)IPV4_FRAG_MEM_MAX);
    ASSERT_LE(r.s().frag.count, (uint32_t)IPV4_FRAG_MAX_DGRAMS);
  }
  EXPECT_GT(r.os.cnt(US_CNT_IPV4_FRAG_MEM), 0u);
  // The newest can still complete: it holds [1480, 59200); send the rest.
  Bytes l4 = dgram(60000, (uint8_t)299);
  r.os.input(frag(l4, 0, 1480, true, 299));
  r.os.input(frag(l4, 59200, 60008 - 59200, false, 299));
  ASSERT_EQ(1u, r.sink.got.size());
  EXPECT_EQ(pattern(60000, (uint8_t)299), r.sink.got[0]);
  // Stack teardown frees whatever is still held (ASan checks).
}

TEST(Frag, LargeUdpSendIsFragmentedAndReassembledByPeer) {
  for (uint32_t feat : {0u, (uint32_t)US_NETDEV_F_CSUM_OFFLOAD}) {
    TwoStackOptions o;
    o.features[0] = o.features[1] = feat;
    TwoStack t(o);
    Sink sa, sb;
    udp_sock *ua = us_udp_open(t.a, &Sink::ops, &sa);
    udp_sock *ub = us_udp_open(t.b, &Sink::ops, &sb);
    ASSERT_EQ(0, us_udp_bind(ub, 0, 4000));
    std::vector<size_t> sizes;
    t.tap = [&](int dir, const uint8_t *f, size_t n, const us_frame_meta *, us_time_t) {
      if (dir == 0 && get16(f + 12) == 0x0800) sizes.push_back(n);
    };
    Bytes big = pattern(10000);
    ASSERT_EQ(10000, us_udp_sendto(ua, TwoStack::kIpB, 4000, big.data(), big.size()));
    ASSERT_TRUE(t.run_until([&] { return !sb.got.empty(); }, t.now + US_SEC(1)));
    EXPECT_EQ(big, sb.got[0]);
    ASSERT_EQ(7u, sizes.size());  // 10008 bytes in 1480-byte pieces
    for (size_t i = 0; i + 1 < sizes.size(); i++) EXPECT_EQ(1514u, sizes[i]);
    EXPECT_EQ(7u, t.counter(0, US_CNT_IPV4_FRAGS_SENT));
    us_udp_close(ua);
    us_udp_close(ub);
  }
}

TEST(Frag, UdpOverFaultyWireReassemblesOrLosesWhole) {
  TwoStackOptions o;
  o.seed = 5;
  o.faults[0].reorder = 0.3;
  o.faults[0].dup = 0.1;
  o.faults[0].loss = 0.02;
  o.faults[0].corrupt = 0.01;
  o.faults[0].jitter = US_MS(2);
  TwoStack t(o);
  Sink sa, sb;
  udp_sock *ua = us_udp_open(t.a, &Sink::ops, &sa);
  udp_sock *ub = us_udp_open(t.b, &Sink::ops, &sb);
  ASSERT_EQ(0, us_udp_bind(ub, 0, 4000));
  for (int i = 0; i < 200; i++) {
    Bytes big = pattern(5000, (uint8_t)i);
    ASSERT_EQ(5000, us_udp_sendto(ua, TwoStack::kIpB, 4000, big.data(), big.size()));
    t.run_for(US_MS(10));
  }
  t.run_for(US_SEC(40));
  EXPECT_GT(sb.got.size(), 150u);
  for (auto &g : sb.got) {
    ASSERT_EQ(5000u, g.size());
    bool match = false;
    for (int i = 0; i < 200 && !match; i++) match = g == pattern(5000, (uint8_t)i);
    EXPECT_TRUE(match);  // never a spliced or corrupted datagram
  }
  EXPECT_EQ(0u, t.b->frag.count);
  us_udp_close(ua);
  us_udp_close(ub);
}
