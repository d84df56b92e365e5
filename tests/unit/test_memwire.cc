// The in-memory wire and the two-stack harness: delivery, virtual time,
// faults, filters, GSO super-frames and checksum-partial frames.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/unit/twostack.h"

extern "C" {
#include "stack/icmp.h"
#include "stack/udp.h"
}

using ustest::TwoStack;
using ustest::TwoStackOptions;

namespace {

struct Rx {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<us_frame_meta> metas;
};

void collect(void *arg, const uint8_t *f, size_t n, const us_frame_meta *m) {
  auto *rx = static_cast<Rx *>(arg);
  rx->frames.emplace_back(f, f + n);
  rx->metas.push_back(*m);
}

std::vector<uint8_t> frame_of(size_t n, uint8_t fill) {
  std::vector<uint8_t> f(n, fill);
  return f;
}

}  // namespace

TEST(Memwire, DeliversAfterDelayInOrder) {
  us_memwire *w = us_memwire_new(7);
  us_memwire_faults f = {};
  f.delay = US_MS(5);
  us_memwire_set_faults(w, 0, &f);
  us_memwire_set_now(w, 1000);
  us_netdev *a = us_memwire_end(w, 0), *b = us_memwire_end(w, 1);
  for (int i = 0; i < 3; i++) {
    auto fr = frame_of(60, (uint8_t)i);
    ASSERT_EQ(0, us_netdev_xmit(a, fr.data(), fr.size(), nullptr));
  }
  EXPECT_EQ(1000 + US_MS(5), us_memwire_next_arrival(w, 1));
  EXPECT_EQ(US_TIME_NEVER, us_memwire_next_arrival(w, 0));
  Rx rx;
  us_memwire_set_now(w, 1000 + US_MS(5) - 1);
  EXPECT_EQ(0, us_netdev_poll(b, collect, &rx, 64));
  us_memwire_set_now(w, 1000 + US_MS(5));
  EXPECT_EQ(3, us_netdev_poll(b, collect, &rx, 64));
  for (int i = 0; i < 3; i++) EXPECT_EQ(i, rx.frames[i][0]);
  EXPECT_EQ(3u, us_memwire_stats(w, 0)->delivered);
  us_memwire_free(w);
}

TEST(Memwire, MtuAndGsoSuperFrames) {
  us_memwire *w = us_memwire_new(1);
  us_netdev *a = us_memwire_end(w, 0), *b = us_memwire_end(w, 1);
  auto big = frame_of(14 + 4000, 0);
  us_frame_meta m = {};
  EXPECT_EQ(-EMSGSIZE, us_netdev_xmit(a, big.data(), big.size(), &m));
  m.gso_size = 1448;
  m.hdr_len = 54;
  m.flags = US_FRAME_CSUM_PARTIAL;
  m.csum_start = 34;
  m.csum_offset = 16;
  EXPECT_EQ(-EMSGSIZE, us_netdev_xmit(a, big.data(), big.size(), &m));  // no GSO feature
  us_memwire_set_features(w, 0, US_NETDEV_F_GSO_TCP4 | US_NETDEV_F_CSUM_OFFLOAD);
  EXPECT_EQ(0, us_netdev_xmit(a, big.data(), big.size(), &m));
  Rx rx;
  EXPECT_EQ(1, us_netdev_poll(b, collect, &rx, 64));
  ASSERT_EQ(1u, rx.frames.size());
  EXPECT_EQ(big.size(), rx.frames[0].size());
  EXPECT_TRUE(rx.metas[0].flags & US_FRAME_CSUM_VALID);
  EXPECT_EQ(2u, us_memwire_stats(w, 0)->oversize);
  us_memwire_free(w);
}

TEST(Memwire, SeededFaultsAreRepeatable) {
  auto run = [](uint64_t seed) {
    us_memwire *w = us_memwire_new(seed);
    us_memwire_faults f = {};
    f.loss = 0.1;
    f.dup = 0.1;
    f.reorder = 0.1;
    f.corrupt = 0.1;
    f.delay = US_MS(1);
    f.jitter = 500;
    us_memwire_set_faults(w, 0, &f);
    us_netdev *a = us_memwire_end(w, 0), *b = us_memwire_end(w, 1);
    std::vector<uint8_t> order;
    for (int i = 0; i < 1000; i++) {
      us_memwire_set_now(w, (us_time_t)i * 100);
      auto fr = frame_of(64, (uint8_t)i);
      us_netdev_xmit(a, fr.data(), fr.size(), nullptr);
    }
    us_memwire_set_now(w, US_SEC(10));
    Rx rx;
    while (us_netdev_poll(b, collect, &rx, 64) > 0) {
    }
    for (auto &fr : rx.frames) order.push_back(fr[0]);
    const struct us_memwire_stats s = *us_memwire_stats(w, 0);
    us_memwire_free(w);
    return std::make_pair(order, s);
  };
  auto r1 = run(42), r2 = run(42), r3 = run(43);
  EXPECT_EQ(r1.first, r2.first);
  EXPECT_NE(r1.first, r3.first);
  const auto &s = r1.second;
  EXPECT_GT(s.lost, 50u);
  EXPECT_LT(s.lost, 150u);
  EXPECT_GT(s.duplicated, 50u);
  EXPECT_GT(s.reordered, 50u);
  EXPECT_GT(s.corrupted, 50u);
  EXPECT_EQ(s.sent - s.lost + s.duplicated, s.delivered);
}

TEST(Memwire, FilterDropsExactFrames) {
  us_memwire *w = us_memwire_new(1);
  us_memwire_set_filter(
      w, 0,
      [](void *, int, uint64_t index, const uint8_t *, size_t, const us_frame_meta *) {
        return index == 2 ? 1 : 0;
      },
      nullptr);
  us_netdev *a = us_memwire_end(w, 0), *b = us_memwire_end(w, 1);
  for (int i = 0; i < 5; i++) {
    auto fr = frame_of(64, (uint8_t)i);
    us_netdev_xmit(a, fr.data(), fr.size(), nullptr);
  }
  Rx rx;
  us_netdev_poll(b, collect, &rx, 64);
  ASSERT_EQ(4u, rx.frames.size());
  EXPECT_EQ(3, rx.frames[2][0]);
  EXPECT_EQ(1u, us_memwire_stats(w, 0)->filtered);
  us_memwire_free(w);
}

namespace {
struct Pings {
  int replies = 0;
  uint16_t last_seq = 0;
};
void on_reply(void *arg, uint32_t, uint16_t, uint16_t seq, const uint8_t *, size_t) {
  auto *p = static_cast<Pings *>(arg);
  p->replies++;
  p->last_seq = seq;
}
}  // namespace

TEST(TwoStack, PingResolvesArpThenEchoes) {
  TwoStack t;
  Pings p;
  us_icmp_set_echo_cb(t.a, on_reply, &p);
  int arp_frames = 0;
  t.tap = [&](int, const uint8_t *f, size_t n, const us_frame_meta *, us_time_t) {
    if (n >= 14 && f[12] == 0x08 && f[13] == 0x06) arp_frames++;
  };
  ASSERT_EQ(0, us_icmp_echo(t.a, TwoStack::kIpB, 7, 1, "hello", 5));
  us_time_t t0 = t.now;
  ASSERT_TRUE(t.run_until([&] { return p.replies == 1; }, t.now + US_SEC(1)));
  // ARP request + reply, then echo + reply: two round trips of 1 ms each way.
  EXPECT_EQ(t0 + US_MS(4), t.now);
  EXPECT_EQ(2, arp_frames);
  ASSERT_EQ(0, us_icmp_echo(t.a, TwoStack::kIpB, 7, 2, "hello", 5));
  ASSERT_TRUE(t.run_until([&] { return p.replies == 2; }, t.now + US_SEC(1)));
  EXPECT_EQ(2, p.last_seq);
  EXPECT_EQ(2, arp_frames);
  EXPECT_EQ(2u, t.counter(1, US_CNT_ICMP_ECHO_RX));
}

TEST(TwoStack, ManyEventsRunFast) {
  // 20000 echo round trips in virtual time; a slow loop would time out ctest.
  TwoStack t;
  Pings p;
  us_icmp_set_echo_cb(t.a, on_reply, &p);
  for (int i = 0; i < 20000; i++) {
    ASSERT_EQ(0, us_icmp_echo(t.a, TwoStack::kIpB, 1, (uint16_t)i, "x", 1));
    ASSERT_TRUE(t.run_until([&] { return p.replies == i + 1; }, t.now + US_SEC(5)));
  }
}

TEST(Memwire, BottleneckSerializesAndTailDrops) {
  us_memwire *w = us_memwire_new(1);
  us_memwire_faults f = {};
  f.rate_bps = 8000000;  // 1 byte per microsecond
  f.queue_bytes = 3000;
  f.delay = 100;
  us_memwire_set_faults(w, 0, &f);
  us_netdev *a = us_memwire_end(w, 0), *b = us_memwire_end(w, 1);
  auto fr = frame_of(1000, 1);
  for (int i = 0; i < 10; i++) us_netdev_xmit(a, fr.data(), fr.size(), nullptr);
  // 1000 us per frame; backlog above 3000 bytes drops the rest.
  EXPECT_EQ(1000u + 100, us_memwire_next_arrival(w, 1));
  const struct us_memwire_stats *st = us_memwire_stats(w, 0);
  EXPECT_EQ(6u, st->queue_drops);
  us_memwire_set_now(w, US_SEC(1));
  Rx rx;
  EXPECT_EQ(4, us_netdev_poll(b, collect, &rx, 64));
  us_memwire_free(w);
}

TEST(TwoStack, TenMegabytesOfUdpInVirtualTime) {
  // The loop must carry bulk traffic cheaply: 10 MB in 1472-byte datagrams,
  // 5% loss, 2 ms delay, sent in bursts of 64 with the clock running between.
  TwoStackOptions o;
  o.faults[0].loss = 0.05;
  o.faults[0].delay = US_MS(2);
  TwoStack t(o);
  struct Count {
    size_t bytes = 0;
  } c;
  static const udp_sock_ops ops = {
      [](void *u, udp_sock *, uint32_t, uint16_t, const uint8_t *, size_t n) {
        static_cast<Count *>(u)->bytes += n;
      },
      nullptr};
  udp_sock *rx = us_udp_open(t.b, &ops, &c);
  ASSERT_EQ(0, us_udp_bind(rx, 0, 9000));
  udp_sock *tx = us_udp_open(t.a, &ops, nullptr);
  std::vector<uint8_t> buf(1472, 0x5a);
  size_t sent = 0;
  while (sent < 10u * 1000 * 1000) {
    for (int i = 0; i < 64; i++, sent += buf.size())
      ASSERT_EQ(1472, us_udp_sendto(tx, TwoStack::kIpB, 9000, buf.data(), buf.size()));
    t.run_for(US_MS(1));
  }
  t.run_for(US_SEC(1));
  EXPECT_GT(c.bytes, sent * 90 / 100);
  EXPECT_LT(c.bytes, sent * 99 / 100);
  us_udp_close(rx);
  us_udp_close(tx);
}
