// A connection whose data keeps being acknowledged proves its next hop is
// alive (like Linux's dst_confirm on forward progress): the sender's ARP
// entry stays reachable and it never has to re-probe its peer.
#include "tests/unit/test_tcp_util.h"

namespace {

using namespace tcpt;

size_t arp_requests_from_a(Pair &p, us_time_t span) {
  size_t arp = 0;
  auto log_tap = p.t.tap;
  p.t.tap = [&](int dir, const uint8_t *f, size_t n, const us_frame_meta *m, us_time_t at) {
    // ARP requests only: A still answers the peer's own probes.
    if (dir == 0 && n >= 22 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 1) arp++;
    log_tap(dir, f, n, m, at);
  };
  std::vector<uint8_t> buf(100, 'x'), sink(4096);
  us_time_t end = p.t.now + span;
  while (p.t.now < end) {
    p.sync();
    EXPECT_EQ(100, us_tcp_send(p.cli.s, buf.data(), buf.size()));
    p.t.run_for(US_SEC(1));
    while (us_tcp_recv(p.srv.s, sink.data(), sink.size()) > 0) {
    }
  }
  p.t.tap = log_tap;
  return arp;
}

TEST(TcpNeigh, AckedDataKeepsTheNextHopReachable) {
  Pair p;
  p.connect();
  // Two minutes: several ARP reachable periods (15-45 s) and stale probes.
  EXPECT_EQ(0u, arp_requests_from_a(p, US_SEC(120)));
}

}  // namespace
