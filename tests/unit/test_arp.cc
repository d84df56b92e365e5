// ARP: parser, replies, the neighbour cache state machine, the waiting queue,
// failures reported to senders, unsolicited replies, duplicate addresses.
#include <gtest/gtest.h>

#include "tests/unit/frames.h"
#include "tests/unit/twostack.h"

extern "C" {
#include "stack/arp.h"
#include "stack/stack.h"
#include "stack/udp.h"
}

using namespace ustest;

namespace {
struct UdpSink {
  std::vector<Bytes> got;
  std::vector<int> errs;
  static void on_dgram(void *u, udp_sock *, uint32_t, uint16_t, const uint8_t *d, size_t n) {
    static_cast<UdpSink *>(u)->got.emplace_back(d, d + n);
  }
  static void on_err(void *u, udp_sock *, int err, uint32_t, uint16_t) {
    static_cast<UdpSink *>(u)->errs.push_back(err);
  }
  static const udp_sock_ops ops;
};
const udp_sock_ops UdpSink::ops = {UdpSink::on_dgram, UdpSink::on_err};

bool is_arp(const Bytes &f, uint16_t op, uint32_t tpa) {
  return f.size() >= 42 && get16(f.data() + 12) == 0x0806 && get16(f.data() + 20) == op &&
         get32(f.data() + 38) == tpa;
}
}  // namespace

TEST(ArpWire, ParseRejectsTruncatedAndForeign) {
  arp_pkt a;
  us_counter why;
  Bytes ok = arp(1, kMacPeer, kIpPeer, kBcast, kIpUs);
  ASSERT_EQ(0, arp_parse(ok.data(), ok.size(), &a, &why));
  EXPECT_EQ(1, a.op);
  EXPECT_EQ(kIpPeer, a.spa);
  EXPECT_EQ(kIpUs, a.tpa);
  EXPECT_EQ(0, memcmp(a.sha, kMacPeer, 6));
  for (size_t n = 0; n < 28; n++) {
    ASSERT_EQ(-1, arp_parse(ok.data(), n, &a, &why));
    EXPECT_EQ(US_CNT_ARP_DROP_SHORT, why);
  }
  Bytes bad = ok;
  bad[5] = 16;  // IPv6-sized protocol address
  EXPECT_EQ(-1, arp_parse(bad.data(), bad.size(), &a, &why));
  EXPECT_EQ(US_CNT_ARP_DROP_FORMAT, why);
  bad = ok;
  put16(bad, 6, 3);  // RARP request
  EXPECT_EQ(-1, arp_parse(bad.data(), bad.size(), &a, &why));
  EXPECT_EQ(US_CNT_ARP_DROP_OP, why);
}

TEST(ArpWire, EmitRoundTrips) {
  arp_pkt a = {}, b;
  a.op = 2;
  memcpy(a.sha, kMacA, 6);
  a.spa = kIpUs;
  memcpy(a.tha, kMacPeer, 6);
  a.tpa = kIpPeer;
  uint8_t buf[28];
  arp_emit(buf, &a);
  us_counter why;
  ASSERT_EQ(0, arp_parse(buf, 28, &b, &why));
  EXPECT_EQ(0, memcmp(&a.sha, &b.sha, 6));
  EXPECT_EQ(a.spa, b.spa);
  EXPECT_EQ(a.tpa, b.tpa);
  EXPECT_EQ(Bytes(buf, buf + 28), arp(2, kMacA, kIpUs, kMacPeer, kIpPeer));
}

TEST(Arp, ProbeThenGratuitousAnnouncementAtStart) {
  OneStack os(1500, 0, /*garp=*/true);
  ASSERT_EQ(1u, os.cap.sent.size());
  const Bytes probe = os.cap.sent[0];
  EXPECT_EQ(0, memcmp(probe.data(), kBcast, 6));
  EXPECT_TRUE(is_arp(probe, 1, kIpUs));
  EXPECT_EQ(0u, get32(probe.data() + 28));  // RFC 5227 probe: sender 0.0.0.0
  os.advance_to(os.now + US_MS(100));
  ASSERT_EQ(2u, os.cap.sent.size());
  const Bytes &f = os.cap.sent[1];
  EXPECT_EQ(0, memcmp(f.data(), kBcast, 6));
  EXPECT_TRUE(is_arp(f, 1, kIpUs));
  EXPECT_EQ(kIpUs, get32(f.data() + 28));  // announcement: spa == tpa
  OneStack quiet;
  quiet.advance_to(quiet.now + US_SEC(1));
  EXPECT_TRUE(quiet.cap.sent.empty());
}

TEST(Arp, RepliesForOurAddressAndLearnsAsker) {
  OneStack os;
  os.input(eth(kBcast, kMacPeer, 0x0806, arp(1, kMacPeer, kIpPeer, kBcast, kIpUs)));
  ASSERT_EQ(1u, os.cap.sent.size());
  const Bytes &r = os.cap.sent[0];
  EXPECT_EQ(0, memcmp(r.data(), kMacPeer, 6));
  EXPECT_EQ(0, memcmp(r.data() + 6, kMacA, 6));
  EXPECT_EQ(Bytes(r.begin() + 14, r.begin() + 42), arp(2, kMacA, kIpUs, kMacPeer, kIpPeer));
  uint8_t mac[6];
  EXPECT_EQ(ARP_S_STALE, arp_lookup(os.s, kIpPeer, mac));
  EXPECT_EQ(0, memcmp(mac, kMacPeer, 6));
  EXPECT_EQ(1u, os.cnt(US_CNT_ARP_REPLY_SENT));
}

TEST(Arp, RequestForAnotherHostIgnored) {
  OneStack os;
  os.input(eth(kBcast, kMacPeer, 0x0806, arp(1, kMacPeer, kIpPeer, kBcast, kIpOther)));
  EXPECT_TRUE(os.cap.sent.empty());
  EXPECT_EQ(ARP_S_FREE, arp_lookup(os.s, kIpPeer, nullptr));
  EXPECT_EQ(1u, os.cnt(US_CNT_ARP_NOT_FOR_US));
}

TEST(Arp, UnsolicitedReplyCreatesNothing) {
  OneStack os;
  os.input(eth(kMacA, kMacOther, 0x0806, arp(2, kMacOther, kIpOther, kMacA, kIpUs)));
  EXPECT_EQ(ARP_S_FREE, arp_lookup(os.s, kIpOther, nullptr));
  EXPECT_EQ(1u, os.cnt(US_CNT_ARP_UNSOLICITED));
  EXPECT_TRUE(os.cap.sent.empty());
}

TEST(Arp, DropsOwnAndBogusSenders) {
  OneStack os;
  os.input(eth(kBcast, kMacA, 0x0806, arp(1, kMacA, kIpUs, kBcast, kIpUs)));
  EXPECT_EQ(1u, os.cnt(US_CNT_ARP_DROP_OWN));
  os.input(eth(kBcast, kMacPeer, 0x0806, arp(1, kBcast, kIpPeer, kBcast, kIpUs)));
  EXPECT_EQ(1u, os.cnt(US_CNT_ARP_DROP_BAD_SENDER));
  os.input(eth(kBcast, kMacPeer, 0x0806, Bytes(10, 0)));
  EXPECT_EQ(1u, os.cnt(US_CNT_ARP_DROP_SHORT));
  EXPECT_TRUE(os.cap.sent.empty());
}

// Two stacks may share one interface and its MAC, each with its own address
// (AF_PACKET hands each the other's frames): a request from our MAC but
// another address is another host's, answered like any other.
TEST(Arp, OurMacWithAnotherAddressIsAnotherHost) {
  OneStack os;
  os.input(eth(kBcast, kMacA, 0x0806, arp(1, kMacA, kIpOther, kBcast, kIpUs)));
  ASSERT_EQ(1u, os.cap.sent.size());
  EXPECT_EQ(Bytes(os.cap.sent[0].begin() + 14, os.cap.sent[0].begin() + 42),
            arp(2, kMacA, kIpUs, kMacA, kIpOther));
  uint8_t mac[6];
  EXPECT_EQ(ARP_S_STALE, arp_lookup(os.s, kIpOther, mac));
  EXPECT_EQ(0, memcmp(mac, kMacA, 6));
  EXPECT_EQ(0u, os.cnt(US_CNT_ARP_DROP_OWN));
  EXPECT_EQ(0, us_stack_ip_conflict(os.s, mac));
  // Our own probe and announcement, handed back, stay ours.
  os.input(eth(kBcast, kMacA, 0x0806, arp(1, kMacA, 0, kBcast, kIpUs)));
  os.input(eth(kBcast, kMacA, 0x0806, arp(1, kMacA, kIpUs, kBcast, kIpUs)));
  EXPECT_EQ(2u, os.cnt(US_CNT_ARP_DROP_OWN));
  EXPECT_EQ(1u, os.cap.sent.size());
  EXPECT_EQ(0, us_stack_ip_conflict(os.s, mac));
}

TEST(Arp, TwoStacksWithOneMacReachEachOther) {
  TwoStack t;
  memcpy(t.dev[1]->mac, t.dev[0]->mac, 6);
  t.restart(1);
  UdpSink sa, sb;
  udp_sock *ua = us_udp_open(t.a, &UdpSink::ops, &sa);
  udp_sock *ub = us_udp_open(t.b, &UdpSink::ops, &sb);
  ASSERT_EQ(0, us_udp_bind(ua, 0, 5000));
  ASSERT_EQ(0, us_udp_bind(ub, 0, 6000));
  ASSERT_EQ(4, us_udp_sendto(ua, TwoStack::kIpB, 6000, "ping", 4));
  ASSERT_TRUE(t.run_until([&] { return !sb.got.empty(); }, t.now + US_SEC(1)));
  ASSERT_EQ(4, us_udp_sendto(ub, TwoStack::kIpA, 5000, "pong", 4));
  ASSERT_TRUE(t.run_until([&] { return !sa.got.empty(); }, t.now + US_SEC(1)));
  EXPECT_EQ(Bytes({'p', 'o', 'n', 'g'}), sa.got[0]);
  uint8_t mac[6];
  EXPECT_EQ(0, us_stack_ip_conflict(t.a, mac));
  EXPECT_EQ(0, us_stack_ip_conflict(t.b, mac));
  us_udp_close(ua);
  us_udp_close(ub);
}

TEST(Arp, DuplicateAddressDetected) {
  OneStack os(1500, 0, true);
  uint8_t mac[6];
  EXPECT_EQ(0, us_stack_ip_conflict(os.s, mac));
  // The owner of 198.18.0.10 answers our probe: we must not announce.
  os.input(eth(kMacA, kMacOther, 0x0806, arp(2, kMacOther, kIpUs, kMacA, 0)));
  EXPECT_EQ(1, us_stack_ip_conflict(os.s, mac));
  EXPECT_EQ(0, memcmp(mac, kMacOther, 6));
  EXPECT_EQ(1u, os.cnt(US_CNT_ARP_CONFLICT));
  os.advance_to(os.now + US_SEC(1));
  EXPECT_EQ(1u, os.cap.sent.size());  // the probe only
}

TEST(Arp, TwoStacksWithOneAddressConflict) {
  // B already runs as 198.18.0.10; A starts with the same address.
  TwoStackOptions o;
  o.ip[1] = TwoStack::kIpA;
  o.garp = false;
  TwoStack t(o);
  us_stack_config cfg = {};
  cfg.ip = TwoStack::kIpA;
  cfg.prefix_len = 24;
  cfg.seed = 5;
  us_stack_free(t.a);
  t.a = us_stack_new(&cfg, t.dev[0], t.now);
  t.run_for(US_SEC(1));
  uint8_t mac[6];
  EXPECT_EQ(1, us_stack_ip_conflict(t.a, mac));
  EXPECT_EQ(0, memcmp(mac, t.dev[1]->mac, 6));
  EXPECT_EQ(0, us_stack_ip_conflict(t.b, mac));  // the owner is not disturbed
}

TEST(Arp, ProbeForOurAddressIsAnswered) {
  OneStack os;
  // RFC 5227 probe: sender IP 0.
  os.input(eth(kBcast, kMacOther, 0x0806, arp(1, kMacOther, 0, kBcast, kIpUs)));
  ASSERT_EQ(1u, os.cap.sent.size());
  EXPECT_TRUE(is_arp(os.cap.sent[0], 2, 0));
  EXPECT_EQ(ARP_S_FREE, arp_lookup(os.s, 0, nullptr));
}

TEST(Arp, ResolvesQueuesAndFlushes) {
  OneStack os;
  udp_sock *u = us_udp_open(os.s, &UdpSink::ops, nullptr);
  ASSERT_EQ(0, us_udp_bind(u, 0, 5000));
  for (int i = 0; i < 3; i++) ASSERT_EQ(4, us_udp_sendto(u, kIpOther, 53, "abcd", 4));
  ASSERT_EQ(1u, os.cap.sent.size());  // one request, three waiting
  EXPECT_TRUE(is_arp(os.cap.sent[0], 1, kIpOther));
  EXPECT_EQ(0, memcmp(os.cap.sent[0].data(), kBcast, 6));
  EXPECT_EQ(ARP_S_INCOMPLETE, arp_lookup(os.s, kIpOther, nullptr));
  os.input(eth(kMacA, kMacOther, 0x0806, arp(2, kMacOther, kIpOther, kMacA, kIpUs)));
  ASSERT_EQ(4u, os.cap.sent.size());
  for (int i = 1; i < 4; i++) {
    EXPECT_EQ(0, memcmp(os.cap.sent[i].data(), kMacOther, 6));
    EXPECT_EQ(17, os.cap.ipproto(i));
  }
  EXPECT_EQ(ARP_S_REACHABLE, arp_lookup(os.s, kIpOther, nullptr));
  us_udp_close(u);
}

TEST(Arp, OffLinkGoesToGateway) {
  OneStack os;
  udp_sock *u = us_udp_open(os.s, &UdpSink::ops, nullptr);
  ASSERT_EQ(4, us_udp_sendto(u, kIpFar, 53, "abcd", 4));
  ASSERT_EQ(1u, os.cap.sent.size());
  EXPECT_TRUE(is_arp(os.cap.sent[0], 1, kIpPeer));  // asks for the gateway, not the far host
  os.input(eth(kMacA, kMacPeer, 0x0806, arp(2, kMacPeer, kIpPeer, kMacA, kIpUs)));
  ASSERT_EQ(2u, os.cap.sent.size());
  EXPECT_EQ(0, memcmp(os.cap.sent[1].data(), kMacPeer, 6));
  EXPECT_EQ(kIpFar, get32(os.cap.sent[1].data() + 14 + 16));
  us_udp_close(u);
}

TEST(Arp, ThreeTriesOneSecondApartThenHostUnreachable) {
  OneStack os;
  UdpSink sink;
  udp_sock *u = us_udp_open(os.s, &UdpSink::ops, &sink);
  ASSERT_EQ(0, us_udp_connect(u, kIpOther, 53));
  us_time_t t0 = os.now;
  ASSERT_EQ(4, us_udp_sendto(u, 0, 0, "abcd", 4));
  ASSERT_EQ(4, us_udp_sendto(u, 0, 0, "efgh", 4));
  os.advance_to(t0 + US_MS(999));
  EXPECT_EQ(1u, os.cap.sent.size());
  os.advance_to(t0 + US_SEC(1));
  EXPECT_EQ(2u, os.cap.sent.size());
  os.advance_to(t0 + US_SEC(2));
  EXPECT_EQ(3u, os.cap.sent.size());
  EXPECT_TRUE(sink.errs.empty());
  os.advance_to(t0 + US_SEC(3));
  EXPECT_EQ(3u, os.cap.sent.size());
  for (auto &f : os.cap.sent) EXPECT_TRUE(is_arp(f, 1, kIpOther));
  ASSERT_EQ(2u, sink.errs.size());
  EXPECT_EQ(EHOSTUNREACH, sink.errs[0]);
  EXPECT_EQ(ARP_S_FREE, arp_lookup(os.s, kIpOther, nullptr));
  EXPECT_EQ(1u, os.cnt(US_CNT_ARP_FAILED));
  us_udp_close(u);
}

TEST(Arp, WaitingQueueIsBounded) {
  OneStack os;
  UdpSink sink;
  udp_sock *u = us_udp_open(os.s, &UdpSink::ops, &sink);
  for (int i = 0; i < ARP_QUEUE_MAX + 10; i++) ASSERT_EQ(4, us_udp_sendto(u, kIpOther, 9, "abcd", 4));
  EXPECT_EQ(10u, os.cnt(US_CNT_ARP_QUEUE_DROP));
  os.input(eth(kMacA, kMacOther, 0x0806, arp(2, kMacOther, kIpOther, kMacA, kIpUs)));
  EXPECT_EQ(1u + ARP_QUEUE_MAX, os.cap.sent.size());
  us_udp_close(u);
}

TEST(Arp, ReachableExpiresToStaleThenDelayProbe) {
  OneStack os;
  udp_sock *u = us_udp_open(os.s, &UdpSink::ops, nullptr);
  ASSERT_EQ(4, us_udp_sendto(u, kIpOther, 9, "abcd", 4));
  os.input(eth(kMacA, kMacOther, 0x0806, arp(2, kMacOther, kIpOther, kMacA, kIpUs)));
  us_time_t t0 = os.now;
  os.advance_to(t0 + US_SEC(15) - 1);  // reachable time is at least base/2
  EXPECT_EQ(ARP_S_REACHABLE, arp_lookup(os.s, kIpOther, nullptr));
  os.advance_to(t0 + US_SEC(45));  // and less than 3*base/2
  EXPECT_EQ(ARP_S_STALE, arp_lookup(os.s, kIpOther, nullptr));
  os.cap.sent.clear();
  // Use while stale: sent at once, DELAY, then unicast probes.
  ASSERT_EQ(4, us_udp_sendto(u, kIpOther, 9, "abcd", 4));
  ASSERT_EQ(1u, os.cap.sent.size());
  EXPECT_EQ(17, os.cap.ipproto(0));
  EXPECT_EQ(ARP_S_DELAY, arp_lookup(os.s, kIpOther, nullptr));
  us_time_t t1 = os.now;
  os.advance_to(t1 + US_SEC(5));
  EXPECT_EQ(ARP_S_PROBE, arp_lookup(os.s, kIpOther, nullptr));
  ASSERT_EQ(2u, os.cap.sent.size());
  EXPECT_TRUE(is_arp(os.cap.sent[1], 1, kIpOther));
  EXPECT_EQ(0, memcmp(os.cap.sent[1].data(), kMacOther, 6));  // unicast
  // Answer: reachable again.
  os.input(eth(kMacA, kMacOther, 0x0806, arp(2, kMacOther, kIpOther, kMacA, kIpUs)));
  EXPECT_EQ(ARP_S_REACHABLE, arp_lookup(os.s, kIpOther, nullptr));
  us_udp_close(u);
}

TEST(Arp, UnansweredProbesDropTheEntry) {
  OneStack os;
  udp_sock *u = us_udp_open(os.s, &UdpSink::ops, nullptr);
  ASSERT_EQ(4, us_udp_sendto(u, kIpOther, 9, "abcd", 4));
  os.input(eth(kMacA, kMacOther, 0x0806, arp(2, kMacOther, kIpOther, kMacA, kIpUs)));
  os.advance_to(os.now + US_SEC(50));
  ASSERT_EQ(ARP_S_STALE, arp_lookup(os.s, kIpOther, nullptr));
  ASSERT_EQ(4, us_udp_sendto(u, kIpOther, 9, "abcd", 4));
  os.advance_to(os.now + US_SEC(5) + US_SEC(3));
  EXPECT_EQ(ARP_S_FREE, arp_lookup(os.s, kIpOther, nullptr));
  us_udp_close(u);
}

TEST(Arp, UnusedStaleEntriesAreCollected) {
  OneStack os;
  os.learn_peer();
  EXPECT_EQ(ARP_S_STALE, arp_lookup(os.s, kIpPeer, nullptr));
  os.advance_to(os.now + US_SEC(61));
  EXPECT_EQ(ARP_S_FREE, arp_lookup(os.s, kIpPeer, nullptr));
}

TEST(Arp, ConfirmationKeepsEntryReachable) {
  OneStack os;
  udp_sock *u = us_udp_open(os.s, &UdpSink::ops, nullptr);
  ASSERT_EQ(4, us_udp_sendto(u, kIpOther, 9, "abcd", 4));
  os.input(eth(kMacA, kMacOther, 0x0806, arp(2, kMacOther, kIpOther, kMacA, kIpUs)));
  for (int i = 0; i < 10; i++) {
    os.advance_to(os.now + US_SEC(10));
    arp_confirm(os.s, kIpOther);
  }
  EXPECT_EQ(ARP_S_REACHABLE, arp_lookup(os.s, kIpOther, nullptr));
  us_udp_close(u);
}

TEST(Arp, MacChangeSeenInRequestMakesEntryStale) {
  OneStack os;
  udp_sock *u = us_udp_open(os.s, &UdpSink::ops, nullptr);
  ASSERT_EQ(4, us_udp_sendto(u, kIpOther, 9, "abcd", 4));
  os.input(eth(kMacA, kMacOther, 0x0806, arp(2, kMacOther, kIpOther, kMacA, kIpUs)));
  // Gratuitous ARP from the same IP with a new MAC.
  os.input(eth(kBcast, kMacPeer, 0x0806, arp(1, kMacPeer, kIpOther, kBcast, kIpOther)));
  uint8_t mac[6];
  EXPECT_EQ(ARP_S_STALE, arp_lookup(os.s, kIpOther, mac));
  EXPECT_EQ(0, memcmp(mac, kMacPeer, 6));
  us_udp_close(u);
}

TEST(Arp, TableFullEvictsLeastRecentlyUsed) {
  OneStack os;
  for (uint32_t i = 0; i < ARP_TABLE_SIZE + 5; i++) {
    uint32_t ip = 0xC6120064 + i;  // .100 ...
    uint8_t mac[6] = {2, 0, 0, 0, 1, (uint8_t)i};
    os.input(eth(kBcast, mac, 0x0806, arp(1, mac, ip, kBcast, kIpUs)));
    os.now += 10;
  }
  EXPECT_EQ(ARP_S_FREE, arp_lookup(os.s, 0xC6120064, nullptr));
  EXPECT_EQ(ARP_S_STALE, arp_lookup(os.s, 0xC6120064 + ARP_TABLE_SIZE + 4, nullptr));
}

TEST(Arp, Ipv4ConfirmRefreshesTheNextHop) {
  OneStack os;
  udp_sock *u = us_udp_open(os.s, &UdpSink::ops, nullptr);
  ASSERT_EQ(4, us_udp_sendto(u, kIpFar, 9, "abcd", 4));  // resolves the gateway
  os.input(eth(kMacA, kMacPeer, 0x0806, arp(2, kMacPeer, kIpPeer, kMacA, kIpUs)));
  for (int i = 0; i < 10; i++) {
    os.advance_to(os.now + US_SEC(10));
    ipv4_confirm(os.s, kIpFar);  // off-link: confirms the gateway
  }
  EXPECT_EQ(ARP_S_REACHABLE, arp_lookup(os.s, kIpPeer, nullptr));
  us_udp_close(u);
}
