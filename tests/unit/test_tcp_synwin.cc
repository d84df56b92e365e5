// RFC 7323 2.2: the window field of a SYN or SYN-ACK is never scaled. The
// active opener's send window right after the handshake is the SYN-ACK's
// window as it stands, not shifted by the scale the SYN-ACK announces.
#include "tests/unit/test_tcp_util.h"

namespace {

using namespace tcpt;

TEST(TcpSynWindow, SynAckWindowIsNotScaled) {
  Pair p;
  p.connect();
  std::vector<Seg> synack = p.segs(1, TCP_SYN | TCP_ACK, TCP_SYN | TCP_ACK);
  ASSERT_EQ(1u, synack.size());
  us_tcp_info info;
  us_tcp_get_info(p.cli.s, &info);
  EXPECT_EQ((uint32_t)synack[0].win, info.tcpi_snd_wnd);
}

}  // namespace
