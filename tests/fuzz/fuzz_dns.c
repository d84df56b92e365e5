/* libFuzzer target for DNS: the message reader (dns_wire.c) and the
 * resolver's answer path (dns_client.c) on a real stack.
 *
 * The first byte picks a mode:
 *   0: the input is a whole message; every reader runs over it.
 *   1: the input is an answer datagram for an outstanding query; its ID is
 *      set to the query's so the fuzzer gets past the ID check.
 *   2: the harness writes a correct header ID and question, and the input
 *      gives the flags, counts and the sections after the question, so the
 *      fuzzer spends its time in the record and CNAME code.
 *   3: as 2, for a reverse (PTR) lookup.
 * Modes 1 and 2 then ask again for the same name (cache path) and run the
 * clock forward to the end of all retries. */
#include <stdint.h>
#include <string.h>

#include "netdev/netdev.h"
#include "stack/dns_client.h"
#include "stack/dns_wire.h"
#include "stack/us_stack.h"

static int null_xmit(struct us_netdev *d, const uint8_t *f, size_t n,
                     const struct us_frame_meta *m) {
  (void)d; (void)f; (void)n; (void)m;
  return 0;
}
static int null_poll(struct us_netdev *d, us_netdev_rx_cb cb, void *arg, int max) {
  (void)d; (void)cb; (void)arg; (void)max;
  return 0;
}
static const struct us_netdev_ops null_ops = {.xmit = null_xmit, .poll = null_poll};

#define SERVER 0xC6120001u /* 198.18.0.1 */

static void read_everything(const uint8_t *msg, size_t len) {
  struct dns_header h;
  if (dns_validate(msg, len) == DNS_OK) {
    /* A valid message must read the same way piece by piece. */
    if (dns_read_header(msg, len, &h)) __builtin_trap();
  }
  if (dns_read_header(msg, len, &h)) return;
  size_t off = DNS_HDR_LEN;
  struct dns_question q = {0};
  int have_q = 0;
  for (unsigned i = 0; i < h.qdcount; i++) {
    if (dns_read_question(msg, len, &off, &q)) return;
    have_q = 1;
  }
  size_t an_off = off;
  unsigned n = (unsigned)h.ancount + h.nscount + h.arcount;
  for (unsigned i = 0; i < n; i++) {
    struct dns_rr rr;
    uint8_t name[DNS_NAME_MAX];
    size_t name_len;
    uint32_t ttl;
    char text[DNS_TEXT_MAX];
    if (dns_read_rr(msg, len, &off, &rr)) break;
    if (rr.rdoff + rr.rdlen > len) __builtin_trap();
    if (dns_name_to_text(rr.name, rr.name_len, text, sizeof text) == DNS_OK &&
        strlen(text) > DNS_TEXT_MAX - 1)
      __builtin_trap();
    if (dns_rr_name(msg, len, &rr, name, &name_len) == DNS_OK && name_len > DNS_NAME_MAX)
      __builtin_trap();
    dns_rr_soa_ttl(msg, len, &rr, &ttl);
  }
  if (have_q) {
    struct dns_extract ex;
    for (int lenient = 0; lenient < 2; lenient++) {
      if (dns_extract_answer(msg, len, an_off, &h, q.name, q.name_len, DNS_TYPE_A, lenient,
                             &ex) == DNS_OK &&
          (ex.naddrs > US_DNS_MAX_ADDRS || ex.canon_len > DNS_NAME_MAX))
        __builtin_trap();
      dns_extract_answer(msg, len, an_off, &h, q.name, q.name_len, DNS_TYPE_AAAA, lenient, &ex);
    }
  }
}

static int results;
static void on_result(void *user, const struct us_dns_result *r) {
  (void)user;
  if (r->naddrs > 2 * US_DNS_MAX_ADDRS || !r->name || !r->canon) __builtin_trap();
  results++;
}

static void client_path(int mode, const uint8_t *data, size_t size) {
  struct us_netdev dev = {.ops = &null_ops, .mac = {2, 0, 0, 0, 0, 0x0a}, .mtu = 1500};
  struct us_stack_config cfg = {.ip = 0xC612000Au, .prefix_len = 24, .seed = 7, .no_garp = 1};
  us_time_t now = US_SEC(1);
  struct us_stack *s = us_stack_new(&cfg, &dev, now);
  if (!s) return;
  struct us_dns_config dc;
  us_dns_config_defaults(&dc);
  dc.server = SERVER;
  dc.timeout_ms = 1000;
  struct us_dns_client *c = us_dns_client_new(s, &dc);
  if (!c) {
    us_stack_free(s);
    return;
  }
  static const uint8_t addr[4] = {198, 18, 0, 80};
  const char *name = mode == 3 ? "80.0.18.198.in-addr.arpa" : "web.ustack.test";
  uint8_t qname[DNS_NAME_MAX];
  size_t qname_len;
  dns_name_from_text(name, qname, &qname_len);
  results = 0;
  if (mode == 3)
    us_dns_reverse(c, 4, addr, on_result, NULL);
  else
    us_dns_query(c, name, US_DNS_WANT_BOTH, on_result, NULL);

  uint8_t buf[4096];
  for (int i = 0; i < 2; i++) {
    uint16_t id, port, qtype;
    if (us_dns_client_outstanding(c, 0, &id, &port, &qtype)) break;
    size_t len;
    if (mode == 1) {
      len = size < sizeof buf ? size : sizeof buf;
      memcpy(buf, data, len);
      if (len >= 2) {
        buf[0] = (uint8_t)(id >> 8);
        buf[1] = (uint8_t)id;
      }
    } else {
      /* flags(2) qd an ns ar from the input, then our question, then the rest */
      struct dns_builder b;
      uint8_t hdr[10] = {0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
      memcpy(hdr, data, size < 10 ? size : 10);
      dns_b_init(&b, buf, sizeof buf);
      dns_b_u16(&b, id);
      dns_b_bytes(&b, hdr, 10);
      dns_b_question(&b, qname, qname_len, qtype, DNS_CLASS_IN);
      if (size > 10) dns_b_bytes(&b, data + 10, size - 10 < 3000 ? size - 10 : 3000);
      len = b.len;
    }
    us_dns_client_inject(c, 0, SERVER, DNS_PORT, buf, len);
  }
  /* The cache path, then every retry until the end. */
  if (mode == 3)
    us_dns_reverse(c, 4, addr, on_result, NULL);
  else
    us_dns_query(c, name, US_DNS_WANT_BOTH, on_result, NULL);
  for (int i = 0; i < 20; i++) {
    us_time_t d = us_stack_next_deadline(s);
    if (d == US_TIME_NEVER || d > now + US_SEC(60)) break;
    now = d > now ? d : now;
    us_stack_advance(s, now);
  }
  us_dns_client_free(c);
  us_stack_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int mode = data[0] % 4;
  data++;
  size--;
  if (mode == 0)
    read_everything(data, size);
  else
    client_path(mode, data, size);
  return 0;
}
