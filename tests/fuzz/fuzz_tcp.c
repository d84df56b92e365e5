/* libFuzzer target for TCP: segments fed into live connections.
 *
 * Each run builds two stacks on the in-memory wire, opens a connection
 * (A connects to a listener on B) and exchanges a little data. The input is
 * then read as a list of records; each one is either a TCP segment injected
 * into B as if from A's socket (sequence and ACK numbers relative to B's
 * view of the connection, so the fuzzer reaches the in-window paths), a
 * segment to the listener, a raw segment, or a socket call on either end
 * (send, recv, shutdown, close, abort), followed by a step of virtual time
 * with the wire running. At the end the clock runs far ahead so every
 * timer path fires. Invariants: no crash, no sanitizer report, and while
 * no payload has been injected, the bytes B's application reads are exactly
 * what A's application sent (bare flags, options, ACK and window games must
 * never corrupt the stream). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "netdev/netdev_memwire.h"
#include "stack/ipv4.h"
#include "stack/tcp_conn.h"
#include "stack/tcp_sock.h"
#include "stack/tcp_wire.h"
#include "stack/us_stack.h"

#define IP_A 0xC612000Au /* 198.18.0.10 */
#define IP_B 0xC6120001u /* 198.18.0.1 */
#define PORT 80

struct rig {
  struct us_memwire *w;
  struct us_netdev *dev[2];
  struct us_stack *st[2];
  us_time_t now;
  struct us_tcp_sock *lsn, *cli, *srv;
};

static void rx_cb(void *arg, const uint8_t *f, size_t n, const struct us_frame_meta *m) {
  struct rig *r = ((struct rig **)arg)[0];
  int side = (int)(intptr_t)((void **)arg)[1];
  us_stack_input(r->st[side], f, n, m, r->now);
}

static void run_until(struct rig *r, us_time_t t) {
  for (int guard = 0; guard < 100000; guard++) {
    us_time_t e = US_TIME_NEVER;
    for (int i = 0; i < 2; i++) {
      us_time_t d = us_stack_next_deadline(r->st[i]);
      us_time_t a = us_memwire_next_arrival(r->w, i);
      if (d < e) e = d;
      if (a < e) e = a;
    }
    if (e > t) break;
    if (e > r->now) r->now = e;
    us_memwire_set_now(r->w, r->now);
    for (int i = 0; i < 2; i++) {
      if (us_stack_next_deadline(r->st[i]) <= r->now) us_stack_advance(r->st[i], r->now);
      void *arg[2] = {r, (void *)(intptr_t)i};
      while (us_memwire_next_arrival(r->w, i) <= r->now)
        us_netdev_poll(r->dev[i], rx_cb, arg, 64);
    }
  }
  if (t > r->now) r->now = t;
  us_memwire_set_now(r->w, r->now);
}

static uint8_t pat(uint64_t i) { return (uint8_t)(i * 131 + (i >> 9)); }
static uint64_t sent_a, read_b;
static int tainted; /* a segment with payload was injected into B */

static void pump(struct rig *r) {
  uint8_t buf[4096];
  if (r->cli && sent_a < 200000) {
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = pat(sent_a + i);
    ssize_t n = us_tcp_send(r->cli, buf, sizeof buf);
    if (n > 0) sent_a += (uint64_t)n;
  }
  if (r->srv) {
    ssize_t n = us_tcp_recv(r->srv, buf, sizeof buf);
    for (ssize_t k = 0; k < n && !tainted; k++)
      if (buf[k] != pat(read_b + (uint64_t)k)) __builtin_trap(); /* stream corrupted */
    if (n > 0) read_b += (uint64_t)n;
  }
}

static void inject(struct rig *r, uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *l4,
                   size_t l4len, int fix_csum) {
  uint8_t f[14 + 20 + 40 + 20 + 512];
  if (l4len > sizeof f - 34) l4len = sizeof f - 34;
  const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0x0a}, mac_b[6] = {2, 0, 0, 0, 0, 0x01};
  memcpy(f, mac_b, 6);
  memcpy(f + 6, mac_a, 6);
  f[12] = 8;
  f[13] = 0;
  uint8_t *ip = f + 14;
  memset(ip, 0, 20);
  ip[0] = 0x45;
  ip[2] = (uint8_t)((20 + l4len) >> 8);
  ip[3] = (uint8_t)(20 + l4len);
  ip[8] = 64;
  ip[9] = 6;
  tcp_wr32(ip + 12, src);
  tcp_wr32(ip + 16, IP_B);
  uint16_t c = us_csum_fold(us_csum_add(0, ip, 20));
  ip[10] = (uint8_t)(c >> 8);
  ip[11] = (uint8_t)c;
  memcpy(ip + 20, l4, l4len);
  (void)sport; (void)dport;
  if (fix_csum && l4len >= 18) {
    ip[20 + 16] = ip[20 + 17] = 0;
    c = us_csum_fold(us_csum_add(us_csum_pseudo(src, IP_B, 6, (uint32_t)l4len), ip + 20, l4len));
    ip[20 + 16] = (uint8_t)(c >> 8);
    ip[20 + 17] = (uint8_t)c;
  }
  us_stack_input(r->st[1], f, 34 + l4len, 0, r->now);
}

static int setup(struct rig *r) {
  memset(r, 0, sizeof(*r));
  sent_a = read_b = 0;
  tainted = 0;
  r->now = US_SEC(1);
  r->w = us_memwire_new(1);
  us_memwire_set_now(r->w, r->now);
  struct us_memwire_faults f = {0};
  f.delay = US_MS(1);
  for (int i = 0; i < 2; i++) {
    us_memwire_set_faults(r->w, i, &f);
    r->dev[i] = us_memwire_end(r->w, i);
  }
  for (int i = 0; i < 2; i++) {
    struct us_stack_config cfg = {0};
    cfg.ip = i ? IP_B : IP_A;
    cfg.prefix_len = 24;
    cfg.seed = 5 + (uint64_t)i;
    cfg.no_garp = 1;
    r->st[i] = us_stack_new(&cfg, r->dev[i], r->now);
    if (!r->st[i]) return -1;
  }
  r->lsn = us_tcp_socket(r->st[1], 0, 0);
  us_tcp_bind(r->lsn, 0, PORT);
  us_tcp_listen(r->lsn, 4);
  r->cli = us_tcp_socket(r->st[0], 0, 0);
  us_tcp_connect(r->cli, IP_B, PORT);
  run_until(r, r->now + US_MS(20));
  int err;
  r->srv = us_tcp_accept(r->lsn, &err);
  pump(r);
  run_until(r, r->now + US_MS(5));
  pump(r);
  return r->srv ? 0 : -1;
}

static void teardown(struct rig *r) {
  if (r->cli) us_tcp_close(r->cli);
  if (r->srv) us_tcp_close(r->srv);
  if (r->lsn) us_tcp_close(r->lsn);
  run_until(r, r->now + US_SEC(200)); /* every timer, TIME_WAIT included */
  for (int i = 0; i < 2; i++) us_stack_free(r->st[i]);
  us_memwire_free(r->w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rig r;
  if (setup(&r)) {
    teardown(&r);
    return 0;
  }
  size_t i = 0;
  while (i + 13 <= size) {
    uint8_t kind = data[i];
    uint8_t flags = data[i + 1];
    int32_t dseq = (int32_t)tcp_rd32(data + i + 2);
    int32_t dack = (int32_t)tcp_rd32(data + i + 6);
    uint16_t win = tcp_rd16(data + i + 10);
    uint8_t optlen = data[i + 12] % 41;
    i += 13;
    if (i + optlen > size) break;
    const uint8_t *opts = data + i;
    i += optlen;
    uint8_t dlen = i < size ? data[i++] : 0;
    if (i + dlen > size) dlen = (uint8_t)(size - i);
    const uint8_t *payload = data + i;
    i += dlen;
    uint8_t step = i < size ? data[i++] : 0;

    switch (kind & 7) {
    case 0: case 1: case 2: { /* a segment into B's connection, numbers relative */
      struct us_tcp_sock *c = r.srv;
      uint32_t seq = c ? c->rcv_nxt + (uint32_t)dseq : (uint32_t)dseq;
      uint32_t ack = c ? c->snd_una + (uint32_t)dack : (uint32_t)dack;
      uint16_t sport = c ? c->rport : 1234;
      uint8_t seg[20 + 40 + 255];
      uint16_t hlen = (uint16_t)(20 + (optlen & ~3u));
      tcp_hdr_write(seg, sport, PORT, seq, ack, flags, win, hlen);
      memcpy(seg + 20, opts, optlen & ~3u);
      memcpy(seg + hlen, payload, dlen);
      /* Payload at or before B's rcv_nxt could legitimately enter the
       * stream (an attacker who knows the numbers can do that to any TCP). */
      if (dlen) tainted = 1;
      inject(&r, IP_A, sport, PORT, seg, hlen + dlen, (kind & 8) == 0);
      break;
    }
    case 3: { /* a segment to the listener from a made-up peer */
      uint8_t seg[20 + 40 + 255];
      uint16_t hlen = (uint16_t)(20 + (optlen & ~3u));
      tcp_hdr_write(seg, (uint16_t)(1024 + (dseq & 0xff)), PORT, (uint32_t)dseq, (uint32_t)dack,
                    flags, win, hlen);
      memcpy(seg + 20, opts, optlen & ~3u);
      memcpy(seg + hlen, payload, dlen);
      inject(&r, IP_A, 0, PORT, seg, hlen + dlen, 1);
      break;
    }
    case 4: /* raw bytes as a TCP segment */
      tainted = 1;
      inject(&r, IP_A, 0, 0, opts, optlen, kind & 8);
      break;
    case 5: /* application calls */
      switch (flags & 7) {
      case 0: pump(&r); break;
      case 1: if (r.cli) us_tcp_shutdown(r.cli, 1); break;
      case 2: if (r.srv) us_tcp_shutdown(r.srv, flags >> 6); break;
      case 3: if (r.srv) { us_tcp_close(r.srv); r.srv = 0; } break;
      case 4: if (r.cli) { us_tcp_abort(r.cli); r.cli = 0; } break;
      case 5: if (r.srv) us_tcp_setopt(r.srv, US_TCP_OPT_NODELAY, flags >> 7); break;
      case 6: if (r.cli) us_tcp_setopt(r.cli, US_TCP_OPT_KEEPALIVE, 1); break;
      default: { struct us_tcp_info ti; if (r.srv) us_tcp_get_info(r.srv, &ti); } break;
      }
      break;
    default:
      pump(&r);
      break;
    }
    run_until(&r, r.now + (us_time_t)step * 1000);
    pump(&r);
  }
  teardown(&r);
  return 0;
}
