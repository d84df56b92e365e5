/* Placeholder until the TCP module lands: segments are counted and dropped.
 * The TCP module deletes this file when tcp_input.c exists. */
#include "stack/tcp.h"

struct tcp_state *tcp_init(struct us_stack *s) { (void)s; return 0; }
void tcp_free(struct us_stack *s) { (void)s; }
void tcp_input(struct us_stack *s, const struct ipv4_rx *ip, const uint8_t *seg, size_t len) {
  (void)s; (void)ip; (void)seg; (void)len;
}
void tcp_err(struct us_stack *s, uint32_t src, uint32_t dst, const uint8_t *hdr, size_t len,
             int err, uint32_t mtu) {
  (void)s; (void)src; (void)dst; (void)hdr; (void)len; (void)err; (void)mtu;
}
