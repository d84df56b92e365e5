// The diagram page (shim/diagram_*.c) from connections between two stacks
// in virtual time: two lifelines, one arrow per segment on the wire (or
// counted in a fold), both sides' states, plots with retransmissions
// marked, and nothing the page would fetch.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <unistd.h>

#include "tests/unit/test_tcp_util.h"

extern "C" {
#include "shim/trace.h"
}

using tcpt::Flow;
using tcpt::Pair;

namespace {

size_t count(const std::string &s, const std::string &what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
  return n;
}

// Runs one connection (client on A traced), `up` bytes A->B, client closes
// first; returns the page.
std::string page(Pair &p, uint64_t up) {
  char dir[] = "/tmp/ustack-diagram-test.XXXXXX";
  std::string d = mkdtemp(dir);
  us_config c;
  us_config_init(&c);
  snprintf(c.diagram, sizeof c.diagram, "%s/d.html", d.c_str());
  us_trace *tr = nullptr;
  char err[256];
  EXPECT_EQ(0, us_trace_attach(&tr, p.t.a, &c, err, sizeof err)) << err;
  p.connect();
  Flow f(p.cli.s, p.srv.s, up);
  EXPECT_TRUE(p.t.run_until([&] { f.pump(); return f.done(); }, p.t.now + US_SEC(300)));
  us_tcp_close(p.cli.s);
  p.cli.s = nullptr;
  EXPECT_TRUE(p.t.run_until([&] { return us_tcp_state(p.srv.s) == US_TCP_CLOSE_WAIT; },
                            p.t.now + US_SEC(5)));
  us_tcp_close(p.srv.s);
  p.srv.s = nullptr;
  p.t.run_for(US_SEC(1));
  us_trace_detach(tr, p.t.a);
  std::ifstream in(d + "/d.html");
  std::stringstream ss;
  ss << in.rdbuf();
  std::system(("rm -rf " + d).c_str());
  return ss.str();
}

TEST(Diagram, ShortExchangeArrowPerSegment) {
  Pair p;
  std::string h = page(p, 2000);
  EXPECT_EQ(0u, h.find("<!DOCTYPE html>"));
  EXPECT_EQ(1u, count(h, "<svg class=\"ladder\""));
  EXPECT_EQ(2u, count(h, "<line class=\"lifeline\""));
  EXPECT_EQ(1u, count(h, "data-side=\"client\""));
  EXPECT_EQ(1u, count(h, "data-side=\"server\""));
  EXPECT_EQ(p.log.size(), count(h, "<g class=\"seg "));  // every segment, nothing folded
  EXPECT_EQ(0u, count(h, "<g class=\"fold\""));
  EXPECT_EQ(4u, count(h, "<svg class=\"plot\""));
  // Our states from the stack, the peer's inferred, textbook names.
  std::regex peer_state("<g class=\"state peer\"><rect[^>]*/><text[^>]*>([A-Z_0-9]+)</text>");
  std::string seen;
  for (std::sregex_iterator it(h.begin(), h.end(), peer_state), end; it != end; ++it)
    seen += (*it)[1].str() + " ";
  EXPECT_EQ("LISTEN SYN_RCVD ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED ", seen);
  std::regex local_state("<g class=\"state local\"><rect[^>]*/><text[^>]*>([A-Z_0-9]+)</text>");
  seen.clear();
  for (std::sregex_iterator it(h.begin(), h.end(), local_state), end; it != end; ++it)
    seen += (*it)[1].str() + " ";
  EXPECT_EQ("CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT ", seen);
  // The first arrows are the 3-way handshake, labelled with relative numbers.
  size_t syn = h.find(">SYN seq=0 win="), synack = h.find(">SYN, ACK seq=0 ack=1 win="),
         ack = h.find(">ACK seq=1 ack=1 win=");
  EXPECT_LT(syn, synack);
  EXPECT_LT(synack, ack);
  EXPECT_NE(std::string::npos, ack);
  // Self-contained: nothing to fetch, no script.
  EXPECT_EQ(0u, count(h, "<script"));
  EXPECT_EQ(0u, count(h, " src="));
  EXPECT_EQ(0u, count(h, "href="));
  EXPECT_EQ(0u, count(h, "@import"));
}

TEST(Diagram, LongTransferFoldedAndLossMarked) {
  ustest::TwoStackOptions o;
  o.seed = 5;
  o.faults[0].loss = 0.03;
  Pair p(o);
  std::string h = page(p, 1 << 20);
  size_t drawn = count(h, "<g class=\"seg ");
  size_t folded = 0;
  std::regex fold("<g class=\"fold\" data-segments=\"([0-9]+)\"");
  for (std::sregex_iterator it(h.begin(), h.end(), fold), end; it != end; ++it)
    folded += std::stoul((*it)[1].str());
  EXPECT_GT(folded, 0u);
  EXPECT_LT(drawn, 600u);
  // What is drawn plus what is folded is every segment on the wire.
  EXPECT_EQ(p.log.size(), drawn + folded);
  EXPECT_GT(count(h, "<g class=\"seg tx rtx\""), 0u);  // retransmissions stay visible
  EXPECT_GT(count(h, "class=\"rtx-mark\""), 0u);
  EXPECT_GT(count(h, "class=\"recovery\""), 0u);
}

}  // namespace
