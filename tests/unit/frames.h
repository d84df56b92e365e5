// Crafting frames for unit tests, and a single stack on a capture device.
#ifndef USTACK_TESTS_FRAMES_H
#define USTACK_TESTS_FRAMES_H

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "netdev/netdev.h"
#include "stack/ipv4.h"
#include "stack/us_stack.h"
}

namespace ustest {

using Bytes = std::vector<uint8_t>;

inline const uint8_t kMacA[6] = {2, 0, 0, 0, 0, 0x0a};     // the stack under test
inline const uint8_t kMacPeer[6] = {2, 0, 0, 0, 0, 0x01};  // its neighbour
inline const uint8_t kMacOther[6] = {2, 0, 0, 0, 0, 0x77}; // a third host
inline const uint8_t kBcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr uint32_t kIpUs = 0xC612000A;    // 198.18.0.10
constexpr uint32_t kIpPeer = 0xC6120001;  // 198.18.0.1 (also the gateway)
constexpr uint32_t kIpOther = 0xC6120005; // 198.18.0.5
constexpr uint32_t kIpFar = 0xC6130002;   // 198.19.0.2, off-link

inline void put16(Bytes &b, size_t at, uint16_t v) {
  b[at] = (uint8_t)(v >> 8);
  b[at + 1] = (uint8_t)v;
}
inline void put32(Bytes &b, size_t at, uint32_t v) {
  put16(b, at, (uint16_t)(v >> 16));
  put16(b, at + 2, (uint16_t)v);
}
inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

inline uint16_t csum(const uint8_t *p, size_t n, uint32_t seed = 0) {
  return us_csum_fold(us_csum_add(seed, p, n));
}

inline Bytes eth(const uint8_t *dst, const uint8_t *src, uint16_t type, const Bytes &payload) {
  Bytes f(14);
  memcpy(f.data(), dst, 6);
  memcpy(f.data() + 6, src, 6);
  put16(f, 12, type);
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

inline Bytes arp(uint16_t op, const uint8_t *sha, uint32_t spa, const uint8_t *tha, uint32_t tpa) {
  Bytes a(28);
  put16(a, 0, 1);
  put16(a, 2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  put16(a, 6, op);
  memcpy(a.data() + 8, sha, 6);
  put32(a, 14, spa);
  memcpy(a.data() + 18, tha, 6);
  put32(a, 24, tpa);
  return a;
}

struct IpOpts {
  uint16_t id = 1;
  uint16_t frag = 0;  // flags + offset/8 as on the wire
  uint8_t ttl = 64;
  Bytes options;      // raw, padded by the caller to a multiple of 4
};

inline Bytes ipv4(uint32_t src, uint32_t dst, uint8_t proto, const Bytes &payload,
                  const IpOpts &o = IpOpts()) {
  size_t hl = 20 + o.options.size();
  Bytes p(hl);
  p[0] = (uint8_t)(0x40 | (hl / 4));
  put16(p, 2, (uint16_t)(hl + payload.size()));
  put16(p, 4, o.id);
  put16(p, 6, o.frag);
  p[8] = o.ttl;
  p[9] = proto;
  put32(p, 12, src);
  put32(p, 16, dst);
  if (!o.options.empty()) memcpy(p.data() + 20, o.options.data(), o.options.size());
  put16(p, 10, csum(p.data(), hl));
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

inline Bytes udp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, const Bytes &data,
                 bool with_csum = true) {
  Bytes u(8);
  put16(u, 0, sport);
  put16(u, 2, dport);
  put16(u, 4, (uint16_t)(8 + data.size()));
  u.insert(u.end(), data.begin(), data.end());
  if (with_csum) {
    uint16_t c = csum(u.data(), u.size(), us_csum_pseudo(src, dst, 17, (uint32_t)u.size()));
    put16(u, 6, c ? c : 0xffff);
  }
  return u;
}

inline Bytes icmp(uint8_t type, uint8_t code, uint32_t rest, const Bytes &data) {
  Bytes m(8);
  m[0] = type;
  m[1] = code;
  put32(m, 4, rest);
  m.insert(m.end(), data.begin(), data.end());
  put16(m, 2, csum(m.data(), m.size()));
  return m;
}

inline Bytes str(const char *s) { return Bytes(s, s + strlen(s)); }

// A device that records what the stack sends.
struct CaptureDev {
  us_netdev dev;
  std::vector<Bytes> sent;
  std::vector<us_frame_meta> metas;

  explicit CaptureDev(uint16_t mtu = 1500, uint32_t features = 0) {
    static const us_netdev_ops ops = {
        [](us_netdev *d, const uint8_t *f, size_t n, const us_frame_meta *m) {
          auto *c = reinterpret_cast<CaptureDev *>(d);
          c->sent.emplace_back(f, f + n);
          c->metas.push_back(m ? *m : us_frame_meta{});
          return 0;
        },
        nullptr,
        [](us_netdev *, us_netdev_rx_cb, void *, int) { return 0; },
        nullptr,
        nullptr,
    };
    dev.ops = &ops;
    memcpy(dev.mac, kMacA, 6);
    dev.mtu = mtu;
    dev.features = features;
  }
  uint16_t ethertype(size_t i) const { return get16(sent[i].data() + 12); }
  // IP payload protocol of frame i, or -1.
  int ipproto(size_t i) const { return ethertype(i) == 0x0800 ? sent[i][14 + 9] : -1; }
};

// One stack (198.18.0.10/24, gateway .1) on a capture device.
struct OneStack {
  CaptureDev cap;
  us_stack *s;
  us_time_t now = US_SEC(1);

  explicit OneStack(uint16_t mtu = 1500, uint32_t features = 0, bool garp = false)
      : cap(mtu, features) {
    us_stack_config cfg = {};
    cfg.ip = kIpUs;
    cfg.prefix_len = 24;
    cfg.gw = kIpPeer;
    cfg.seed = 99;
    cfg.no_garp = garp ? 0 : 1;
    s = us_stack_new(&cfg, &cap.dev, now);
  }
  ~OneStack() { us_stack_free(s); }
  void input(const Bytes &f) { us_stack_input(s, f.data(), f.size(), nullptr, now); }
  void input_valid(const Bytes &f) {
    us_frame_meta m = {};
    m.flags = US_FRAME_CSUM_VALID;
    us_stack_input(s, f.data(), f.size(), &m, now);
  }
  // Advance to t, firing timers in order.
  void advance_to(us_time_t t) {
    for (;;) {
      us_time_t d = us_stack_next_deadline(s);
      if (d > t) break;
      now = d > now ? d : now;
      us_stack_advance(s, now);
    }
    now = t;
    us_stack_advance(s, now);
  }
  uint64_t cnt(us_counter c) const { return us_stack_counter(s, c); }
  // Teach the stack the peer's MAC (the peer asks for us).
  void learn_peer(const uint8_t *mac = kMacPeer, uint32_t ip = kIpPeer) {
    input(eth(kBcast, mac, 0x0806, arp(1, mac, ip, kBcast, kIpUs)));
    cap.sent.clear();
    cap.metas.clear();
  }
};

}  // namespace ustest

#endif
