// us_netdev_frame_is_own: which frames another sender on a shared interface
// transmitted (AF_PACKET's PACKET_OUTGOING) are our own, handed back.
#include <gtest/gtest.h>

#include "tests/unit/frames.h"

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
