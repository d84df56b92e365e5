// DNS wire format: names (compression, loops, bounds, limits), questions,
// records, whole-message validation, text conversion, building, and the
// answer-section reader (CNAME chains).
#include <gtest/gtest.h>

#include <memory>
#include <string>

extern "C" {
#include "stack/dns_client.h"
#include "stack/dns_wire.h"
}

#include "test_dns_msg.h"

namespace {

// The message in a heap block of exactly its size, so that ASan catches any
// read past len.
struct Exact {
  std::unique_ptr<uint8_t[]> p;
  size_t n;
  explicit Exact(const DnsMsg &m) : p(new uint8_t[m.size() ? m.size() : 1]), n(m.size()) {
    if (n) memcpy(p.get(), m.data(), n);
  }
  Exact(const DnsMsg &m, size_t cut) : p(new uint8_t[cut ? cut : 1]), n(cut) {
    if (n) memcpy(p.get(), m.data(), n);
  }
};

// Read the name at off; returns the error and the dotted text on success.
int ReadName(const DnsMsg &m, size_t off, std::string *text = nullptr, size_t *next = nullptr) {
  Exact e(m);
  uint8_t out[DNS_NAME_MAX];
  size_t out_len = 0, pos = off;
  int err = dns_read_name(e.p.get(), e.n, &pos, out, &out_len);
  if (err) return err;
  char buf[DNS_TEXT_MAX];
  EXPECT_EQ(DNS_OK, dns_name_to_text(out, out_len, buf, sizeof buf));
  if (text) *text = buf;
  if (next) *next = pos;
  return DNS_OK;
}

DnsMsg Hdr() { return DnsMsg().header(0x1234, DNS_F_QR | DNS_F_RD | DNS_F_RA, 1, 0); }

TEST(DnsWire, HeaderNeedsTwelveBytes) {
  DnsMsg m = Hdr();
  dns_header h;
  Exact e(m, 11);
  EXPECT_EQ(DNS_E_SHORT, dns_read_header(e.p.get(), e.n, &h));
  Exact f(m);
  ASSERT_EQ(DNS_OK, dns_read_header(f.p.get(), f.n, &h));
  EXPECT_EQ(0x1234, h.id);
  EXPECT_EQ(1, h.qdcount);
  EXPECT_TRUE(h.flags & DNS_F_QR);
}

TEST(DnsWire, PlainAndCompressedNames) {
  DnsMsg m = Hdr();
  m.name("www.Example.com");  // at 12
  size_t second = m.size();
  m.labels("mail", false).ptr(16);  // "mail" + -> "Example.com"
  size_t third = m.size();
  m.ptr(second);  // pointer to a pointer
  std::string t;
  size_t next;
  ASSERT_EQ(DNS_OK, ReadName(m, 12, &t, &next));
  EXPECT_EQ("www.Example.com", t);
  EXPECT_EQ(second, next);
  ASSERT_EQ(DNS_OK, ReadName(m, second, &t, &next));
  EXPECT_EQ("mail.Example.com", t);
  EXPECT_EQ(third, next);  // past the first pointer only
  ASSERT_EQ(DNS_OK, ReadName(m, third, &t, &next));
  EXPECT_EQ("mail.Example.com", t);
  EXPECT_EQ(third + 2, next);
}

TEST(DnsWire, PointerToItselfIsALoop) {
  DnsMsg m = Hdr();
  m.ptr(12);
  EXPECT_EQ(DNS_E_PTR_LOOP, ReadName(m, 12));
}

TEST(DnsWire, PointerBackIntoItsOwnLabelsIsALoop) {
  DnsMsg m = Hdr();
  m.labels("a", false).ptr(12);  // "a" then back to "a": endless a.a.a...
  EXPECT_EQ(DNS_E_PTR_LOOP, ReadName(m, 12));
}

TEST(DnsWire, TwoPointersAtEachOtherAreALoop) {
  DnsMsg m = Hdr();
  m.ptr(14).ptr(12);  // 12 -> 14 (forward), 14 -> 12
  EXPECT_EQ(DNS_E_PTR_LOOP, ReadName(m, 12));
  EXPECT_EQ(DNS_E_PTR_LOOP, ReadName(m, 14));  // backward to 12, then forward to 14
}

TEST(DnsWire, ForwardPointerRejected) {
  DnsMsg m = Hdr();
  m.ptr(14).name("later.example");
  EXPECT_EQ(DNS_E_PTR_LOOP, ReadName(m, 12));
}

TEST(DnsWire, LongBackwardChainOfPointersEnds) {
  // Each pointer points at the one before: legal, and must end quickly.
  DnsMsg m = Hdr();
  m.name("x");
  for (int i = 0; i < 500; i++) {
    size_t prev = m.size() == 15 ? 12 : m.size() - 2;
    m.ptr(unsigned(prev));
  }
  std::string t;
  ASSERT_EQ(DNS_OK, ReadName(m, m.size() - 2, &t));
  EXPECT_EQ("x", t);
}

TEST(DnsWire, PointerOutOfRange) {
  DnsMsg m = Hdr();
  m.name("a").ptr(0x3fff);
  EXPECT_EQ(DNS_E_PTR_RANGE, ReadName(m, 15));
  DnsMsg h = Hdr();
  h.name("a").ptr(4);  // into the header
  EXPECT_EQ(DNS_E_PTR_RANGE, ReadName(h, 15));
  DnsMsg cut = Hdr();
  cut.name("a").u8(0xc0);  // half a pointer at the end
  EXPECT_EQ(DNS_E_SHORT, ReadName(cut, 15));
}

TEST(DnsWire, LabelPastThePacket) {
  DnsMsg m = Hdr();
  m.u8(10).raw("abc", 3);
  EXPECT_EQ(DNS_E_SHORT, ReadName(m, 12));
  DnsMsg noroot = Hdr();
  noroot.labels("abc", false);
  EXPECT_EQ(DNS_E_SHORT, ReadName(noroot, 12));
  EXPECT_EQ(DNS_E_SHORT, ReadName(Hdr(), 12));  // nothing at all
}

TEST(DnsWire, LabelTypesAbove63Rejected) {
  DnsMsg m = Hdr();
  m.u8(0x40).raw(std::string(64, 'a').data(), 64).u8(0);
  EXPECT_EQ(DNS_E_LABEL, ReadName(m, 12));
  DnsMsg n = Hdr();
  n.u8(0x80).u8(0);
  EXPECT_EQ(DNS_E_LABEL, ReadName(n, 12));
}

TEST(DnsWire, NameLengthLimit) {
  std::string l63(63, 'a'), l61(61, 'b'), l62(62, 'c');
  // 3 * 64 + 62 + 1 = 255: the longest legal name.
  DnsMsg ok = Hdr();
  ok.name(l63 + "." + l63 + "." + l63 + "." + l61);
  std::string t;
  ASSERT_EQ(DNS_OK, ReadName(ok, 12, &t));
  EXPECT_EQ(253u, t.size());
  DnsMsg bad = Hdr();
  bad.name(l63 + "." + l63 + "." + l63 + "." + l62);  // 256
  EXPECT_EQ(DNS_E_NAME_LONG, ReadName(bad, 12));
  // Too long only once pieces are joined through a pointer.
  DnsMsg joined = Hdr();
  joined.name(l63 + "." + l63 + "." + l63);  // 193 bytes at 12
  joined.labels(l63, false).ptr(12);         // 64 + 193 = 257
  EXPECT_EQ(DNS_E_NAME_LONG, ReadName(joined, 12 + 193));
}

TEST(DnsWire, QuestionAndRecordBounds) {
  DnsMsg m = Hdr();
  m.question("a.example", DNS_TYPE_A);
  m.a("a.example", 60, 198, 18, 0, 1);
  Exact e(m);
  size_t off = DNS_HDR_LEN;
  dns_question q;
  ASSERT_EQ(DNS_OK, dns_read_question(e.p.get(), e.n, &off, &q));
  EXPECT_EQ(DNS_TYPE_A, q.type);
  EXPECT_EQ(DNS_CLASS_IN, q.qclass);
  dns_rr rr;
  ASSERT_EQ(DNS_OK, dns_read_rr(e.p.get(), e.n, &off, &rr));
  EXPECT_EQ(60u, rr.ttl);
  EXPECT_EQ(4, rr.rdlen);
  EXPECT_EQ(e.n, off);
  // Every cut of this message fails cleanly somewhere.
  for (size_t cut = 0; cut < m.size(); cut++) {
    Exact c(m, cut);
    size_t o = DNS_HDR_LEN;
    dns_header h;
    int err = dns_read_header(c.p.get(), c.n, &h);
    if (!err) err = dns_read_question(c.p.get(), c.n, &o, &q);
    if (!err) err = dns_read_rr(c.p.get(), c.n, &o, &rr);
    EXPECT_EQ(DNS_E_SHORT, err) << "cut at " << cut;
  }
}

TEST(DnsWire, RdlenPastThePacket) {
  DnsMsg m = Hdr();
  m.name("a").rr_tail(DNS_TYPE_A, 1, 40).u32(0);
  Exact e(m);
  size_t off = DNS_HDR_LEN;
  dns_rr rr;
  EXPECT_EQ(DNS_E_SHORT, dns_read_rr(e.p.get(), e.n, &off, &rr));
}

TEST(DnsWire, TtlWithTopBitIsZero) {
  DnsMsg m = Hdr();
  m.a("a", 0x80000001u, 1, 2, 3, 4);
  Exact e(m);
  size_t off = DNS_HDR_LEN;
  dns_rr rr;
  ASSERT_EQ(DNS_OK, dns_read_rr(e.p.get(), e.n, &off, &rr));
  EXPECT_EQ(0u, rr.ttl);
}

TEST(DnsWire, ValidateChecksRdataByType) {
  DnsMsg bad_a = DnsMsg().header(1, DNS_F_QR, 0, 1);
  bad_a.name("a").rr_tail(DNS_TYPE_A, 1, 5).u32(0).u8(0);
  Exact e(bad_a);
  EXPECT_EQ(DNS_E_RDATA, dns_validate(e.p.get(), e.n));

  DnsMsg bad_aaaa = DnsMsg().header(1, DNS_F_QR, 0, 1);
  bad_aaaa.name("a").rr_tail(DNS_TYPE_AAAA, 1, 4).u32(0);
  Exact f(bad_aaaa);
  EXPECT_EQ(DNS_E_RDATA, dns_validate(f.p.get(), f.n));

  // CNAME whose target name ends before its rdata does.
  DnsMsg short_cname = DnsMsg().header(1, DNS_F_QR, 0, 1);
  short_cname.name("a").rr_tail(DNS_TYPE_CNAME, 1, 5).name("b").u16(0);
  Exact g(short_cname);
  EXPECT_EQ(DNS_E_RDATA, dns_validate(g.p.get(), g.n));

  // CNAME whose target runs past its rdata into the next bytes.
  DnsMsg long_cname = DnsMsg().header(1, DNS_F_QR, 0, 1);
  long_cname.name("a").rr_tail(DNS_TYPE_CNAME, 1, 2).name("bcd");
  Exact h(long_cname);
  EXPECT_EQ(DNS_E_RDATA, dns_validate(h.p.get(), h.n));

  // A count larger than the records present.
  DnsMsg counts = DnsMsg().header(1, DNS_F_QR, 1, 2);
  counts.question("a", DNS_TYPE_A).a("a", 1, 1, 2, 3, 4);
  Exact i(counts);
  EXPECT_EQ(DNS_E_SHORT, dns_validate(i.p.get(), i.n));

  DnsMsg good = DnsMsg().header(1, DNS_F_QR, 1, 2, 1);
  good.question("a", DNS_TYPE_A).cname("a", 5, "b").a("b", 1, 1, 2, 3, 4).soa("zone", 9, 3);
  Exact j(good);
  EXPECT_EQ(DNS_OK, dns_validate(j.p.get(), j.n));
}

TEST(DnsWire, SoaNegativeTtlIsTheSmallerOfTtlAndMinimum) {
  DnsMsg m = Hdr();
  m.soa("example", 300, 60);
  m.soa("example", 30, 60);
  Exact e(m);
  size_t off = DNS_HDR_LEN;
  dns_rr rr;
  uint32_t ttl = 0;
  ASSERT_EQ(DNS_OK, dns_read_rr(e.p.get(), e.n, &off, &rr));
  ASSERT_EQ(DNS_OK, dns_rr_soa_ttl(e.p.get(), e.n, &rr, &ttl));
  EXPECT_EQ(60u, ttl);
  ASSERT_EQ(DNS_OK, dns_read_rr(e.p.get(), e.n, &off, &rr));
  ASSERT_EQ(DNS_OK, dns_rr_soa_ttl(e.p.get(), e.n, &rr, &ttl));
  EXPECT_EQ(30u, ttl);
}

TEST(DnsWire, TextToWireAndBack) {
  uint8_t w[DNS_NAME_MAX];
  size_t n;
  char t[DNS_TEXT_MAX];
  ASSERT_EQ(DNS_OK, dns_name_from_text("web.ustack.test", w, &n));
  EXPECT_EQ(17u, n);
  EXPECT_EQ(3, dns_name_labels(w, n));
  ASSERT_EQ(DNS_OK, dns_name_to_text(w, n, t, sizeof t));
  EXPECT_STREQ("web.ustack.test", t);
  size_t n2;
  uint8_t w2[DNS_NAME_MAX];
  ASSERT_EQ(DNS_OK, dns_name_from_text("WEB.ustack.test.", w2, &n2));
  EXPECT_TRUE(dns_name_eq(w, n, w2, n2));  // trailing dot, case
  ASSERT_EQ(DNS_OK, dns_name_from_text(".", w, &n));
  EXPECT_EQ(1u, n);
  ASSERT_EQ(DNS_OK, dns_name_to_text(w, n, t, sizeof t));
  EXPECT_STREQ(".", t);

  EXPECT_EQ(DNS_E_TEXT, dns_name_from_text("", w, &n));
  EXPECT_EQ(DNS_E_TEXT, dns_name_from_text("a..b", w, &n));
  EXPECT_EQ(DNS_E_TEXT, dns_name_from_text(".a", w, &n));
  EXPECT_EQ(DNS_E_TEXT, dns_name_from_text("a b", w, &n));
  EXPECT_EQ(DNS_E_TEXT, dns_name_from_text("a\\.b", w, &n));
  EXPECT_EQ(DNS_E_TEXT, dns_name_from_text("a\x01", w, &n));
  EXPECT_EQ(DNS_E_LABEL, dns_name_from_text(std::string(64, 'a').c_str(), w, &n));
  std::string l63(63, 'a');
  std::string ok = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');
  EXPECT_EQ(DNS_OK, dns_name_from_text(ok.c_str(), w, &n));
  EXPECT_EQ(255u, n);
  EXPECT_EQ(DNS_E_NAME_LONG, dns_name_from_text((ok + "b").c_str(), w, &n));
}

TEST(DnsWire, WireNamesWithUnsafeBytesHaveNoText) {
  char t[DNS_TEXT_MAX];
  const uint8_t dot[] = {3, 'a', '.', 'b', 0};
  EXPECT_EQ(DNS_E_TEXT, dns_name_to_text(dot, sizeof dot, t, sizeof t));
  const uint8_t nul[] = {2, 'a', 0, 0};
  EXPECT_EQ(DNS_E_TEXT, dns_name_to_text(nul, sizeof nul, t, sizeof t));
  const uint8_t high[] = {1, 0xe9, 0};
  EXPECT_EQ(DNS_E_TEXT, dns_name_to_text(high, sizeof high, t, sizeof t));
  const uint8_t noroot[] = {1, 'a'};
  EXPECT_EQ(DNS_E_SHORT, dns_name_to_text(noroot, sizeof noroot, t, sizeof t));
  const uint8_t ok[] = {1, 'a', 0};
  char tiny[2];
  EXPECT_EQ(DNS_E_SPACE, dns_name_to_text(ok, sizeof ok, tiny, sizeof tiny));
}

TEST(DnsWire, BuildQueryRoundTrip) {
  uint8_t w[DNS_NAME_MAX], buf[DNS_UDP_MAX];
  size_t n;
  ASSERT_EQ(DNS_OK, dns_name_from_text("web.ustack.test", w, &n));
  int len = dns_build_query(buf, sizeof buf, 0xbeef, w, n, DNS_TYPE_AAAA);
  ASSERT_EQ(int(DNS_HDR_LEN + n + 4), len);
  dns_header h;
  ASSERT_EQ(DNS_OK, dns_read_header(buf, size_t(len), &h));
  EXPECT_EQ(0xbeef, h.id);
  EXPECT_EQ(DNS_F_RD, h.flags);
  EXPECT_EQ(1, h.qdcount);
  EXPECT_EQ(0, h.ancount);
  size_t off = DNS_HDR_LEN;
  dns_question q;
  ASSERT_EQ(DNS_OK, dns_read_question(buf, size_t(len), &off, &q));
  EXPECT_TRUE(dns_name_eq(q.name, q.name_len, w, n));
  EXPECT_EQ(DNS_TYPE_AAAA, q.type);
  EXPECT_EQ(DNS_E_SPACE, dns_build_query(buf, 20, 1, w, n, DNS_TYPE_A));
}

// --- The answer section reader --------------------------------------------

struct Extract {
  dns_extract ex;
  int err;
  Extract(const DnsMsg &m, const char *qname, uint16_t qtype, int lenient = 0) {
    uint8_t w[DNS_NAME_MAX];
    size_t n;
    EXPECT_EQ(DNS_OK, dns_name_from_text(qname, w, &n));
    Exact e(m);
    dns_header h;
    EXPECT_EQ(DNS_OK, dns_read_header(e.p.get(), e.n, &h));
    size_t off = DNS_HDR_LEN;
    dns_question q;
    EXPECT_EQ(DNS_OK, dns_read_question(e.p.get(), e.n, &off, &q));
    err = dns_extract_answer(e.p.get(), e.n, off, &h, w, n, qtype, lenient, &ex);
  }
  std::string canon() const {
    char t[DNS_TEXT_MAX];
    EXPECT_EQ(DNS_OK, dns_name_to_text(ex.canon, ex.canon_len, t, sizeof t));
    return t;
  }
};

TEST(DnsAnswer, FollowsCnameChainInAnyOrder) {
  DnsMsg m = DnsMsg().header(1, DNS_F_QR, 1, 4);
  m.question("www.ustack.test", DNS_TYPE_A);
  m.a("web.ustack.test", 30, 198, 18, 0, 1);          // end of chain first
  m.cname("alias.ustack.test", 100, "web.ustack.test");
  m.a("other.test", 5, 9, 9, 9, 9);                   // not on the chain
  m.cname("WWW.ustack.test", 50, "alias.ustack.test");
  Extract x(m, "www.ustack.test", DNS_TYPE_A);
  ASSERT_EQ(DNS_OK, x.err);
  ASSERT_EQ(1, x.ex.naddrs);
  EXPECT_EQ(4, x.ex.addrs[0].family);
  EXPECT_EQ(198, x.ex.addrs[0].addr[0]);
  EXPECT_EQ(1, x.ex.addrs[0].addr[3]);
  EXPECT_EQ("web.ustack.test", x.canon());
  EXPECT_EQ(30u, x.ex.ttl);  // the smallest along the chain
}

TEST(DnsAnswer, RecordsForAnotherNameGiveNoData) {
  DnsMsg m = DnsMsg().header(1, DNS_F_QR, 1, 1, 1);
  m.question("a.test", DNS_TYPE_A).a("b.test", 30, 1, 2, 3, 4).soa("test", 600, 120);
  Extract x(m, "a.test", DNS_TYPE_A);
  ASSERT_EQ(DNS_OK, x.err);
  EXPECT_EQ(0, x.ex.naddrs);
  EXPECT_TRUE(x.ex.neg_ttl_set);
  EXPECT_EQ(120u, x.ex.neg_ttl);
}

TEST(DnsAnswer, CnameLoopIsBounded) {
  DnsMsg m = DnsMsg().header(1, DNS_F_QR, 1, 2);
  m.question("a.test", DNS_TYPE_A).cname("a.test", 1, "b.test").cname("b.test", 1, "a.test");
  Extract x(m, "a.test", DNS_TYPE_A);
  EXPECT_EQ(DNS_E_CNAME_LOOP, x.err);
}

TEST(DnsAnswer, WrongAddressLengthRejected) {
  DnsMsg m = DnsMsg().header(1, DNS_F_QR, 1, 1);
  m.question("a.test", DNS_TYPE_AAAA).name("a.test").rr_tail(DNS_TYPE_AAAA, 1, 4).u32(0);
  Extract x(m, "a.test", DNS_TYPE_AAAA);
  EXPECT_EQ(DNS_E_RDATA, x.err);
}

TEST(DnsAnswer, TruncatedAnswerUsesCompleteRecordsOnlyWhenLenient) {
  DnsMsg m = DnsMsg().header(1, DNS_F_QR | DNS_F_TC, 1, 3);
  m.question("a.test", DNS_TYPE_A).a("a.test", 10, 1, 1, 1, 1).a("a.test", 10, 2, 2, 2, 2);
  m.name("a.test").u16(1);  // third record cut off
  Extract strict(m, "a.test", DNS_TYPE_A, 0);
  EXPECT_EQ(DNS_E_SHORT, strict.err);
  Extract lenient(m, "a.test", DNS_TYPE_A, 1);
  ASSERT_EQ(DNS_OK, lenient.err);
  EXPECT_EQ(2, lenient.ex.naddrs);
}

TEST(DnsAnswer, CanonicalNameMustBeText) {
  DnsMsg m = DnsMsg().header(1, DNS_F_QR, 1, 2);
  m.question("a.test", DNS_TYPE_A);
  m.name("a.test").rr_tail(DNS_TYPE_CNAME, 1, 5).u8(3).raw("b c", 3).u8(0);
  m.u8(3).raw("b c", 3).u8(0).rr_tail(DNS_TYPE_A, 1, 4).u32(0x01020304);
  Extract x(m, "a.test", DNS_TYPE_A);
  EXPECT_EQ(DNS_E_TEXT, x.err);
}

TEST(DnsAnswer, CapsAddressCount) {
  DnsMsg m = DnsMsg().header(1, DNS_F_QR, 1, 40);
  m.question("many.test", DNS_TYPE_A);
  for (int i = 0; i < 40; i++) m.ptr(12).rr_tail(DNS_TYPE_A, 60, 4).u32(0x0a000000u + unsigned(i));
  Extract x(m, "many.test", DNS_TYPE_A);
  ASSERT_EQ(DNS_OK, x.err);
  EXPECT_EQ(US_DNS_MAX_ADDRS, x.ex.naddrs);
}

}  // namespace
