// Internet checksum helpers and us_l4_csum (software and offloaded).
#include <gtest/gtest.h>

#include "tests/unit/frames.h"

extern "C" {
#include "stack/ipv4_wire.h"
#include "stack/pkt.h"
#include "stack/stack.h"
}

using namespace ustest;

static uint16_t ref_csum(const uint8_t *p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += (uint32_t)p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
  const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ((uint16_t)~0xddf2, us_csum_fold(us_csum_add(0, d, sizeof d)));
}

TEST(Checksum, MatchesReferenceAtEveryLengthAndAlignment) {
  uint8_t buf[300];
  uint64_t x = 12345;
  for (auto &b : buf) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    b = (uint8_t)(x >> 56);
  }
  for (size_t off = 0; off < 8; off++)
    for (size_t n = 0; n < 290; n++)
      ASSERT_EQ(ref_csum(buf + off, n), us_csum_fold(us_csum_add(0, buf + off, n)))
          << off << " " << n;
}

TEST(Checksum, ChainsEvenChunks) {
  uint8_t buf[64];
  for (int i = 0; i < 64; i++) buf[i] = (uint8_t)(i * 37 + 1);
  uint32_t s = us_csum_add(0, buf, 20);
  s = us_csum_add(s, buf + 20, 44);
  EXPECT_EQ(us_csum_fold(us_csum_add(0, buf, 64)), us_csum_fold(s));
}

TEST(Checksum, AllOnesData) {
  Bytes b(4096, 0xff);
  EXPECT_EQ(ref_csum(b.data(), b.size()), us_csum_fold(us_csum_add(0, b.data(), b.size())));
}

TEST(Checksum, PseudoHeader) {
  // 198.18.0.10 -> 198.18.0.1, UDP, 12 bytes.
  uint32_t p = us_csum_pseudo(kIpUs, kIpPeer, 17, 12);
  uint32_t expect = 0xC612 + 0x000A + 0xC612 + 0x0001 + 17 + 12;
  while (expect >> 16) expect = (expect & 0xffff) + (expect >> 16);
  EXPECT_EQ(expect, p);
}

TEST(Checksum, L4SoftwareAndOffloadAgree) {
  for (uint32_t features : {0u, (uint32_t)US_NETDEV_F_CSUM_OFFLOAD}) {
    OneStack os(1500, features);
    uint8_t buf[256];
    us_pkt pkt;
    us_pkt_init(&pkt, buf, sizeof buf, US_PKT_HEADROOM);
    uint8_t *u = us_pkt_put(&pkt, 8 + 13);
    Bytes ref = udp(kIpUs, kIpPeer, 1000, 2000, str("thirteen char"));
    memcpy(u, ref.data(), ref.size());
    u[6] = u[7] = 0;
    us_l4_csum(os.s, &pkt, kIpUs, kIpPeer, 17, 6);
    if (features) {
      ASSERT_TRUE(pkt.meta.flags & US_FRAME_CSUM_PARTIAL);
      EXPECT_EQ(0, pkt.meta.csum_start);
      EXPECT_EQ(6, pkt.meta.csum_offset);
      us_pkt_push(&pkt, 20);  // headers in front keep csum_start relative
      EXPECT_EQ(20, pkt.meta.csum_start);
      us_csum_finalize(pkt.data, pkt.len, &pkt.meta);
      EXPECT_EQ(get16(ref.data() + 6), get16(pkt.data + 20 + 6));
    } else {
      EXPECT_FALSE(pkt.meta.flags & US_FRAME_CSUM_PARTIAL);
      EXPECT_EQ(get16(ref.data() + 6), get16(u + 6));
    }
  }
}

TEST(Checksum, UdpZeroBecomesAllOnes) {
  // Find a payload whose UDP checksum computes to 0: it must go out as 0xffff.
  OneStack os;
  for (uint32_t v = 0; v < 0x10000; v++) {
    uint8_t buf[256];
    us_pkt pkt;
    us_pkt_init(&pkt, buf, sizeof buf, US_PKT_HEADROOM);
    uint8_t *u = us_pkt_put(&pkt, 10);
    memset(u, 0, 10);
    u[4] = 0;
    u[5] = 10;
    u[8] = (uint8_t)(v >> 8);
    u[9] = (uint8_t)v;
    uint32_t sum = us_csum_add(us_csum_pseudo(kIpUs, kIpPeer, 17, 10), u, 10);
    if (us_csum_fold(sum) != 0) continue;
    us_l4_csum(os.s, &pkt, kIpUs, kIpPeer, 17, 6);
    EXPECT_EQ(0xffff, get16(u + 6));
    return;
  }
  FAIL() << "no zero-checksum payload found";
}
