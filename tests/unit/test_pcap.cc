// The pcap recorder: wraps any device, records every frame both ways in a
// classic pcap file that tcpdump reads.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

extern "C" {
#include "netdev/netdev.h"
#include "stack/us_stack.h"
}

namespace {

// A device that remembers what it was asked to send and hands out a scripted
// list of received frames.
struct FakeDev {
  us_netdev base;
  std::vector<std::vector<uint8_t>> sent, to_receive;
  int flushes = 0, closed = 0;
};

FakeDev *fake(us_netdev *d) { return reinterpret_cast<FakeDev *>(d); }

const us_netdev_ops kFakeOps = {
    [](us_netdev *d, const uint8_t *f, size_t n, const us_frame_meta *) {
      if (n > 70000) return -90;  // -EMSGSIZE: refused frames are not recorded
      fake(d)->sent.emplace_back(f, f + n);
      return 0;
    },
    [](us_netdev *d) { fake(d)->flushes++; },
    [](us_netdev *d, us_netdev_rx_cb cb, void *arg, int max) {
      int n = 0;
      auto &q = fake(d)->to_receive;
      while (n < max && !q.empty()) {
        us_frame_meta m{};
        m.flags = US_FRAME_CSUM_VALID;
        cb(arg, q.front().data(), q.front().size(), &m);
        q.erase(q.begin());
        n++;
      }
      return n;
    },
    [](us_netdev *) { return 42; },
    [](us_netdev *d) { fake(d)->closed++; },
    [](us_netdev *, struct us_netdev_stats *st) { *st = {7, 2, 1}; },
};

std::vector<uint8_t> Frame(size_t len, uint8_t seed) {
  std::vector<uint8_t> f(len);
  for (size_t i = 0; i < len; i++) f[i] = (uint8_t)(seed + i * 7);
  f[12] = 0x08;  // ethertype IPv4, so readers have something to chew on
  f[13] = 0x00;
  return f;
}

std::vector<uint8_t> ReadAll(const std::string &path) {
  std::vector<uint8_t> out;
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) return out;
  uint8_t buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  fclose(f);
  return out;
}

uint32_t U32(const std::vector<uint8_t> &b, size_t off) {
  uint32_t v;
  memcpy(&v, &b[off], 4);
  return v;
}

struct PcapTest : ::testing::Test {
  FakeDev dev;
  std::string path;
  void SetUp() override {
    dev.base.ops = &kFakeOps;
    memcpy(dev.base.mac, "\x02\x00\x00\x00\x00\x0a", 6);
    dev.base.mtu = 1500;
    dev.base.features = US_NETDEV_F_GSO_TCP4;
    char tmpl[] = "/tmp/us_pcap_XXXXXX";
    int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    close(fd);
    path = tmpl;
  }
  void TearDown() override { unlink(path.c_str()); }
};

TEST_F(PcapTest, RecordsBothDirectionsInOrder) {
  char err[256] = "";
  us_netdev *p = us_netdev_pcap_wrap(&dev.base, path.c_str(), err, sizeof err);
  ASSERT_NE(nullptr, p) << err;
  EXPECT_EQ(0, memcmp(p->mac, dev.base.mac, 6));
  EXPECT_EQ(1500, p->mtu);
  EXPECT_EQ((uint32_t)US_NETDEV_F_GSO_TCP4, p->features);
  EXPECT_EQ(42, us_netdev_fd(p));

  auto small = Frame(60, 1), gso = Frame(30014, 2), rx = Frame(42, 3), huge = Frame(80000, 4);
  ASSERT_EQ(0, us_netdev_xmit(p, small.data(), small.size(), nullptr));
  us_frame_meta m{};
  m.gso_size = 1448;
  m.hdr_len = 54;
  ASSERT_EQ(0, us_netdev_xmit(p, gso.data(), gso.size(), &m));
  EXPECT_NE(0, us_netdev_xmit(p, huge.data(), huge.size(), nullptr));
  dev.to_receive.push_back(rx);
  std::vector<uint8_t> got;
  uint32_t got_flags = 0;
  struct Ctx {
    std::vector<uint8_t> *got;
    uint32_t *flags;
  } ctx{&got, &got_flags};
  EXPECT_EQ(1, us_netdev_poll(
                   p,
                   [](void *a, const uint8_t *f, size_t n, const us_frame_meta *mm) {
                     auto *c = static_cast<Ctx *>(a);
                     c->got->assign(f, f + n);
                     *c->flags = mm->flags;
                   },
                   &ctx, 8));
  EXPECT_EQ(rx, got);
  EXPECT_EQ((uint32_t)US_FRAME_CSUM_VALID, got_flags);  // metadata passes through
  us_netdev_flush(p);
  EXPECT_EQ(1, dev.flushes);
  ASSERT_EQ(2u, dev.sent.size());
  EXPECT_EQ(gso, dev.sent[1]);
  us_netdev_close(p);
  EXPECT_EQ(1, dev.closed);

  auto b = ReadAll(path);
  ASSERT_GE(b.size(), 24u);
  EXPECT_EQ(0xa1b2c3d4u, U32(b, 0));  // microsecond timestamps, our byte order
  EXPECT_EQ(2u | (4u << 16), U32(b, 4));  // version 2.4
  EXPECT_EQ(262144u, U32(b, 16));  // snaplen
  EXPECT_EQ(1u, U32(b, 20));       // LINKTYPE_ETHERNET
  size_t off = 24;
  for (const auto *want : {&small, &gso, &rx}) {
    ASSERT_LE(off + 16, b.size());
    EXPECT_EQ(want->size(), U32(b, off + 8));   // caplen: whole frame
    EXPECT_EQ(want->size(), U32(b, off + 12));  // len
    ASSERT_LE(off + 16 + want->size(), b.size());
    EXPECT_EQ(0, memcmp(want->data(), &b[off + 16], want->size()));
    off += 16 + want->size();
  }
  EXPECT_EQ(b.size(), off);  // the refused frame is not in the file
}

TEST_F(PcapTest, TcpdumpReadsIt) {
  if (system("command -v tcpdump >/dev/null 2>&1") != 0) GTEST_SKIP() << "no tcpdump";
  char err[256] = "";
  us_netdev *p = us_netdev_pcap_wrap(&dev.base, path.c_str(), err, sizeof err);
  ASSERT_NE(nullptr, p) << err;
  for (int i = 0; i < 5; i++) {
    auto f = Frame(60 + i, (uint8_t)i);
    us_netdev_xmit(p, f.data(), f.size(), nullptr);
  }
  us_netdev_close(p);
  std::string cmd = "tcpdump -nn -r " + path + " 2>/dev/null | wc -l";
  FILE *f = popen(cmd.c_str(), "r");
  ASSERT_NE(nullptr, f);
  int lines = -1;
  ASSERT_EQ(1, fscanf(f, "%d", &lines));
  pclose(f);
  EXPECT_EQ(5, lines);
}

TEST_F(PcapTest, UnwritablePathIsAClearError) {
  char err[256] = "";
  EXPECT_EQ(nullptr, us_netdev_pcap_wrap(&dev.base, "/nonexistent/dir/x.pcap", err, sizeof err));
  EXPECT_NE(nullptr, strstr(err, "/nonexistent/dir/x.pcap"));
  EXPECT_EQ(0, dev.closed);  // the caller still owns the inner device
}

}  // namespace

// The device's own losses (a full receive ring) reach the stack's counters
// through the recorder, so --stats shows them beside the protocols' drops.
TEST_F(PcapTest, DeviceLossesReachTheStackCounters) {
  char err[256] = "";
  us_netdev *p = us_netdev_pcap_wrap(&dev.base, path.c_str(), err, sizeof err);
  ASSERT_NE(nullptr, p) << err;
  us_stack_config cfg{};
  cfg.ip = 0xc612000a;
  cfg.prefix_len = 24;
  us_stack *s = us_stack_new(&cfg, p, 1000000);
  ASSERT_NE(nullptr, s);
  EXPECT_EQ(0u, us_stack_counter(s, US_CNT_DEV_RX_DROP));
  us_stack_read_device(s);
  EXPECT_EQ(7u, us_stack_counter(s, US_CNT_DEV_RX_DROP));
  EXPECT_EQ(2u, us_stack_counter(s, US_CNT_DEV_RX_TRUNC));
  EXPECT_EQ(1u, us_stack_counter(s, US_CNT_DEV_TX_DROP));
  us_stack_free(s);
  us_netdev_close(p);
}
