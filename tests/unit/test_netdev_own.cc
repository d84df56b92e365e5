// netdev_own.h: which frames another sender on a shared interface
// transmitted (AF_PACKET's PACKET_OUTGOING) are our own, handed back, and the
// socket filter that drops those and frames for other hosts in the kernel.
#include <gtest/gtest.h>

#include <linux/if_packet.h>

#include "tests/unit/frames.h"

extern "C" {
#include "netdev/netdev_own.h"
}

using namespace ustest;

namespace {
bool own(const Bytes &f) { return us_netdev_frame_is_own(f.data(), f.size(), kMacA, kIpUs) != 0; }
}  // namespace

TEST(NetdevOwn, OurIpv4AndArpAreOurs) {
  EXPECT_TRUE(own(eth(kMacPeer, kMacA, 0x0800, ipv4(kIpUs, kIpPeer, 17, Bytes(8, 0)))));
  EXPECT_TRUE(own(eth(kBcast, kMacA, 0x0806, arp(1, kMacA, kIpUs, kBcast, kIpPeer))));  // request
  EXPECT_TRUE(own(eth(kMacPeer, kMacA, 0x0806, arp(2, kMacA, kIpUs, kMacPeer, kIpPeer))));
  EXPECT_TRUE(own(eth(kBcast, kMacA, 0x0806, arp(1, kMacA, 0, kBcast, kIpUs))));  // our probe
}

TEST(NetdevOwn, AnotherStackOnOurMacIsNotUs) {
  // Same MAC (the interface's), another address: a second stack.
  EXPECT_FALSE(own(eth(kMacPeer, kMacA, 0x0800, ipv4(kIpOther, kIpPeer, 17, Bytes(8, 0)))));
  EXPECT_FALSE(own(eth(kMacA, kMacA, 0x0800, ipv4(kIpOther, kIpUs, 6, Bytes(20, 0)))));
  EXPECT_FALSE(own(eth(kBcast, kMacA, 0x0806, arp(1, kMacA, kIpOther, kBcast, kIpUs))));
  EXPECT_FALSE(own(eth(kBcast, kMacA, 0x0806, arp(1, kMacA, 0, kBcast, kIpOther))));  // its probe
  // The kernel's IPv6 from the interface's MAC: we send none.
  EXPECT_FALSE(own(eth(kBcast, kMacA, 0x86dd, Bytes(40, 0))));
}

TEST(NetdevOwn, AnotherMacIsNeverUs) {
  EXPECT_FALSE(own(eth(kMacA, kMacPeer, 0x0800, ipv4(kIpUs, kIpUs, 17, Bytes(8, 0)))));
  EXPECT_FALSE(own(eth(kBcast, kMacOther, 0x0806, arp(1, kMacOther, kIpUs, kBcast, kIpUs))));
}

TEST(NetdevOwn, TruncatedFramesAreNotOurs) {
  Bytes f = eth(kMacPeer, kMacA, 0x0800, ipv4(kIpUs, kIpPeer, 17, Bytes(8, 0)));
  for (size_t n = 0; n < 14 + 20; n++)
    EXPECT_EQ(0, us_netdev_frame_is_own(f.data(), n, kMacA, kIpUs)) << n;
  Bytes a = eth(kBcast, kMacA, 0x0806, arp(1, kMacA, kIpUs, kBcast, kIpPeer));
  for (size_t n = 0; n < 14 + 28; n++)
    EXPECT_EQ(0, us_netdev_frame_is_own(a.data(), n, kMacA, kIpUs)) << n;
}

namespace {
// The classic BPF subset the filter uses, run as the kernel runs it on a
// packet socket: loads are big-endian from the Ethernet header; a load past
// the end drops the frame. Returns the filter's verdict (0 = drop).
uint32_t run_filter(const sock_filter *p, size_t n, const Bytes &f, uint32_t pkttype) {
  uint32_t a = 0;
  for (size_t pc = 0; pc < n; pc++) {
    const sock_filter &i = p[pc];
    switch (i.code) {
    case BPF_LD | BPF_W | BPF_ABS:
      if (i.k == (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE)) {
        a = pkttype;
        break;
      }
      if (i.k + 4 > f.size()) return 0;
      a = get32(f.data() + i.k);
      break;
    case BPF_LD | BPF_H | BPF_ABS:
      if (i.k + 2 > f.size()) return 0;
      a = get16(f.data() + i.k);
      break;
    case BPF_LD | BPF_B | BPF_ABS:
      if (i.k + 1 > f.size()) return 0;
      a = f[i.k];
      break;
    case BPF_JMP | BPF_JEQ | BPF_K:
      pc += a == i.k ? i.jt : i.jf;
      break;
    case BPF_JMP | BPF_JSET | BPF_K:
      pc += (a & i.k) ? i.jt : i.jf;
      break;
    case BPF_RET | BPF_K:
      return i.k;
    default:
      ADD_FAILURE() << "instruction " << pc << ": code " << i.code;
      return 0;
    }
  }
  ADD_FAILURE() << "ran off the end";
  return 0;
}

struct Filter {
  sock_filter prog[US_NETDEV_OWN_FILTER_LEN];
  size_t n;
  Filter() { n = us_netdev_own_filter(prog, kMacA, kIpUs); }
  bool passes(const Bytes &f, uint32_t pkttype = PACKET_OUTGOING) const {
    return run_filter(prog, n, f, pkttype) != 0;
  }
};
}  // namespace

TEST(NetdevOwnFilter, PassesEverythingThatIsNotOutgoing) {
  Filter f;
  ASSERT_EQ(size_t{US_NETDEV_OWN_FILTER_LEN}, f.n);
  const Bytes own = eth(kMacPeer, kMacA, 0x0800, ipv4(kIpUs, kIpPeer, 17, Bytes(8, 0)));
  for (uint32_t t : {PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST}) {
    EXPECT_TRUE(f.passes(own, t)) << t;
    EXPECT_TRUE(f.passes(Bytes(14, 0), t)) << t;
  }
}

TEST(NetdevOwnFilter, DropsOurOwnFramesAsFrameIsOwnDoes) {
  Filter f;
  // Frames for us (our MAC) or for everyone, from every kind of sender.
  const uint8_t *dsts[] = {kMacA, kBcast};
  for (const uint8_t *dst : dsts) {
    std::vector<Bytes> frames = {
        eth(dst, kMacA, 0x0800, ipv4(kIpUs, kIpPeer, 17, Bytes(8, 0))),
        eth(dst, kMacA, 0x0806, arp(1, kMacA, kIpUs, kBcast, kIpPeer)),
        eth(dst, kMacA, 0x0806, arp(2, kMacA, kIpUs, kMacPeer, kIpPeer)),
        eth(dst, kMacA, 0x0806, arp(1, kMacA, 0, kBcast, kIpUs)),
        eth(dst, kMacA, 0x0800, ipv4(kIpOther, kIpUs, 6, Bytes(20, 0))),
        eth(dst, kMacA, 0x0806, arp(1, kMacA, kIpOther, kBcast, kIpUs)),
        eth(dst, kMacA, 0x0806, arp(1, kMacA, 0, kBcast, kIpOther)),
        eth(dst, kMacA, 0x86dd, Bytes(40, 0)),
        eth(dst, kMacOther, 0x0800, ipv4(kIpOther, kIpUs, 17, Bytes(8, 0))),
        eth(dst, kMacOther, 0x0806, arp(1, kMacOther, kIpUs, kBcast, kIpUs)),
    };
    for (size_t i = 0; i < frames.size(); i++) {
      bool own = us_netdev_frame_is_own(frames[i].data(), frames[i].size(), kMacA, kIpUs);
      EXPECT_EQ(!own, f.passes(frames[i])) << "frame " << i << (dst == kBcast ? " bcast" : "");
    }
  }
}

TEST(NetdevOwnFilter, DropsFramesForOtherHostsKeepsGroupAddresses) {
  Filter f;
  // Another stack's (or the kernel's) traffic to a third host: not for us.
  EXPECT_FALSE(f.passes(eth(kMacPeer, kMacOther, 0x0800, ipv4(kIpOther, kIpPeer, 6, Bytes(20, 0)))));
  EXPECT_FALSE(f.passes(eth(kMacPeer, kMacA, 0x0800, ipv4(kIpOther, kIpPeer, 6, Bytes(20, 0)))));
  const uint8_t almost[6] = {2, 0, 0, 0, 0, 0x0b};  // differs from ours in the last byte only
  EXPECT_FALSE(f.passes(eth(almost, kMacOther, 0x0800, ipv4(kIpOther, kIpUs, 6, Bytes(20, 0)))));
  const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
  EXPECT_TRUE(f.passes(eth(mcast, kMacOther, 0x0800, ipv4(kIpOther, 0xe0000001, 17, Bytes(8, 0)))));
  EXPECT_TRUE(f.passes(eth(kMacA, kMacOther, 0x0800, ipv4(kIpOther, kIpUs, 6, Bytes(20, 0)))));
}
