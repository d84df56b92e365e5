// Hand-made DNS messages for the DNS tests: byte-level control, so tests can
// write the hostile things a real encoder never would (loops, bad pointers,
// lengths past the end).
#ifndef USTACK_TEST_DNS_MSG_H
#define USTACK_TEST_DNS_MSG_H

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

struct DnsMsg {
  std::vector<uint8_t> b;

  DnsMsg &u8(unsigned v) { b.push_back(uint8_t(v)); return *this; }
  DnsMsg &u16(unsigned v) { u8(v >> 8); return u8(v); }
  DnsMsg &u32(uint32_t v) { u16(v >> 16); return u16(v & 0xffff); }
  DnsMsg &raw(const void *p, size_t n) {
    const uint8_t *c = static_cast<const uint8_t *>(p);
    b.insert(b.end(), c, c + n);
    return *this;
  }
  DnsMsg &header(unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns = 0,
                 unsigned ar = 0) {
    return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
  // Labels of a dotted name; `end` = true adds the root label.
  DnsMsg &labels(const std::string &dotted, bool end = true) {
    size_t i = 0;
    while (i < dotted.size()) {
      size_t j = dotted.find('.', i);
      if (j == std::string::npos) j = dotted.size();
      u8(unsigned(j - i));
      raw(dotted.data() + i, j - i);
      i = j + 1;
    }
    if (end) u8(0);
    return *this;
  }
  DnsMsg &name(const std::string &dotted) { return labels(dotted, true); }
  DnsMsg &ptr(unsigned off) { return u8(0xc0 | (off >> 8)).u8(off & 0xff); }
  DnsMsg &question(const std::string &n, unsigned type, unsigned cls = 1) {
    return name(n).u16(type).u16(cls);
  }
  // Record header with the name already written by the caller.
  DnsMsg &rr_tail(unsigned type, uint32_t ttl, unsigned rdlen, unsigned cls = 1) {
    return u16(type).u16(cls).u32(ttl).u16(rdlen);
  }
  DnsMsg &a(const std::string &owner, uint32_t ttl, uint8_t a0, uint8_t a1, uint8_t a2,
            uint8_t a3) {
    name(owner).rr_tail(1, ttl, 4);
    return u8(a0).u8(a1).u8(a2).u8(a3);
  }
  DnsMsg &aaaa(const std::string &owner, uint32_t ttl, uint8_t last) {
    name(owner).rr_tail(28, ttl, 16);
    u16(0x2001).u16(0xdb8);
    for (int i = 0; i < 11; i++) u8(0);
    return u8(last);
  }
  DnsMsg &cname(const std::string &owner, uint32_t ttl, const std::string &target) {
    name(owner).rr_tail(5, ttl, unsigned(target.size() + 2));
    return name(target);
  }
  // SOA with MINIMUM = minimum, owner `zone`.
  DnsMsg &soa(const std::string &zone, uint32_t ttl, uint32_t minimum) {
    DnsMsg rd;
    rd.name("ns." + zone).name("admin." + zone).u32(1).u32(3600).u32(600).u32(86400).u32(minimum);
    name(zone).rr_tail(6, ttl, unsigned(rd.b.size()));
    return raw(rd.b.data(), rd.b.size());
  }
  size_t size() const { return b.size(); }
  const uint8_t *data() const { return b.data(); }
};

#endif
