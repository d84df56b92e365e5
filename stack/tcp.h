/* TCP: the hooks the rest of the stack calls, and the socket API.
 * Implementation: tcp_*.c (tcp_input.c, tcp_output.c, tcp_timer.c, ...). */
#ifndef USTACK_TCP_H
#define USTACK_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "netdev/netdev.h"
#include "stack/ipv4.h"
#include "stack/us_stack.h"

struct tcp_state;

/* Called by stack.c. */
struct tcp_state *tcp_init(struct us_stack *s);
void tcp_free(struct us_stack *s);
/* Called by ipv4 input with the TCP segment (header + payload). */
void tcp_input(struct us_stack *s, const struct ipv4_rx *ip, const uint8_t *seg, size_t len);
/* ICMP error (or ARP failure) about a segment we sent: hdr is the start of the
 * TCP header we sent (at least 8 bytes). err is a positive errno; for
 * EMSGSIZE, mtu is the next-hop MTU. */
void tcp_err(struct us_stack *s, uint32_t src, uint32_t dst, const uint8_t *hdr, size_t len,
             int err, uint32_t mtu);

/* The socket API (us_tcp_*) is declared in tcp_sock.h by the TCP module. */

#endif
