// The resolver end to end: the client on stack A asks a small DNS server
// written here on stack B's UDP API, over the in-memory wire, with seeded
// loss and dropped frames, on the virtual clock.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

extern "C" {
#include "stack/dns_client.h"
#include "stack/dns_wire.h"
#include "stack/tcp_sock.h"
#include "stack/udp.h"
}

#include "twostack.h"

namespace {

using ustest::TwoStack;
using ustest::TwoStackOptions;

// Answers A questions from a table; AAAA gets NODATA, unknown names NXDOMAIN
// (with an SOA, so negative answers can be cached).
struct Responder {
  us_stack *s;
  udp_sock *u = nullptr;
  std::map<std::string, uint32_t> zone;  // lower-case name -> IPv4 (host order)
  std::map<std::string, int> big;        // name -> A records, only complete over TCP
  int questions = 0, tcp_questions = 0;
  us_tcp_sock *listener = nullptr;
  std::vector<us_tcp_sock *> conns;

  explicit Responder(us_stack *st) : s(st) {
    static const udp_sock_ops ops = {on_dgram, nullptr};
    u = us_udp_open(s, &ops, this);
    EXPECT_EQ(0, us_udp_bind(u, 0, DNS_PORT));
  }
  ~Responder() {
    if (u) us_udp_close(u);
    for (auto *c : conns) us_tcp_abort(c);
    if (listener) us_tcp_close(listener);
  }

  // Answer over TCP too: one question per connection, length-prefixed.
  void listen_tcp() {
    listener = us_tcp_socket(s, on_tcp, this);
    ASSERT_EQ(0, us_tcp_bind(listener, 0, DNS_PORT));
    ASSERT_EQ(0, us_tcp_listen(listener, 8));
  }
  static void on_tcp(void *user, us_tcp_sock *t, uint32_t ev, int) {
    auto *r = static_cast<Responder *>(user);
    if (ev & US_TCP_EV_ACCEPT) {
      int err;
      while (us_tcp_sock *c = us_tcp_accept(t, &err)) r->conns.push_back(c);
    }
    if (t == r->listener || !(ev & US_TCP_EV_READABLE)) return;
    uint8_t buf[600];
    size_t have = us_tcp_readable(t);
    if (have < 2) return;
    ssize_t n = us_tcp_recv(t, buf, sizeof buf);
    if (n < 2 || size_t(n) != 2 + (size_t(buf[0]) << 8 | buf[1])) return;
    r->tcp_questions++;
    uint8_t out[4096];
    size_t len = r->answer(buf + 2, size_t(n) - 2, out + 2, sizeof out - 2, true);
    out[0] = uint8_t(len >> 8);
    out[1] = uint8_t(len);
    EXPECT_EQ(ssize_t(len + 2), us_tcp_send(t, out, len + 2));
  }

  static void on_dgram(void *user, udp_sock *u, uint32_t ip, uint16_t port, const uint8_t *d,
                       size_t n) {
    auto *r = static_cast<Responder *>(user);
    uint8_t out[DNS_UDP_MAX];
    size_t len = r->answer(d, n, out, sizeof out, false);
    if (len) us_udp_sendto(u, ip, port, out, len);
  }

  // The reply to query q (0 if q is not a query); over UDP a "big" name
  // gets an empty answer with TC set, as a server does when it would not fit.
  size_t answer(const uint8_t *d, size_t n, uint8_t *out, size_t cap, bool tcp) {
    dns_header h;
    dns_question q;
    size_t off = DNS_HDR_LEN;
    if (dns_read_header(d, n, &h) || h.qdcount != 1 || dns_read_question(d, n, &off, &q)) return 0;
    questions++;
    char text[DNS_TEXT_MAX];
    if (dns_name_to_text(q.name, q.name_len, text, sizeof text)) return 0;
    std::string name(text);
    for (auto &ch : name) ch = char(tolower(ch));
    auto it = zone.find(name);
    auto bit = big.find(name);

    dns_builder b;
    dns_b_init(&b, out, cap);
    dns_header rh = {};
    rh.id = h.id;
    rh.flags = DNS_F_QR | DNS_F_AA | (h.flags & DNS_F_RD) | DNS_F_RA;
    rh.qdcount = 1;
    if (bit != big.end()) {
      if (!tcp) rh.flags |= DNS_F_TC;
      rh.ancount = tcp ? uint16_t(bit->second) : 0;
      dns_b_header(&b, &rh);
      dns_b_question(&b, q.name, q.name_len, q.type, q.qclass);
      for (int i = 0; i < rh.ancount; i++) {
        uint8_t a[4] = {198, 18, 2, uint8_t(i)};
        dns_b_rr(&b, q.name, q.name_len, DNS_TYPE_A, DNS_CLASS_IN, 60, a, 4);
      }
      EXPECT_EQ(DNS_OK, b.err);
      return b.len;
    }
    bool found = it != zone.end();
    if (!found) rh.flags |= DNS_RCODE_NXDOMAIN;
    rh.ancount = found && q.type == DNS_TYPE_A ? 1 : 0;
    rh.nscount = rh.ancount ? 0 : 1;
    dns_b_header(&b, &rh);
    dns_b_question(&b, q.name, q.name_len, q.type, q.qclass);
    if (rh.ancount) {
      uint8_t a[4] = {uint8_t(it->second >> 24), uint8_t(it->second >> 16),
                      uint8_t(it->second >> 8), uint8_t(it->second)};
      dns_b_rr(&b, q.name, q.name_len, DNS_TYPE_A, DNS_CLASS_IN, 60, a, 4);
    } else {
      uint8_t zn[DNS_NAME_MAX], rd[2 * DNS_NAME_MAX + 20];
      size_t zl;
      EXPECT_EQ(DNS_OK, dns_name_from_text("test", zn, &zl));
      dns_builder sb;
      dns_b_init(&sb, rd, sizeof rd);
      dns_b_name(&sb, zn, zl);
      dns_b_name(&sb, zn, zl);
      for (uint32_t v : {1u, 3600u, 600u, 86400u, 30u}) dns_b_u32(&sb, v);
      dns_b_rr(&b, zn, zl, DNS_TYPE_SOA, DNS_CLASS_IN, 300, rd, uint16_t(sb.len));
    }
    EXPECT_EQ(DNS_OK, b.err);
    return b.len;
  }
};

struct Outcome {
  int status = -1;
  std::vector<us_dns_addr> addrs;
  us_time_t elapsed = 0;
  bool done = false;
};

void OnResult(void *user, const us_dns_result *r) {
  auto *o = static_cast<Outcome *>(user);
  o->status = r->status;
  o->addrs.assign(r->addrs, r->addrs + r->naddrs);
  o->elapsed = r->elapsed;
  o->done = true;
}

us_dns_client *MakeClient(us_stack *s, int attempts, int cache) {
  us_dns_config cfg;
  us_dns_config_defaults(&cfg);
  cfg.server = TwoStack::kIpB;
  cfg.timeout_ms = 1000;
  cfg.attempts = attempts;
  cfg.cache_entries = cache;
  return us_dns_client_new(s, &cfg);
}

// Frames A -> B that carry a UDP datagram to port 53.
bool IsDnsQuery(const uint8_t *f, size_t n) {
  if (n < 14 + 20 + 8 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 17) return false;
  size_t ihl = size_t(f[14] & 15) * 4;
  return n >= 14 + ihl + 8 && f[14 + ihl + 2] == 0 && f[14 + ihl + 3] == 53;
}

TEST(DnsTwoStack, ResolvesAndFailsOverTheWire) {
  TwoStack t;
  Responder srv(t.b);
  srv.zone["web.ustack.test"] = ustest::ip4(198, 18, 0, 80);
  us_dns_client *c = MakeClient(t.a, 2, 16);

  Outcome ok, none;
  us_stack_advance(t.a, t.now);
  us_dns_query(c, "web.ustack.test", US_DNS_WANT_BOTH, OnResult, &ok);
  us_dns_query(c, "nowhere.ustack.test", US_DNS_WANT_A, OnResult, &none);
  ASSERT_TRUE(t.run_until([&] { return ok.done && none.done; }, t.now + US_SEC(5)));
  EXPECT_EQ(US_DNS_OK, ok.status);
  ASSERT_EQ(1u, ok.addrs.size());  // A only: the AAAA question got NODATA
  EXPECT_EQ(4, ok.addrs[0].family);
  EXPECT_EQ(80, ok.addrs[0].addr[3]);
  EXPECT_LT(ok.elapsed, US_MS(10));  // ARP and one round trip, 1 ms each way
  EXPECT_EQ(US_DNS_NONAME, none.status);
  EXPECT_EQ(3, srv.questions);
  EXPECT_EQ(0u, t.counter(0, US_CNT_DNS_RETRY));

  // Both answers are cached now: no packet, answered at once.
  Outcome again;
  EXPECT_EQ(nullptr, us_dns_query(c, "nowhere.ustack.test", US_DNS_WANT_A, OnResult, &again));
  EXPECT_EQ(US_DNS_NONAME, again.status);
  EXPECT_EQ(3, srv.questions);
  us_dns_client_free(c);
}

TEST(DnsTwoStack, LostQueriesAreRetried) {
  TwoStack t;
  Responder srv(t.b);
  srv.zone["web.ustack.test"] = ustest::ip4(198, 18, 0, 80);
  int dns_frames = 0;
  t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) {
    return dir == 0 && IsDnsQuery(f, n) && dns_frames++ < 2;  // lose the first two tries
  };
  us_dns_client *c = MakeClient(t.a, 3, 0);
  Outcome o;
  us_stack_advance(t.a, t.now);
  us_dns_query(c, "web.ustack.test", US_DNS_WANT_A, OnResult, &o);
  ASSERT_TRUE(t.run_until([&] { return o.done; }, t.now + US_SEC(10)));
  EXPECT_EQ(US_DNS_OK, o.status);
  EXPECT_EQ(3, dns_frames);
  EXPECT_EQ(1, srv.questions);
  // Tries at 0, 1 s and 3 s (backoff doubles); answered one round trip later.
  EXPECT_GE(o.elapsed, US_SEC(3));
  EXPECT_LT(o.elapsed, US_SEC(3) + US_MS(10));
  EXPECT_EQ(2u, t.counter(0, US_CNT_DNS_RETRY));
  us_dns_client_free(c);
}

TEST(DnsTwoStack, AllTriesLostIsAgain) {
  TwoStack t;
  Responder srv(t.b);
  t.drop = [&](int dir, uint64_t, const uint8_t *f, size_t n) { return dir == 0 && IsDnsQuery(f, n); };
  us_dns_client *c = MakeClient(t.a, 2, 0);
  Outcome o;
  us_stack_advance(t.a, t.now);
  us_dns_query(c, "web.ustack.test", US_DNS_WANT_A, OnResult, &o);
  ASSERT_TRUE(t.run_until([&] { return o.done; }, t.now + US_SEC(10)));
  EXPECT_EQ(US_DNS_AGAIN, o.status);
  EXPECT_EQ(US_SEC(3), o.elapsed);  // 1 s + 2 s
  EXPECT_EQ(0, srv.questions);
  us_dns_client_free(c);
}

TEST(DnsTwoStack, ClosedServerPortAnsweredByIcmp) {
  TwoStack t;  // nothing listens on B's port 53: B sends port unreachable
  us_dns_client *c = MakeClient(t.a, 3, 0);
  Outcome o;
  us_stack_advance(t.a, t.now);
  us_dns_query(c, "web.ustack.test", US_DNS_WANT_A, OnResult, &o);
  ASSERT_TRUE(t.run_until([&] { return o.done; }, t.now + US_SEC(10)));
  EXPECT_EQ(US_DNS_AGAIN, o.status);
  EXPECT_EQ(3u, t.counter(0, US_CNT_DNS_ICMP_ERR));
  EXPECT_LT(o.elapsed, US_MS(50));  // no waiting for timeouts
  us_dns_client_free(c);
}

TEST(DnsTwoStack, TruncatedAnswerRetriedOverTcp) {
  TwoStack t;
  Responder srv(t.b);
  srv.listen_tcp();
  srv.big["big.ustack.test"] = 30;  // 30 A records: 526 bytes, more than UDP's 512
  us_dns_client *c = MakeClient(t.a, 2, 16);
  Outcome o;
  us_stack_advance(t.a, t.now);
  us_dns_query(c, "big.ustack.test", US_DNS_WANT_A, OnResult, &o);
  ASSERT_TRUE(t.run_until([&] { return o.done; }, t.now + US_SEC(5)));
  EXPECT_EQ(US_DNS_OK, o.status);
  ASSERT_EQ(30u, o.addrs.size());
  for (size_t i = 0; i < o.addrs.size(); i++) EXPECT_EQ(uint8_t(i), o.addrs[i].addr[3]);
  EXPECT_EQ(1, srv.tcp_questions);
  EXPECT_EQ(1u, t.counter(0, US_CNT_DNS_TRUNCATED));
  EXPECT_EQ(1u, t.counter(0, US_CNT_DNS_TCP));
  EXPECT_EQ(0u, t.counter(0, US_CNT_DNS_TCP_FAIL));
  EXPECT_LT(o.elapsed, US_MS(20));
  // The full answer came over TCP, so it is cached.
  EXPECT_EQ(1u, us_dns_cache_count(c));
  // The connection is closed properly afterwards.
  t.run_for(US_SEC(2));
  us_dns_client_free(c);
}

// Lookups four at a time under 25% loss in each direction (seeded, so the
// run is the same every time): every one ends, the answers are right, and
// the retries are what made that possible.
TEST(DnsTwoStack, LookupsUnderSeededLoss) {
  TwoStackOptions opts;
  opts.seed = 4242;
  opts.faults[0].loss = opts.faults[1].loss = 0.25;
  TwoStack t(opts);
  Responder srv(t.b);
  const int kNames = 40, kBatch = 4;
  for (int i = 0; i < kNames; i++)
    srv.zone["h" + std::to_string(i) + ".ustack.test"] = ustest::ip4(198, 18, 1, uint32_t(i));
  us_dns_client *c = MakeClient(t.a, 5, 0);
  std::vector<Outcome> out(kNames);
  for (int first = 0; first < kNames; first += kBatch) {
    us_stack_advance(t.a, t.now);
    for (int i = first; i < first + kBatch; i++) {
      std::string n = "h" + std::to_string(i) + ".ustack.test";
      us_dns_query(c, n.c_str(), US_DNS_WANT_A, OnResult, &out[size_t(i)]);
    }
    auto batch_done = [&] {
      for (int i = first; i < first + kBatch; i++)
        if (!out[size_t(i)].done) return false;
      return true;
    };
    ASSERT_TRUE(t.run_until(batch_done, t.now + US_SEC(40)));
  }
  int ok = 0;
  for (int i = 0; i < kNames; i++) {
    const Outcome &o = out[size_t(i)];
    if (o.status != US_DNS_OK) {
      EXPECT_EQ(US_DNS_AGAIN, o.status);
      continue;
    }
    ok++;
    ASSERT_EQ(1u, o.addrs.size());
    EXPECT_EQ(uint8_t(i), o.addrs[0].addr[3]) << "name " << i;
  }
  // With 5 tries each succeeding with p = 0.75^2, a lookup fails with p ~ 1.6%;
  // ARP failing under the same loss costs a few more (0 to 2 of 40 over
  // seeds 1..8 and 4242).
  EXPECT_GE(ok, kNames - 4);
  EXPECT_GT(t.counter(0, US_CNT_DNS_RETRY), 10u);
  EXPECT_GT(t.wire_stats(0).lost + t.wire_stats(1).lost, 10u);
  us_dns_client_free(c);
}

}  // namespace
