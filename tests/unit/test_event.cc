// The stack's event stream (stack/event.h): what a sink sees, in order, for
// a whole connection; one event per segment on the wire; retransmissions
// and drops accounted exactly; no sink, no calls.
#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/test_tcp_util.h"

extern "C" {
#include "stack/event.h"
}

using tcpt::Flow;
using tcpt::Pair;
using ustest::TwoStack;
using ustest::TwoStackOptions;

namespace {

struct Rec {
  std::vector<us_event> ev;
  static void fn(void *ctx, const us_event *e) { static_cast<Rec *>(ctx)->ev.push_back(*e); }

  // Index of the first event at or after `from` satisfying pred; -1 if none.
  template <class P>
  int find(P pred, int from = 0) const {
    for (size_t i = (size_t)from; i < ev.size(); i++)
      if (pred(ev[i])) return (int)i;
    return -1;
  }
  int state(int to, int from = 0) const {
    return find([&](const us_event &e) { return e.type == US_EV_TCP_STATE && e.u.state.to == to; },
                from);
  }
  int seg(int dir, uint8_t flags, int from = 0) const {
    return find([&](const us_event &e) {
      return e.type == US_EV_TCP_SEG && e.dir == dir &&
             (e.u.seg.flags & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) == flags;
    }, from);
  }
};

TEST(EventStream, ConnectionLifeInOrder) {
  Rec r;  // outlives p: closing sockets at p's end still emits events
  Pair p;
  us_stack_set_event_sink(p.t.a, Rec::fn, &r);
  p.connect();
  Flow up(p.cli.s, p.srv.s, 3000);
  ASSERT_TRUE(p.t.run_until([&] { up.pump(); return up.done(); }, p.t.now + US_SEC(5)));
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  ASSERT_TRUE(p.t.run_until([&] { return us_tcp_state(p.srv.s) == US_TCP_CLOSE_WAIT; },
                            p.t.now + US_SEC(1)));
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  p.t.run_for(US_SEC(1));

  // ARP for the peer, answered; then the handshake with both states.
  int arp_req = r.find([](const us_event &e) {
    return e.type == US_EV_ARP && e.dir == US_EV_TX && e.u.arp.op == 1 && e.u.arp.tpa == TwoStack::kIpB;
  });
  int arp_rep = r.find([](const us_event &e) {
    return e.type == US_EV_ARP && e.dir == US_EV_RX && e.u.arp.op == 2 && e.u.arp.spa == TwoStack::kIpB;
  });
  int syn_sent = r.state(US_TCP_SYN_SENT);
  int syn = r.seg(US_EV_TX, TCP_SYN);
  int synack = r.seg(US_EV_RX, TCP_SYN | TCP_ACK);
  int est = r.state(US_TCP_ESTABLISHED);
  int ack = r.seg(US_EV_TX, TCP_ACK, synack);
  int fw1 = r.state(US_TCP_FIN_WAIT1);
  int fin = r.seg(US_EV_TX, TCP_FIN | TCP_ACK);
  int fw2 = r.state(US_TCP_FIN_WAIT2);
  int peer_fin = r.seg(US_EV_RX, TCP_FIN | TCP_ACK);
  int tw = r.state(US_TCP_TIME_WAIT);
  int last_ack = r.seg(US_EV_TX, TCP_ACK, peer_fin);
  // The SYN is built, then waits for ARP: SYN, request, reply, SYN-ACK.
  std::vector<int> order = {syn_sent, syn, arp_req, arp_rep, synack, est, ack, fw1, fin, fw2, tw, last_ack};
  for (size_t i = 0; i < order.size(); i++) ASSERT_GE(order[i], 0) << "step " << i;
  for (size_t i = 1; i < order.size(); i++) EXPECT_LT(order[i - 1], order[i]) << "step " << i;
  EXPECT_EQ(US_TCP_CLOSE, r.ev[syn_sent].u.state.from);
  EXPECT_EQ(US_TCP_SYN_SENT, r.ev[est].u.state.from);
  // Timestamps never go back.
  for (size_t i = 1; i < r.ev.size(); i++) EXPECT_LE(r.ev[i - 1].t, r.ev[i].t);
  // The SYN's options as sent.
  EXPECT_EQ(1460, r.ev[syn].u.seg.mss);
  EXPECT_TRUE(r.ev[syn].u.seg.opt_has & TCP_OPT_F_WS);
  // Exactly one event per segment on the wire, each way, with the same numbers.
  std::vector<const us_event *> tx, rx;
  for (auto &e : r.ev)
    if (e.type == US_EV_TCP_SEG) (e.dir == US_EV_TX ? tx : rx).push_back(&e);
  std::vector<tcpt::Seg> wtx, wrx;
  for (auto &s : p.log) (s.dir == 0 ? wtx : wrx).push_back(s);
  ASSERT_EQ(wtx.size(), tx.size());
  ASSERT_EQ(wrx.size(), rx.size());
  for (size_t i = 0; i < tx.size(); i++) {
    EXPECT_EQ(wtx[i].seq, tx[i]->u.seg.seq);
    EXPECT_EQ(wtx[i].ack, tx[i]->u.seg.ack);
    EXPECT_EQ(wtx[i].len, tx[i]->u.seg.len);
    EXPECT_EQ(wtx[i].flags, tx[i]->u.seg.flags);
  }
  // The snapshot at the end holds the bytes moved.
  int last = r.find([](const us_event &e) { return e.type == US_EV_TCP_SEG && e.has_snap; }, last_ack);
  ASSERT_GE(last, 0);
  EXPECT_EQ(3000u, r.ev[last].snap.bytes_acked);
}

TEST(EventStream, RetransmissionsMatchTheCounter) {
  TwoStackOptions o;
  o.seed = 11;
  o.faults[0].loss = 0.05;
  o.faults[1].loss = 0.05;
  Rec r;
  Pair p(o);
  us_stack_set_event_sink(p.t.a, Rec::fn, &r);
  p.connect();
  Flow up(p.cli.s, p.srv.s, 1 << 20);
  ASSERT_TRUE(p.t.run_until([&] { up.pump(); return up.done(); }, p.t.now + US_SEC(120)));
  uint64_t rtx = 0;
  bool cwnd_cut = false;
  uint32_t prev = 0;
  for (auto &e : r.ev) {
    if (e.type == US_EV_TCP_RETRANS) rtx += e.u.rtx.len > 1448 ? (e.u.rtx.len + 1447) / 1448 : 1;
    if (e.has_snap && e.snap.state == US_TCP_ESTABLISHED) {
      if (prev && e.snap.cwnd < prev) cwnd_cut = true;
      prev = e.snap.cwnd;
    }
  }
  EXPECT_GT(rtx, 0u);
  EXPECT_EQ(p.t.counter(0, US_CNT_TCP_RETRANS), rtx);
  EXPECT_TRUE(cwnd_cut);
}

TEST(EventStream, DropsArriveByReason) {
  Rec r;
  Pair p;
  p.connect();
  us_stack_set_event_sink(p.t.a, Rec::fn, &r);
  std::vector<uint8_t> l4(20, 0);
  l4[12] = 0x50;
  l4[16] = 0xde;  // a checksum that cannot be right
  p.inject_l4(0, l4, false);
  int i = r.find([](const us_event &e) {
    return e.type == US_EV_COUNT && e.u.count.counter == US_CNT_TCP_DROP_CSUM;
  });
  EXPECT_GE(i, 0);
}

TEST(EventStream, NoSinkNoEvents) {
  Rec r;
  Pair p;
  us_stack_set_event_sink(p.t.a, Rec::fn, &r);
  us_stack_set_event_sink(p.t.a, nullptr, nullptr);
  p.connect();
  EXPECT_TRUE(r.ev.empty());
}

TEST(EventStream, ForeachListsLiveConnections) {
  Pair p;
  p.connect();
  struct Seen {
    int n = 0, est = 0, listen = 0;
  } seen;
  us_stack_tcp_foreach(p.t.b, [](void *arg, const us_ev_conn_info *ci) {
    auto *s = static_cast<Seen *>(arg);
    s->n++;
    if (ci->listening) s->listen++;
    if (ci->snap.state == US_TCP_ESTABLISHED && ci->conn.rip == TwoStack::kIpA && ci->conn.lport == 80)
      s->est++;
  }, &seen);
  EXPECT_EQ(2, seen.n);
  EXPECT_EQ(1, seen.listen);
  EXPECT_EQ(1, seen.est);
  EXPECT_EQ(0u, us_stack_tcp_closing(p.t.a));
  us_tcp_shutdown(p.cli.s, 1);
  EXPECT_EQ(1u, us_stack_tcp_closing(p.t.a));  // FIN_WAIT_1
  EXPECT_STREQ("TIME_WAIT", us_tcp_state_name(US_TCP_TIME_WAIT));
  EXPECT_STREQ("SYN_RCVD", us_tcp_state_name(US_TCP_SYN_RECV));
}

}  // namespace
