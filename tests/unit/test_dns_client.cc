// The stub resolver in the stack: one stack on a capture device, the test
// playing the DNS server with hand-made (and hostile) answers, the virtual
// clock driving retries and cache expiry.
#include <gtest/gtest.h>

#include <string>
#include <vector>

extern "C" {
#include "stack/dns_client.h"
#include "stack/dns_wire.h"
}

#include "frames.h"
#include "test_dns_msg.h"

namespace {

using namespace ustest;

// A query the stack sent, as the server sees it.
struct SentQuery {
  uint32_t dst;
  uint16_t sport, dport, id, qtype;
  std::string qname;
  Bytes ip_and_udp8;  // for ICMP errors: IP header + 8 bytes
};

struct Result {
  int status = -1;
  std::string name, canon;
  std::vector<us_dns_addr> addrs;
  uint32_t ttl = 0;
  us_time_t elapsed = 0;
  int from_cache = 0;
};

std::string AddrStr(const us_dns_addr &a) {
  char b[64];
  if (a.family == 4)
    snprintf(b, sizeof b, "%u.%u.%u.%u", a.addr[0], a.addr[1], a.addr[2], a.addr[3]);
  else
    snprintf(b, sizeof b, "v6:%02x%02x..%02x", a.addr[0], a.addr[1], a.addr[15]);
  return b;
}

struct Rig {
  OneStack one;
  us_dns_config cfg;
  us_dns_client *c = nullptr;
  std::vector<Result> results;
  size_t seen = 0;  // frames of one.cap.sent already parsed

  explicit Rig(void (*tweak)(us_dns_config *) = nullptr) {
    one.learn_peer();
    us_dns_config_defaults(&cfg);
    cfg.server = kIpPeer;
    cfg.timeout_ms = 1000;
    cfg.attempts = 3;
    if (tweak) tweak(&cfg);
    c = us_dns_client_new(one.s, &cfg);
  }
  ~Rig() { us_dns_client_free(c); }

  static void on_result(void *user, const us_dns_result *r) {
    Result x;
    x.status = r->status;
    x.name = r->name;
    x.canon = r->canon;
    x.addrs.assign(r->addrs, r->addrs + r->naddrs);
    x.ttl = r->ttl;
    x.elapsed = r->elapsed;
    x.from_cache = r->from_cache;
    static_cast<Rig *>(user)->results.push_back(x);
  }
  struct us_dns_query *query(const char *name, int want = US_DNS_WANT_A) {
    return us_dns_query(c, name, want, on_result, this);
  }

  // DNS queries sent since the last call. ARP requests for the server are
  // answered on the way (the stack re-resolves once its entry goes stale).
  std::vector<SentQuery> take() {
    std::vector<SentQuery> out;
    for (; seen < one.cap.sent.size(); seen++) {
      const Bytes f = one.cap.sent[seen];  // a copy: input() below may add frames
      if (f.size() >= 14 + 28 && get16(f.data() + 12) == 0x0806 && get16(f.data() + 20) == 1 &&
          get32(f.data() + 38) == kIpPeer) {
        one.input(eth(kMacA, kMacPeer, 0x0806, arp(2, kMacPeer, kIpPeer, kMacA, kIpUs)));
        continue;
      }
      if (f.size() < 14 + 20 + 8 || get16(f.data() + 12) != 0x0800 || f[14 + 9] != 17) continue;
      size_t ihl = (f[14] & 15) * 4;
      const uint8_t *u = f.data() + 14 + ihl;
      SentQuery q;
      q.dst = get32(f.data() + 14 + 16);
      q.sport = get16(u);
      q.dport = get16(u + 2);
      q.ip_and_udp8.assign(f.begin() + 14, f.begin() + 14 + long(ihl) + 8);
      const uint8_t *d = u + 8;
      size_t dl = get16(u + 4) - 8;
      dns_header h;
      EXPECT_EQ(DNS_OK, dns_read_header(d, dl, &h));
      q.id = h.id;
      EXPECT_EQ(DNS_F_RD, h.flags);
      size_t off = DNS_HDR_LEN;
      dns_question qq;
      EXPECT_EQ(DNS_OK, dns_read_question(d, dl, &off, &qq));
      char t[DNS_TEXT_MAX];
      EXPECT_EQ(DNS_OK, dns_name_to_text(qq.name, qq.name_len, t, sizeof t));
      q.qname = t;
      q.qtype = qq.type;
      out.push_back(q);
    }
    return out;
  }

  // Deliver a datagram to the stack as from (src, sport) to our port.
  void deliver(const DnsMsg &m, uint16_t dport, uint32_t src = kIpPeer, uint16_t sport = 53) {
    Bytes data(m.b.begin(), m.b.end());
    one.input(eth(kMacA, kMacPeer, 0x0800, ipv4(src, kIpUs, 17, udp(src, kIpUs, sport, dport, data))));
  }
  // A reply skeleton for q: header + its question. Records are appended by the caller.
  static DnsMsg reply(const SentQuery &q, unsigned an, unsigned rcode = 0, unsigned ns = 0,
                      unsigned extra_flags = 0) {
    DnsMsg m;
    m.header(q.id, DNS_F_QR | DNS_F_RD | DNS_F_RA | rcode | extra_flags, 1, an, ns);
    m.question(q.qname, q.qtype);
    return m;
  }
  static DnsMsg a_reply(const SentQuery &q, uint8_t last, uint32_t ttl = 300) {
    DnsMsg m = reply(q, 1);
    if (q.qtype == DNS_TYPE_A)
      m.ptr(12).rr_tail(DNS_TYPE_A, ttl, 4).u8(198).u8(18).u8(0).u8(last);
    else
      m.aaaa(q.qname, ttl, last);
    return m;
  }
  void answer(const SentQuery &q, const DnsMsg &m) { deliver(m, q.sport); }
  void nxdomain(const SentQuery &q, uint32_t neg_ttl = 0) {
    DnsMsg m = reply(q, 0, DNS_RCODE_NXDOMAIN, neg_ttl ? 1 : 0);
    if (neg_ttl) m.soa("test", 3600, neg_ttl);
    answer(q, m);
  }
  void advance(us_time_t dt) { one.advance_to(one.now + dt); }
  uint64_t cnt(us_counter x) const { return one.cnt(x); }
};

TEST(DnsClient, ResolvesAWithRandomIdAndPort) {
  Rig r;
  us_time_t t0 = r.one.now;
  ASSERT_NE(nullptr, r.query("web.ustack.test"));
  auto qs = r.take();
  ASSERT_EQ(1u, qs.size());
  EXPECT_EQ(kIpPeer, qs[0].dst);
  EXPECT_EQ(53, qs[0].dport);
  EXPECT_GE(qs[0].sport, 32768);
  EXPECT_EQ("web.ustack.test", qs[0].qname);
  EXPECT_EQ(DNS_TYPE_A, qs[0].qtype);
  r.advance(US_MS(7));
  r.answer(qs[0], Rig::a_reply(qs[0], 80, 120));
  ASSERT_EQ(1u, r.results.size());
  const Result &x = r.results[0];
  EXPECT_EQ(US_DNS_OK, x.status);
  ASSERT_EQ(1u, x.addrs.size());
  EXPECT_EQ("198.18.0.80", AddrStr(x.addrs[0]));
  EXPECT_EQ("web.ustack.test", x.canon);
  EXPECT_EQ(120u, x.ttl);
  EXPECT_EQ(US_MS(7), x.elapsed);
  EXPECT_EQ(0, x.from_cache);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_ANSWER_OK));
  (void)t0;

  // Another query: a different ID and port (fresh socket), same server.
  r.query("other.ustack.test");
  auto q2 = r.take();
  ASSERT_EQ(1u, q2.size());
  EXPECT_NE(qs[0].sport, q2[0].sport);
  EXPECT_NE(qs[0].id, q2[0].id);
}

TEST(DnsClient, BothFamiliesAThenAaaa) {
  Rig r;
  r.query("web.ustack.test", US_DNS_WANT_BOTH);
  auto qs = r.take();
  ASSERT_EQ(2u, qs.size());
  EXPECT_EQ(DNS_TYPE_A, qs[0].qtype);
  EXPECT_EQ(DNS_TYPE_AAAA, qs[1].qtype);
  EXPECT_NE(qs[0].sport, qs[1].sport);
  r.answer(qs[1], Rig::a_reply(qs[1], 0x99));  // AAAA first
  EXPECT_TRUE(r.results.empty());
  r.answer(qs[0], Rig::a_reply(qs[0], 80));
  ASSERT_EQ(1u, r.results.size());
  ASSERT_EQ(2u, r.results[0].addrs.size());
  EXPECT_EQ(4, r.results[0].addrs[0].family);
  EXPECT_EQ(6, r.results[0].addrs[1].family);
  EXPECT_EQ(0x99, r.results[0].addrs[1].addr[15]);
}

TEST(DnsClient, AaaaOnlyNameGivesIpv6WhenBothAsked) {
  Rig r;
  r.query("v6.ustack.test", US_DNS_WANT_BOTH);
  auto qs = r.take();
  ASSERT_EQ(2u, qs.size());
  r.answer(qs[0], Rig::reply(qs[0], 0));  // NODATA for A
  r.answer(qs[1], Rig::a_reply(qs[1], 7));
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
  ASSERT_EQ(1u, r.results[0].addrs.size());
  EXPECT_EQ(6, r.results[0].addrs[0].family);
}

TEST(DnsClient, FollowsCnameChain) {
  Rig r;
  r.query("www.ustack.test");
  auto qs = r.take();
  ASSERT_EQ(1u, qs.size());
  DnsMsg m = Rig::reply(qs[0], 3);
  m.cname("www.ustack.test", 600, "edge.cdn.test");
  m.cname("edge.cdn.test", 60, "node7.cdn.test");
  m.a("node7.cdn.test", 20, 198, 18, 0, 77);
  r.answer(qs[0], m);
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
  EXPECT_EQ("node7.cdn.test", r.results[0].canon);
  EXPECT_EQ("www.ustack.test", r.results[0].name);
  EXPECT_EQ(20u, r.results[0].ttl);
  ASSERT_EQ(1u, r.results[0].addrs.size());
  EXPECT_EQ("198.18.0.77", AddrStr(r.results[0].addrs[0]));
}

TEST(DnsClient, CnameLoopIsAHardFailure) {
  Rig r;
  r.query("loop.test");
  auto qs = r.take();
  DnsMsg m = Rig::reply(qs[0], 2);
  m.cname("loop.test", 60, "loop2.test").cname("loop2.test", 60, "loop.test");
  r.answer(qs[0], m);
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_FAIL, r.results[0].status);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_CNAME_LOOP));
}

TEST(DnsClient, WrongIdIgnored) {
  Rig r;
  r.query("web.ustack.test");
  auto qs = r.take();
  SentQuery bad = qs[0];
  bad.id = uint16_t(qs[0].id + 1);
  r.answer(qs[0], Rig::a_reply(bad, 66));
  EXPECT_TRUE(r.results.empty());
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_BAD_ID));
  r.answer(qs[0], Rig::a_reply(qs[0], 80));
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ("198.18.0.80", AddrStr(r.results[0].addrs[0]));
}

TEST(DnsClient, AnswerForAnotherQuestionIgnored) {
  Rig r;
  r.query("web.ustack.test");
  auto qs = r.take();
  SentQuery other = qs[0];
  other.qname = "evil.test";
  r.answer(qs[0], Rig::a_reply(other, 66));
  other = qs[0];
  other.qtype = DNS_TYPE_AAAA;
  r.answer(qs[0], Rig::a_reply(other, 66));
  DnsMsg noq;  // no question at all
  noq.header(qs[0].id, DNS_F_QR, 0, 1).a("web.ustack.test", 60, 198, 18, 0, 66);
  r.answer(qs[0], noq);
  DnsMsg classch;  // class CH
  classch.header(qs[0].id, DNS_F_QR, 1, 0).question("web.ustack.test", DNS_TYPE_A, 3);
  r.answer(qs[0], classch);
  EXPECT_TRUE(r.results.empty());
  EXPECT_EQ(4u, r.cnt(US_CNT_DNS_BAD_QUESTION));
  // Case differences are not a different question (RFC 4343).
  SentQuery upper = qs[0];
  upper.qname = "WEB.UStack.TEST";
  r.answer(qs[0], Rig::a_reply(upper, 80));
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
}

TEST(DnsClient, AnswerFromAnotherAddressOrPortIgnored) {
  Rig r;
  r.query("web.ustack.test");
  auto qs = r.take();
  DnsMsg forged = Rig::a_reply(qs[0], 66);
  uint64_t noport = r.cnt(US_CNT_UDP_NO_PORT);
  r.deliver(forged, qs[0].sport, kIpOther, 53);   // another host
  r.deliver(forged, qs[0].sport, kIpPeer, 5353);  // another port
  EXPECT_TRUE(r.results.empty());
  // The socket is connected to the server, so UDP already refuses these.
  EXPECT_EQ(noport + 2, r.cnt(US_CNT_UDP_NO_PORT));
  // The resolver checks again by itself.
  us_dns_client_inject(r.c, 0, kIpOther, 53, forged.data(), forged.size());
  us_dns_client_inject(r.c, 0, kIpPeer, 5353, forged.data(), forged.size());
  EXPECT_EQ(2u, r.cnt(US_CNT_DNS_BAD_SOURCE));
  EXPECT_TRUE(r.results.empty());
  r.answer(qs[0], Rig::a_reply(qs[0], 80));
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ("198.18.0.80", AddrStr(r.results[0].addrs[0]));
}

// Each hostile answer is dropped with its own reason; the query survives
// them all and takes the good answer that follows.
TEST(DnsClient, HostileAnswersRejected) {
  Rig r;
  r.query("web.ustack.test");
  auto qs = r.take();
  const SentQuery &q = qs[0];
  uint16_t id = q.id;

  DnsMsg loop;  // answer owner name points at itself
  loop.header(id, DNS_F_QR, 1, 1).question(q.qname, DNS_TYPE_A);
  size_t at = loop.size();
  loop.ptr(unsigned(at)).rr_tail(DNS_TYPE_A, 60, 4).u32(1);
  r.answer(q, loop);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_BAD_LOOP));

  DnsMsg fwd;  // forward pointer
  fwd.header(id, DNS_F_QR, 1, 1).question(q.qname, DNS_TYPE_A);
  fwd.ptr(unsigned(fwd.size() + 2)).name("x").rr_tail(DNS_TYPE_A, 60, 4).u32(1);
  r.answer(q, fwd);
  EXPECT_EQ(2u, r.cnt(US_CNT_DNS_BAD_LOOP));

  DnsMsg range;  // pointer beyond the packet
  range.header(id, DNS_F_QR, 1, 1).question(q.qname, DNS_TYPE_A);
  range.ptr(0x3ff0).rr_tail(DNS_TYPE_A, 60, 4).u32(1);
  r.answer(q, range);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_BAD_POINTER));

  DnsMsg past;  // rdlength past the end
  past.header(id, DNS_F_QR, 1, 1).question(q.qname, DNS_TYPE_A);
  past.ptr(12).rr_tail(DNS_TYPE_A, 60, 200).u32(1);
  r.answer(q, past);
  DnsMsg counts;  // ancount larger than the records present
  counts.header(id, DNS_F_QR, 1, 5).question(q.qname, DNS_TYPE_A).ptr(12).rr_tail(1, 60, 4).u32(1);
  r.answer(q, counts);
  DnsMsg tiny;  // 5 bytes
  tiny.u16(id).u16(DNS_F_QR).u8(0);
  r.answer(q, tiny);
  EXPECT_EQ(3u, r.cnt(US_CNT_DNS_BAD_SHORT));

  DnsMsg label;  // label type 0x40 (length 64 does not exist)
  label.header(id, DNS_F_QR, 1, 1).question(q.qname, DNS_TYPE_A);
  label.u8(0x40).raw(std::string(64, 'a').data(), 64).u8(0).rr_tail(1, 60, 4).u32(1);
  r.answer(q, label);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_BAD_LABEL));

  DnsMsg longname;  // 5 labels of 63: 321 bytes
  std::string l63(63, 'z');
  longname.header(id, DNS_F_QR, 1, 1).question(q.qname, DNS_TYPE_A);
  longname.name(l63 + "." + l63 + "." + l63 + "." + l63 + "." + l63).rr_tail(1, 60, 4).u32(1);
  r.answer(q, longname);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_BAD_NAME_LONG));

  DnsMsg badlen;  // A record of 6 bytes
  badlen.header(id, DNS_F_QR, 1, 1).question(q.qname, DNS_TYPE_A).ptr(12).rr_tail(1, 60, 6).u32(1).u16(0);
  r.answer(q, badlen);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_BAD_RDATA));

  DnsMsg query_not_reply;  // QR = 0
  query_not_reply.header(id, DNS_F_RD, 1, 0).question(q.qname, DNS_TYPE_A);
  r.answer(q, query_not_reply);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_BAD_NOT_RESPONSE));

  EXPECT_TRUE(r.results.empty());
  EXPECT_EQ(0u, r.cnt(US_CNT_DNS_ANSWER_OK));
  r.answer(q, Rig::a_reply(q, 80));
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
}

TEST(DnsClient, RetriesWithBackoffThenAgain) {
  Rig r;  // timeout 1 s, 3 attempts
  us_time_t t0 = r.one.now;
  r.query("web.ustack.test");
  std::vector<SentQuery> all = r.take();
  ASSERT_EQ(1u, all.size());
  r.one.advance_to(t0 + US_MS(999));
  EXPECT_TRUE(r.take().empty());
  r.one.advance_to(t0 + US_SEC(1));
  auto q2 = r.take();
  ASSERT_EQ(1u, q2.size());  // second try after 1 s
  r.one.advance_to(t0 + US_MS(2999));
  EXPECT_TRUE(r.take().empty());
  r.one.advance_to(t0 + US_SEC(3));
  auto q3 = r.take();
  ASSERT_EQ(1u, q3.size());  // third try after 2 s more
  // Every try comes from its own port with its own ID.
  EXPECT_NE(all[0].sport, q2[0].sport);
  EXPECT_NE(q2[0].sport, q3[0].sport);
  EXPECT_NE(all[0].id, q2[0].id);
  EXPECT_NE(q2[0].id, q3[0].id);
  r.one.advance_to(t0 + US_MS(6999));
  EXPECT_TRUE(r.results.empty());
  r.one.advance_to(t0 + US_SEC(7));  // and 4 s more
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_AGAIN, r.results[0].status);
  EXPECT_EQ(US_SEC(7), r.results[0].elapsed);
  EXPECT_EQ(3u, r.cnt(US_CNT_DNS_QUERY_TX));
  EXPECT_EQ(2u, r.cnt(US_CNT_DNS_RETRY));
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_TIMEOUT));
  // After the end, an answer is late, then (sockets closed) not even delivered.
  r.answer(q3[0], Rig::a_reply(q3[0], 80));
  EXPECT_EQ(1u, r.results.size());
  EXPECT_EQ(0u, r.cnt(US_CNT_DNS_ANSWER_OK));
}

TEST(DnsClient, LateAnswerToAnEarlierTryCounts) {
  Rig r;
  r.query("slow.ustack.test");
  auto q1 = r.take();
  r.advance(US_SEC(1));
  auto q2 = r.take();
  ASSERT_EQ(1u, q2.size());
  r.answer(q1[0], Rig::a_reply(q1[0], 5));  // answer to the first try, on its socket
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
  EXPECT_EQ(US_SEC(1), r.results[0].elapsed);
}

TEST(DnsClient, IcmpPortUnreachableTriesAgainAtOnce) {
  Rig r;
  r.query("web.ustack.test");
  auto q1 = r.take();
  r.advance(US_MS(3));
  Bytes err = icmp(3, 3, 0, q1[0].ip_and_udp8);
  r.one.input(eth(kMacA, kMacPeer, 0x0800, ipv4(kIpPeer, kIpUs, 1, err)));
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_ICMP_ERR));
  r.advance(0);
  auto q2 = r.take();
  ASSERT_EQ(1u, q2.size());
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_RETRY));
}

TEST(DnsClient, IcmpHostUnreachableWaitsForTheTimer) {
  Rig r;
  r.query("web.ustack.test");
  auto q1 = r.take();
  Bytes err = icmp(3, 1, 0, q1[0].ip_and_udp8);
  r.one.input(eth(kMacA, kMacPeer, 0x0800, ipv4(kIpPeer, kIpUs, 1, err)));
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_ICMP_ERR));
  r.advance(US_MS(999));
  EXPECT_TRUE(r.take().empty());
  r.advance(US_MS(1));
  EXPECT_EQ(1u, r.take().size());
}

TEST(DnsClient, NxdomainIsNoNameAndNegativeCached) {
  Rig r;
  r.query("nope.ustack.test.");
  auto qs = r.take();
  ASSERT_EQ(1u, qs.size());
  EXPECT_EQ("nope.ustack.test", qs[0].qname);
  r.nxdomain(qs[0], 30);
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_NONAME, r.results[0].status);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_NXDOMAIN));
  // From the cache for 30 s (the SOA minimum), answered at once.
  r.advance(US_SEC(29));
  EXPECT_EQ(nullptr, r.query("nope.ustack.test."));
  ASSERT_EQ(2u, r.results.size());
  EXPECT_EQ(US_DNS_NONAME, r.results[1].status);
  EXPECT_EQ(1, r.results[1].from_cache);
  EXPECT_TRUE(r.take().empty());
  r.advance(US_SEC(1));
  EXPECT_NE(nullptr, r.query("nope.ustack.test."));
  EXPECT_EQ(1u, r.take().size());
}

TEST(DnsClient, NxdomainWithoutSoaNotCached) {
  Rig r;
  r.query("nope.test.");
  r.nxdomain(r.take()[0]);
  EXPECT_EQ(0u, us_dns_cache_count(r.c));
  r.query("nope.test.");
  EXPECT_EQ(1u, r.take().size());
}

// glibc's getaddrinfo (2.36, measured): EAI_AGAIN for SERVFAIL, REFUSED and
// NOTIMP, EAI_NONAME for FORMERR.
TEST(DnsClient, ServfailRefusedNotimpAreAgainFormerrIsNoname) {
  Rig r;
  const uint8_t rcodes[4] = {DNS_RCODE_SERVFAIL, DNS_RCODE_REFUSED, DNS_RCODE_NOTIMP,
                             DNS_RCODE_FORMERR};
  const char *names[4] = {"sf.test.", "ref.test.", "ni.test.", "fe.test."};
  for (int i = 0; i < 4; i++) {
    r.query(names[i]);
    auto qs = r.take();
    r.answer(qs[0], Rig::reply(qs[0], 0, rcodes[i]));
  }
  ASSERT_EQ(4u, r.results.size());
  EXPECT_EQ(US_DNS_AGAIN, r.results[0].status);
  EXPECT_EQ(US_DNS_AGAIN, r.results[1].status);
  EXPECT_EQ(US_DNS_AGAIN, r.results[2].status);
  EXPECT_EQ(US_DNS_NONAME, r.results[3].status);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_SERVFAIL));
  EXPECT_EQ(3u, r.cnt(US_CNT_DNS_REFUSED));
}

TEST(DnsClient, CacheHonoursTtlOnTheVirtualClock) {
  Rig r;
  r.query("web.ustack.test");
  auto qs = r.take();
  r.answer(qs[0], Rig::a_reply(qs[0], 80, 30));
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(1u, us_dns_cache_count(r.c));
  r.advance(US_MS(10500));
  EXPECT_EQ(nullptr, r.query("WEB.ustack.test"));  // answered at once
  ASSERT_EQ(2u, r.results.size());
  EXPECT_EQ(1, r.results[1].from_cache);
  EXPECT_EQ(US_DNS_OK, r.results[1].status);
  EXPECT_EQ(20u, r.results[1].ttl);  // 19.5 s left, rounded up
  EXPECT_EQ(0u, r.results[1].elapsed);
  EXPECT_EQ("198.18.0.80", AddrStr(r.results[1].addrs[0]));
  EXPECT_TRUE(r.take().empty());
  r.advance(US_MS(19499));
  EXPECT_EQ(nullptr, r.query("web.ustack.test"));
  EXPECT_TRUE(r.take().empty());
  r.advance(US_MS(1));  // 30 s after the answer: expired
  EXPECT_NE(nullptr, r.query("web.ustack.test"));
  EXPECT_EQ(1u, r.take().size());
  EXPECT_EQ(2u, r.cnt(US_CNT_DNS_CACHE_HIT));
}

TEST(DnsClient, CacheIsBounded) {
  Rig r([](us_dns_config *c) { c->cache_entries = 2; });
  const char *names[] = {"a.test.", "b.test.", "c.test."};
  uint32_t ttls[] = {100, 50, 200};
  for (int i = 0; i < 3; i++) {
    r.query(names[i]);
    auto qs = r.take();
    ASSERT_EQ(1u, qs.size());
    r.answer(qs[0], Rig::a_reply(qs[0], uint8_t(i), ttls[i]));
  }
  EXPECT_EQ(2u, us_dns_cache_count(r.c));
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_CACHE_EVICT));
  // b (the first to expire) was evicted; a and c are still cached.
  EXPECT_EQ(nullptr, r.query("a.test."));
  EXPECT_EQ(nullptr, r.query("c.test."));
  EXPECT_NE(nullptr, r.query("b.test."));
}

TEST(DnsClient, ZeroTtlNotCachedAndTtlCapped) {
  Rig r([](us_dns_config *c) { c->max_ttl = 60; });
  r.query("zero.test.");
  auto qs = r.take();
  r.answer(qs[0], Rig::a_reply(qs[0], 1, 0));
  EXPECT_EQ(0u, us_dns_cache_count(r.c));
  r.query("long.test.");
  qs = r.take();
  r.answer(qs[0], Rig::a_reply(qs[0], 2, 999999));
  r.advance(US_SEC(60));
  EXPECT_NE(nullptr, r.query("long.test."));  // capped at 60 s: gone
}

void SearchCfg(us_dns_config *c) {
  static const char *s1 = "corp.test", *s2 = "ustack.test";
  c->search[0] = s1;
  c->search[1] = s2;
  c->nsearch = 2;
  c->ndots = 1;
  c->cache_entries = 0;
}

// Plays the server for every outstanding query: names in `exist` get an
// address, the rest NXDOMAIN. Returns the names asked, in order.
std::vector<std::string> Serve(Rig &r, const std::vector<std::string> &exist, int rounds = 10) {
  std::vector<std::string> asked;
  for (int i = 0; i < rounds; i++) {
    auto qs = r.take();
    if (qs.empty()) break;
    for (auto &q : qs) {
      asked.push_back(q.qname);
      bool found = false;
      for (auto &e : exist) found |= e == q.qname;
      if (found)
        r.answer(q, Rig::a_reply(q, 9));
      else
        r.nxdomain(q);
    }
  }
  return asked;
}

TEST(DnsClientSearch, ShortNameGoesThroughSearchListFirst) {
  Rig r(SearchCfg);
  r.query("web");
  auto asked = Serve(r, {"web.ustack.test"});
  std::vector<std::string> want = {"web.corp.test", "web.ustack.test"};
  EXPECT_EQ(want, asked);
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
  EXPECT_EQ("web.ustack.test", r.results[0].canon);
}

TEST(DnsClientSearch, EnoughDotsTriesAsIsFirst) {
  Rig r(SearchCfg);
  r.query("web.lab");
  auto asked = Serve(r, {"web.lab.ustack.test"});
  std::vector<std::string> want = {"web.lab", "web.lab.corp.test", "web.lab.ustack.test"};
  EXPECT_EQ(want, asked);
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
}

TEST(DnsClientSearch, NdotsTwoPutsAsIsLast) {
  Rig r([](us_dns_config *c) {
    SearchCfg(c);
    c->ndots = 2;
  });
  r.query("web.lab");
  auto asked = Serve(r, {});
  std::vector<std::string> want = {"web.lab.corp.test", "web.lab.ustack.test", "web.lab"};
  EXPECT_EQ(want, asked);
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_NONAME, r.results[0].status);
}

TEST(DnsClientSearch, TrailingDotIsAbsolute) {
  Rig r(SearchCfg);
  r.query("web.");
  auto asked = Serve(r, {});
  EXPECT_EQ(std::vector<std::string>{"web"}, asked);
  EXPECT_EQ(US_DNS_NONAME, r.results[0].status);
}

TEST(DnsClientSearch, NodataAnywhereMeansNodata) {
  Rig r(SearchCfg);
  r.query("web");
  auto q = r.take();
  r.answer(q[0], Rig::reply(q[0], 0));  // web.corp.test: exists, no A
  q = r.take();
  r.nxdomain(q[0]);                      // web.ustack.test
  q = r.take();
  r.nxdomain(q[0]);                      // web
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_NODATA, r.results[0].status);
}

TEST(DnsClientSearch, ServfailGoesOnTimeoutStops) {
  Rig r([](us_dns_config *c) {
    SearchCfg(c);
    c->attempts = 1;
  });
  r.query("web");
  auto q = r.take();
  r.answer(q[0], Rig::reply(q[0], 0, DNS_RCODE_SERVFAIL));  // corp: go on
  q = r.take();
  ASSERT_EQ(1u, q.size());
  EXPECT_EQ("web.ustack.test", q[0].qname);
  r.advance(US_SEC(1));  // no answer: the search stops
  EXPECT_TRUE(r.take().empty());
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_AGAIN, r.results[0].status);
}

TEST(DnsClientSearch, AsIsFirstFailureIsWhatIsReported) {
  // glibc: when the name was tried as-is first, its failure is the result.
  Rig r(SearchCfg);
  r.query("a.b");
  auto q = r.take();
  r.nxdomain(q[0]);                      // a.b: NXDOMAIN
  q = r.take();
  r.answer(q[0], Rig::reply(q[0], 0));  // a.b.corp.test: NODATA
  q = r.take();
  r.nxdomain(q[0]);
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_NONAME, r.results[0].status);
}

TEST(DnsClient, BadNamesFailAtOnce) {
  Rig r;
  EXPECT_EQ(nullptr, r.query("a..b"));
  EXPECT_EQ(nullptr, r.query(""));
  EXPECT_EQ(nullptr, r.query(std::string(300, 'a').c_str()));
  EXPECT_EQ(nullptr, r.query((std::string(64, 'a') + ".test").c_str()));
  EXPECT_EQ(nullptr, r.query("ok.test", 0));  // nothing wanted
  ASSERT_EQ(5u, r.results.size());
  for (auto &x : r.results) EXPECT_EQ(US_DNS_BADNAME, x.status);
  EXPECT_TRUE(r.take().empty());
}

TEST(DnsClient, NoServerIsAgain) {
  OneStack one;
  us_dns_config cfg;
  us_dns_config_defaults(&cfg);  // server 0 and the stack has no cfg.dns
  us_dns_client *c = us_dns_client_new(one.s, &cfg);
  int status = -1;
  EXPECT_EQ(nullptr, us_dns_query(c, "x.test", US_DNS_WANT_A,
                                  [](void *u, const us_dns_result *r) { *(int *)u = r->status; },
                                  &status));
  EXPECT_EQ(US_DNS_AGAIN, status);
  us_dns_client_free(c);
}

TEST(DnsClient, CancelMeansNoCallback) {
  Rig r;
  struct us_dns_query *q = r.query("web.ustack.test", US_DNS_WANT_BOTH);
  ASSERT_NE(nullptr, q);
  auto qs = r.take();
  us_dns_cancel(q);
  r.answer(qs[0], Rig::a_reply(qs[0], 1));  // arrives before the sockets are closed
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_LATE));
  r.advance(US_SEC(30));
  r.answer(qs[1], Rig::a_reply(qs[1], 1));  // after: the port is closed
  EXPECT_TRUE(r.results.empty());
  EXPECT_EQ(0u, r.cnt(US_CNT_DNS_ANSWER_OK));
}

DnsMsg TruncatedReply(const SentQuery &q) {
  DnsMsg m = Rig::reply(q, 3, 0, 0, DNS_F_TC);
  m.a("big.test", 60, 198, 18, 1, 1).a("big.test", 60, 198, 18, 1, 2);
  m.name("big.test").u16(1);  // cut inside the third record
  return m;
}

// TCP frames (SYNs) the stack sent to the server's port 53.
int TcpSynsToDns(Rig &r) {
  int n = 0;
  for (auto &f : r.one.cap.sent) {
    if (f.size() < 14 + 20 + 20 || get16(f.data() + 12) != 0x0800 || f[14 + 9] != 6) continue;
    size_t ihl = (f[14] & 15) * 4;
    const uint8_t *t = f.data() + 14 + ihl;
    if (get16(t + 2) == 53 && (t[13] & 0x02)) n++;
  }
  return n;
}

TEST(DnsClient, TruncatedAnswerAsksOverTcpThenFallsBack) {
  Rig r;
  r.query("big.test.");
  auto qs = r.take();
  r.answer(qs[0], TruncatedReply(qs[0]));
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_TRUNCATED));
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_TCP));
  EXPECT_EQ(1, TcpSynsToDns(r));
  EXPECT_TRUE(r.results.empty());
  // A second truncated copy does not start a second connection.
  r.answer(qs[0], TruncatedReply(qs[0]));
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_TCP));
  // Nobody answers the SYN: after one try's timeout, the UDP records serve.
  r.advance(US_MS(999));
  EXPECT_TRUE(r.results.empty());
  r.advance(US_MS(1));
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
  EXPECT_EQ(2u, r.results[0].addrs.size());
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_TCP_FAIL));
  EXPECT_EQ(0u, us_dns_cache_count(r.c));  // a partial answer is not cached
}

TEST(DnsClient, TruncatedAnswerUsedAsIsWithoutTcp) {
  Rig r([](us_dns_config *c) { c->no_tcp = 1; });
  r.query("big.test.");
  auto qs = r.take();
  r.answer(qs[0], TruncatedReply(qs[0]));
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
  EXPECT_EQ(2u, r.results[0].addrs.size());
  EXPECT_EQ(0, TcpSynsToDns(r));
  EXPECT_EQ(0u, us_dns_cache_count(r.c));
}

TEST(DnsClient, TcpRefusedFallsBackAtOnce) {
  Rig r;
  r.query("big.test.");
  auto qs = r.take();
  r.answer(qs[0], TruncatedReply(qs[0]));
  ASSERT_EQ(1, TcpSynsToDns(r));
  // RST for the SYN: find it and answer with RST+ACK.
  for (auto &f : r.one.cap.sent) {
    if (f.size() < 54 || get16(f.data() + 12) != 0x0800 || f[23] != 6) continue;
    const uint8_t *t = f.data() + 34;
    if (!(t[13] & 0x02)) continue;
    Bytes rst(20);
    put16(rst, 0, 53);
    put16(rst, 2, get16(t));
    put32(rst, 8, get32(t + 4) + 1);
    rst[12] = 5 << 4;
    rst[13] = 0x14;  // RST ACK
    uint16_t cs = csum(rst.data(), rst.size(), us_csum_pseudo(kIpPeer, kIpUs, 6, 20));
    put16(rst, 16, cs);
    r.one.input(eth(kMacA, kMacPeer, 0x0800, ipv4(kIpPeer, kIpUs, 6, rst)));
    break;
  }
  r.advance(0);
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
  EXPECT_EQ(2u, r.results[0].addrs.size());
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_TCP_FAIL));
}

// Freeing the client with work in every state: UDP tries outstanding, a
// TCP retry pending, sockets waiting to be reaped, cache entries. Under
// ASan this is the leak and use-after-free check of the teardown.
TEST(DnsClient, FreeWithEverythingPending) {
  auto *r = new Rig;
  r->query("web.ustack.test", US_DNS_WANT_BOTH);
  r->query("big.test.");
  r->query("done.test.");
  auto qs = r->take();
  ASSERT_EQ(4u, qs.size());
  r->answer(qs[2], TruncatedReply(qs[2]));  // TCP now pending
  r->answer(qs[3], Rig::a_reply(qs[3], 3));  // finished: its socket awaits the reaper
  EXPECT_EQ(1u, r->cnt(US_CNT_DNS_TCP));
  EXPECT_EQ(1u, us_dns_cache_count(r->c));
  EXPECT_EQ(1u, r->results.size());
  delete r;  // no callbacks for the rest, nothing left behind
}

DnsMsg PtrReply(const SentQuery &q, const std::string &owner, const std::string &target,
               unsigned an = 1) {
  DnsMsg m = Rig::reply(q, an);
  m.name(owner).rr_tail(DNS_TYPE_PTR, 3600, unsigned(target.size() + 2)).name(target);
  return m;
}

TEST(DnsClientReverse, Ipv4PtrLookup) {
  Rig r;
  const uint8_t addr[4] = {198, 18, 0, 80};
  ASSERT_NE(nullptr, us_dns_reverse(r.c, 4, addr, Rig::on_result, &r));
  auto qs = r.take();
  ASSERT_EQ(1u, qs.size());
  EXPECT_EQ("80.0.18.198.in-addr.arpa", qs[0].qname);
  EXPECT_EQ(DNS_TYPE_PTR, qs[0].qtype);
  r.answer(qs[0], PtrReply(qs[0], qs[0].qname, "web.ustack.test"));
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[0].status);
  EXPECT_EQ("web.ustack.test", r.results[0].canon);
  EXPECT_TRUE(r.results[0].addrs.empty());
  // Cached like any answer.
  EXPECT_EQ(nullptr, us_dns_reverse(r.c, 4, addr, Rig::on_result, &r));
  ASSERT_EQ(2u, r.results.size());
  EXPECT_EQ("web.ustack.test", r.results[1].canon);
  EXPECT_EQ(1, r.results[1].from_cache);
}

TEST(DnsClientReverse, Ipv6NibblesAndClasslessCname) {
  Rig r([](us_dns_config *c) {
    static const char *s1 = "corp.test";
    c->search[0] = s1;  // never applied to reverse names
    c->nsearch = 1;
  });
  uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};
  a6[15] = 0x1f;
  us_dns_reverse(r.c, 6, a6, Rig::on_result, &r);
  auto qs = r.take();
  ASSERT_EQ(1u, qs.size());
  EXPECT_EQ("f.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
            qs[0].qname);
  r.nxdomain(qs[0]);
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_NONAME, r.results[0].status);
  EXPECT_TRUE(r.take().empty());

  // RFC 2317: the PTR lives under a CNAME in a delegated zone.
  const uint8_t addr[4] = {198, 18, 0, 70};
  us_dns_reverse(r.c, 4, addr, Rig::on_result, &r);
  qs = r.take();
  DnsMsg m = Rig::reply(qs[0], 2);
  m.cname(qs[0].qname, 600, "70.64-127.0.18.198.in-addr.arpa");
  m.name("70.64-127.0.18.198.in-addr.arpa").rr_tail(DNS_TYPE_PTR, 60, 10).name("h70.test");
  r.answer(qs[0], m);
  ASSERT_EQ(2u, r.results.size());
  EXPECT_EQ(US_DNS_OK, r.results[1].status);
  EXPECT_EQ("h70.test", r.results[1].canon);
  EXPECT_EQ(60u, r.results[1].ttl);
}

TEST(DnsClientReverse, HostileOrEmptyPtr) {
  Rig r;
  const uint8_t addr[4] = {198, 18, 0, 81};
  us_dns_reverse(r.c, 4, addr, Rig::on_result, &r);
  auto qs = r.take();
  // A PTR target with a space has no text form: dropped, the query waits.
  DnsMsg bad = Rig::reply(qs[0], 1);
  bad.name(qs[0].qname).rr_tail(DNS_TYPE_PTR, 60, 5).u8(3).raw("a b", 3).u8(0);
  r.answer(qs[0], bad);
  EXPECT_EQ(1u, r.cnt(US_CNT_DNS_BAD_NAME_TEXT));
  EXPECT_TRUE(r.results.empty());
  r.answer(qs[0], Rig::reply(qs[0], 0));  // NOERROR, no PTR
  ASSERT_EQ(1u, r.results.size());
  EXPECT_EQ(US_DNS_NODATA, r.results[0].status);
  EXPECT_EQ(nullptr, us_dns_reverse(r.c, 5, addr, Rig::on_result, &r));
  EXPECT_EQ(US_DNS_BADNAME, r.results[1].status);
}

// The callback may start a new query and cancel its own (ignored).
struct Chain {
  Rig *r;
  struct us_dns_query *self = nullptr;
  int calls = 0;
};
TEST(DnsClient, CallbackMayQueryAgain) {
  Rig r;
  Chain ch{&r};
  ch.self = us_dns_query(
      r.c, "first.test.", US_DNS_WANT_A,
      [](void *u, const us_dns_result *res) {
        auto *c = static_cast<Chain *>(u);
        c->calls++;
        us_dns_cancel(c->self);  // harmless
        EXPECT_EQ(US_DNS_OK, res->status);
        c->r->query("second.test.");
      },
      &ch);
  auto qs = r.take();
  r.answer(qs[0], Rig::a_reply(qs[0], 1));
  EXPECT_EQ(1, ch.calls);
  qs = r.take();
  ASSERT_EQ(1u, qs.size());
  EXPECT_EQ("second.test", qs[0].qname);
}

}  // namespace
