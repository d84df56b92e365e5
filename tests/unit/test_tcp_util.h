// Helpers for the TCP tests: a connected pair of stacks on the memwire with
// a segment log, event recording, raw segment injection and byte-exact
// transfers of a seeded pattern.
#ifndef USTACK_TESTS_TEST_TCP_UTIL_H
#define USTACK_TESTS_TEST_TCP_UTIL_H

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/twostack.h"

extern "C" {
#include "stack/ipv4.h"
#include "stack/tcp_sock.h"
#include "stack/tcp_wire.h"
}

namespace tcpt {

using ustest::TwoStack;
using ustest::TwoStackOptions;

struct Sock {
  us_tcp_sock *s = nullptr;
  uint32_t ev = 0;   // every event bit seen
  int err = 0;       // last error reported
  int calls = 0;
  std::vector<int> states;  // state after each EV_STATE
};

inline void on_event(void *user, us_tcp_sock *t, uint32_t events, int err) {
  auto *k = static_cast<Sock *>(user);
  k->ev |= events;
  if (events & US_TCP_EV_ERROR) k->err = err;
  if (events & US_TCP_EV_STATE) k->states.push_back(us_tcp_state(t));
  k->calls++;
}

struct Seg {
  int dir;  // 0: A -> B, 1: B -> A
  us_time_t at;
  uint16_t sport, dport;
  uint8_t flags;
  uint32_t seq, ack, len;
  uint16_t win;
  tcp_opts opt;
  uint8_t tos;  // the IP TOS byte (low two bits: ECN)
};

inline bool parse_frame(const uint8_t *f, size_t n, Seg *s) {
  if (n < 14 + 20 || f[12] != 0x08 || f[13] != 0x00) return false;
  const uint8_t *ip = f + 14;
  size_t ihl = (ip[0] & 15) * 4;
  if (ip[9] != 6) return false;
  size_t tot = (size_t)ip[2] << 8 | ip[3];
  if (tot > n - 14) tot = n - 14;
  tcp_seg t;
  if (tcp_parse(ip + ihl, tot - ihl, &t)) return false;
  s->tos = ip[1];
  s->sport = t.sport;
  s->dport = t.dport;
  s->flags = t.flags;
  s->seq = t.seq;
  s->ack = t.ack;
  s->len = t.dlen;
  s->win = t.win;
  s->opt = t.opt;
  return true;
}

inline std::string flags_str(uint8_t f) {
  std::string s;
  if (f & TCP_SYN) s += "S";
  if (f & TCP_FIN) s += "F";
  if (f & TCP_RST) s += "R";
  if (f & TCP_PSH) s += "P";
  if (f & TCP_ACK) s += ".";
  return s;
}

inline uint8_t pattern(uint64_t i, uint32_t seed) {
  uint64_t x = (i >> 3) * 0x9E3779B97F4A7C15ULL + seed;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 32;
  return (uint8_t)(x >> (8 * (i & 7)));
}

class Pair {
 public:
  TwoStack t;
  std::vector<Seg> log;
  bool logging = true;
  Sock lsn, cli, srv;  // listener on B, client on A, accepted on B
  uint16_t port = 80;

  explicit Pair(const TwoStackOptions &o = TwoStackOptions()) : t(o) {
    t.tap = [this](int dir, const uint8_t *f, size_t n, const us_frame_meta *, us_time_t at) {
      Seg s;
      if (logging && parse_frame(f, n, &s)) {
        s.dir = dir;
        s.at = at;
        log.push_back(s);
      }
    };
  }
  ~Pair() {
    t.drop = nullptr;  // it may capture test locals already gone
    if (cli.s) us_tcp_close(cli.s);
    if (srv.s) us_tcp_close(srv.s);
    if (lsn.s) us_tcp_close(lsn.s);
  }

  void listen(int backlog = 16) {
    lsn.s = us_tcp_socket(t.b, on_event, &lsn);
    ASSERT_NE(nullptr, lsn.s);
    ASSERT_EQ(0, us_tcp_bind(lsn.s, 0, port));
    ASSERT_EQ(0, us_tcp_listen(lsn.s, backlog));
  }
  void start_connect() {
    cli.s = us_tcp_socket(t.a, on_event, &cli);
    ASSERT_NE(nullptr, cli.s);
    ASSERT_EQ(-EINPROGRESS, us_tcp_connect(cli.s, TwoStack::kIpB, port));
  }
  bool accept() {
    int err = 0;
    srv.s = us_tcp_accept(lsn.s, &err);
    if (srv.s) us_tcp_set_callback(srv.s, on_event, &srv);
    return srv.s != nullptr;
  }
  // Room for a whole test write in the client's send buffer from the start
  // (Linux's tcp_wmem[1] is 16 KiB and grows only with cwnd). Before connect.
  void roomy_sndbuf() {
    us_tcp_sysctls v;
    us_tcp_get_sysctls(t.a, &v);
    v.wmem[1] = v.wmem[2] = 1 << 20;
    ASSERT_EQ(0, us_tcp_set_sysctls(t.a, &v));
  }
  // Listener + connect + accept; both ends ESTABLISHED.
  void connect() {
    listen();
    start_connect();
    ASSERT_TRUE(t.run_until([&] { return (cli.ev & US_TCP_EV_CONNECTED) && (lsn.ev & US_TCP_EV_ACCEPT); },
                            t.now + US_SEC(5)));
    ASSERT_TRUE(accept());
    ASSERT_EQ(US_TCP_ESTABLISHED, us_tcp_state(cli.s));
    ASSERT_EQ(US_TCP_ESTABLISHED, us_tcp_state(srv.s));
  }

  // Bring both stacks' clocks to t.now before an API call whose timing a
  // test measures (the stacks only learn the time from input and timers).
  void sync() {
    us_stack_advance(t.a, t.now);
    us_stack_advance(t.b, t.now);
  }
  // Drop TCP segments in one direction (ARP still passes).
  void blackhole(int dir, bool *on = nullptr) {
    t.drop = [dir, on](int d, uint64_t, const uint8_t *f, size_t n) {
      Seg s;
      return d == dir && (!on || *on) && parse_frame(f, n, &s);
    };
  }

  // From the segment log: the next sequence number a side will send, and
  // the last ACK it sent (its rcv_nxt).
  uint32_t next_seq(int dir) const {
    for (size_t i = log.size(); i-- > 0;)
      if (log[i].dir == dir)
        return log[i].seq + log[i].len + !!(log[i].flags & TCP_SYN) + !!(log[i].flags & TCP_FIN);
    return 0;
  }
  uint32_t last_ack(int dir) const {
    for (size_t i = log.size(); i-- > 0;)
      if (log[i].dir == dir && (log[i].flags & TCP_ACK)) return log[i].ack;
    return 0;
  }
  uint16_t cli_port() const {
    uint32_t ip;
    uint16_t port;
    us_tcp_getsockname(cli.s, &ip, &port);
    return port;
  }

  // Segments in the log matching dir (and a flag mask/value).
  std::vector<Seg> segs(int dir, uint8_t mask = 0, uint8_t val = 0) const {
    std::vector<Seg> v;
    for (auto &s : log)
      if (s.dir == dir && (s.flags & mask) == val) v.push_back(s);
    return v;
  }
  std::string trace() const {
    std::string r;
    for (auto &s : log) {
      char b[160];
      snprintf(b, sizeof b, "%8.3f %s %-4s seq=%u ack=%u len=%u win=%u\n", s.at / 1e3 - 1000.0,
               s.dir ? "B>A" : "A>B", flags_str(s.flags).c_str(), s.seq, s.ack, s.len, s.win);
      r += b;
    }
    return r;
  }

  // Deliver raw L4 bytes (a TCP segment as given) to side `to` in an IPv4
  // frame from the other side's IP; fix_csum fills the TCP checksum first.
  void inject_l4(int to, std::vector<uint8_t> l4, bool fix_csum) {
    std::vector<uint8_t> f(14 + 20 + l4.size());
    const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0x0a}, mac_b[6] = {2, 0, 0, 0, 0, 0x01};
    memcpy(&f[0], to ? mac_b : mac_a, 6);
    memcpy(&f[6], to ? mac_a : mac_b, 6);
    f[12] = 0x08;
    uint8_t *ip = &f[14];
    uint32_t src = to ? TwoStack::kIpA : TwoStack::kIpB, dst = to ? TwoStack::kIpB : TwoStack::kIpA;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + l4.size()) >> 8);
    ip[3] = (uint8_t)(20 + l4.size());
    ip[8] = 64;
    ip[9] = 6;
    tcp_wr32(ip + 12, src);
    tcp_wr32(ip + 16, dst);
    uint16_t c = us_csum_fold(us_csum_add(0, ip, 20));
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    if (fix_csum && l4.size() >= 18) {
      l4[16] = l4[17] = 0;
      c = us_csum_fold(us_csum_add(us_csum_pseudo(src, dst, 6, (uint32_t)l4.size()), l4.data(), l4.size()));
      l4[16] = (uint8_t)(c >> 8);
      l4[17] = (uint8_t)c;
    }
    if (!l4.empty()) memcpy(ip + 20, l4.data(), l4.size());
    us_stack_input(t.st[to], f.data(), f.size(), nullptr, t.now);
  }

  // Send a raw TCP segment into side `to` as if from the other side's IP.
  void inject(int to, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
              uint16_t win, const std::vector<uint8_t> &opts = {}, const std::vector<uint8_t> &data = {},
              uint32_t src_ip = 0) {
    std::vector<uint8_t> f(14 + 20 + 20 + opts.size() + data.size());
    const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0x0a}, mac_b[6] = {2, 0, 0, 0, 0, 0x01};
    memcpy(&f[0], to ? mac_b : mac_a, 6);
    memcpy(&f[6], to ? mac_a : mac_b, 6);
    f[12] = 0x08;
    f[13] = 0;
    uint8_t *ip = &f[14];
    uint32_t src = src_ip ? src_ip : (to ? TwoStack::kIpA : TwoStack::kIpB);
    uint32_t dst = to ? TwoStack::kIpB : TwoStack::kIpA;
    size_t l4 = 20 + opts.size() + data.size();
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + l4) >> 8);
    ip[3] = (uint8_t)(20 + l4);
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    tcp_wr32(ip + 12, src);
    tcp_wr32(ip + 16, dst);
    uint16_t c = us_csum_fold(us_csum_add(0, ip, 20));
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    uint8_t *th = ip + 20;
    tcp_hdr_write(th, sport, dport, seq, ack, flags, win, (uint16_t)(20 + opts.size()));
    if (!opts.empty()) memcpy(th + 20, opts.data(), opts.size());
    if (!data.empty()) memcpy(th + 20 + opts.size(), data.data(), data.size());
    c = us_csum_fold(us_csum_add(us_csum_pseudo(src, dst, 6, (uint32_t)l4), th, l4));
    th[16] = (uint8_t)(c >> 8);
    th[17] = (uint8_t)c;
    us_stack_input(t.st[to], f.data(), f.size(), nullptr, t.now);
  }
};

// A one-way byte-exact transfer of `total` pattern bytes.
struct Flow {
  us_tcp_sock *tx, *rx;
  uint64_t total, sent = 0, recvd = 0;
  uint32_t seed;
  bool bad = false;
  uint64_t bad_at = 0;
  bool close_when_sent = false, closed = false;
  std::vector<uint8_t> buf = std::vector<uint8_t>(1 << 16);

  Flow(us_tcp_sock *a, us_tcp_sock *b, uint64_t n, uint32_t s = 7) : tx(a), rx(b), total(n), seed(s) {}
  void pump() {
    while (sent < total) {
      size_t n = (size_t)std::min<uint64_t>(buf.size(), total - sent);
      for (size_t i = 0; i < n; i++) buf[i] = pattern(sent + i, seed);
      ssize_t r = us_tcp_send(tx, buf.data(), n);
      if (r <= 0) break;
      sent += (uint64_t)r;
    }
    if (sent == total && close_when_sent && !closed) {
      us_tcp_shutdown(tx, 1);
      closed = true;
    }
    for (;;) {
      ssize_t r = us_tcp_recv(rx, buf.data(), buf.size());
      if (r <= 0) break;
      for (ssize_t i = 0; i < r; i++)
        if (!bad && buf[i] != pattern(recvd + i, seed)) {
          bad = true;
          bad_at = recvd + i;
        }
      recvd += (uint64_t)r;
    }
  }
  bool done() const { return recvd == total; }
};

// An ICMP "fragmentation needed" (next-hop MTU `mtu`) into A from a router
// at B's address, quoting A's segment sport -> dport with sequence `seq`.
inline void icmp_frag_needed(Pair &p, uint16_t sport, uint16_t dport, uint32_t seq, uint16_t mtu) {
  std::vector<uint8_t> icmp(8 + 20 + 8);
  icmp[0] = 3;
  icmp[1] = 4;
  icmp[6] = (uint8_t)(mtu >> 8);
  icmp[7] = (uint8_t)mtu;
  uint8_t *ip = &icmp[8];
  ip[0] = 0x45;
  ip[2] = 1500 >> 8;
  ip[3] = 1500 & 0xff;
  ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = 6;
  tcp_wr32(ip + 12, TwoStack::kIpA);
  tcp_wr32(ip + 16, TwoStack::kIpB);
  uint8_t *th = ip + 20;
  tcp_wr16(th, sport);
  tcp_wr16(th + 2, dport);
  tcp_wr32(th + 4, seq);
  uint16_t c = us_csum_fold(us_csum_add(0, icmp.data(), icmp.size()));
  icmp[2] = (uint8_t)(c >> 8);
  icmp[3] = (uint8_t)c;
  std::vector<uint8_t> fr(14 + 20 + icmp.size());
  const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0x0a}, mac_b[6] = {2, 0, 0, 0, 0, 0x01};
  memcpy(&fr[0], mac_a, 6);
  memcpy(&fr[6], mac_b, 6);
  fr[12] = 8;
  uint8_t *oip = &fr[14];
  oip[0] = 0x45;
  oip[2] = (uint8_t)((20 + icmp.size()) >> 8);
  oip[3] = (uint8_t)(20 + icmp.size());
  oip[8] = 64;
  oip[9] = 1;
  tcp_wr32(oip + 12, TwoStack::kIpB);
  tcp_wr32(oip + 16, TwoStack::kIpA);
  c = us_csum_fold(us_csum_add(0, oip, 20));
  oip[10] = (uint8_t)(c >> 8);
  oip[11] = (uint8_t)c;
  memcpy(oip + 20, icmp.data(), icmp.size());
  us_stack_input(p.t.a, fr.data(), fr.size(), nullptr, p.t.now);
}

}  // namespace tcpt

#endif
