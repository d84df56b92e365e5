/* libFuzzer target for the frame input path: arbitrary bytes become a series
 * of Ethernet frames fed to a fresh stack, interleaved with time steps and a
 * few socket sends, so that ARP, reassembly, ICMP and UDP state machines all
 * run on hostile input. The device is a sink that reads every byte sent (so
 * ASan sees any bad frame the stack builds).
 *
 * Input: records of [ctl:1][len:2 big-endian][bytes:len].
 *   ctl bit 0: frame arrives with US_FRAME_CSUM_VALID
 *   ctl bits 1-3: time step before it (0, 1 ms, 100 ms, 1 s, 5 s, 31 s, 61 s, 0)
 *   ctl bit 4: also send a UDP datagram to the address in the frame's last 4 bytes
 *   ctl bit 5: also send an echo request to the same address */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "netdev/netdev.h"
#include "stack/icmp.h"
#include "stack/udp.h"
#include "stack/us_stack.h"

static volatile uint8_t sink_byte;

static int sink_xmit(struct us_netdev *dev, const uint8_t *f, size_t n,
                     const struct us_frame_meta *m) {
  (void)dev;
  (void)m;
  uint8_t x = 0;
  for (size_t i = 0; i < n; i++) x ^= f[i];
  sink_byte = x;
  return 0;
}
static int sink_poll(struct us_netdev *dev, us_netdev_rx_cb cb, void *arg, int max) {
  (void)dev; (void)cb; (void)arg; (void)max;
  return 0;
}
static const struct us_netdev_ops sink_ops = {.xmit = sink_xmit, .poll = sink_poll};

static void on_dgram(void *u, struct udp_sock *s, uint32_t ip, uint16_t port, const uint8_t *d,
                     size_t n) {
  (void)u; (void)s; (void)ip; (void)port;
  uint8_t x = 0;
  for (size_t i = 0; i < n; i++) x ^= d[i];
  sink_byte = x;
}
static void on_error(void *u, struct udp_sock *s, int err, uint32_t ip, uint16_t port) {
  (void)u; (void)s; (void)err; (void)ip; (void)port;
}
static const struct udp_sock_ops sock_ops = {.on_datagram = on_dgram, .on_error = on_error};

static const us_time_t steps[8] = {0, US_MS(1), US_MS(100), US_SEC(1),
                                   US_SEC(5), US_SEC(31), US_SEC(61), 0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct us_netdev dev = {.ops = &sink_ops, .mac = {2, 0, 0, 0, 0, 0x0a}, .mtu = 1500,
                          .features = 0};
  struct us_stack_config cfg = {.ip = 0xC612000A, .prefix_len = 24, .gw = 0xC6120001,
                                .seed = 1, .no_garp = 0};
  if (size && (data[0] & 0x80)) dev.features = US_NETDEV_F_CSUM_OFFLOAD;
  us_time_t now = US_SEC(1);
  struct us_stack *s = us_stack_new(&cfg, &dev, now);
  if (!s) return 0;
  struct udp_sock *u1 = us_udp_open(s, &sock_ops, 0), *u2 = us_udp_open(s, &sock_ops, 0);
  us_udp_bind(u1, 0, 7);
  us_udp_connect(u2, 0xC6120001, 53);

  size_t i = 0;
  while (i + 3 <= size) {
    uint8_t ctl = data[i];
    size_t len = (size_t)data[i + 1] << 8 | data[i + 2];
    i += 3;
    if (len > size - i) len = size - i;
    const uint8_t *f = data + i;
    i += len;
    now += steps[(ctl >> 1) & 7];
    us_stack_advance(s, now);
    struct us_frame_meta meta = {.flags = (ctl & 1) ? US_FRAME_CSUM_VALID : 0};
    us_stack_input(s, f, len, &meta, now);
    if ((ctl & 0x30) && len >= 4) {
      uint32_t ip = (uint32_t)f[len - 4] << 24 | (uint32_t)f[len - 3] << 16 |
                    (uint32_t)f[len - 2] << 8 | f[len - 1];
      size_t n = len > 3000 ? 3000 : len; /* sometimes above the MTU: fragments */
      if (ctl & 0x10) us_udp_sendto(u1, ip, 9, f, n);
      if (ctl & 0x20) us_icmp_echo(s, ip, 1, 1, f, n);
    }
  }
  /* Let every timer run out: ARP retries, reassembly expiry, cache GC. */
  for (int k = 0; k < 8; k++) {
    now += US_SEC(20);
    us_stack_advance(s, now);
  }
  us_udp_close(u1);
  us_udp_close(u2);
  us_stack_free(s);
  return 0;
}
