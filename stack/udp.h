/* UDP: checksum, demultiplexing, port unreachable for closed ports, and a
 * socket API for the shim and the DNS client. */
#ifndef USTACK_UDP_H
#define USTACK_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stack/us_stack.h"

struct udp_sock;

/* Called for every datagram delivered to the socket; data is valid only
 * during the call. An ICMP error concerning the socket arrives as on_error
 * with a positive errno (ECONNREFUSED, EHOSTUNREACH, EMSGSIZE...). */
struct udp_sock_ops {
  void (*on_datagram)(void *user, struct udp_sock *u, uint32_t src_ip, uint16_t src_port,
                      const uint8_t *data, size_t len);
  void (*on_error)(void *user, struct udp_sock *u, int err, uint32_t dst_ip, uint16_t dst_port);
};

struct udp_sock *us_udp_open(struct us_stack *s, const struct udp_sock_ops *ops, void *user);
/* port 0 = pick an ephemeral port. ip 0 = any. -EADDRINUSE if taken. */
int us_udp_bind(struct udp_sock *u, uint32_t ip, uint16_t port);
/* Fix the peer: only its datagrams are delivered; ICMP errors reported.
 * -ENETUNREACH when no route leads there (as Linux). */
int us_udp_connect(struct udp_sock *u, uint32_t ip, uint16_t port);
/* Binds an ephemeral port first if needed. Returns len or a negative errno. */
ssize_t us_udp_sendto(struct udp_sock *u, uint32_t ip, uint16_t port, const void *data,
                      size_t len);
/* The local address and port; ip: the bound one, or while connected the
 * source address the route to the peer gives (as getsockname on Linux). */
void us_udp_local(const struct udp_sock *u, uint32_t *ip, uint16_t *port);
void us_udp_close(struct udp_sock *u);

#endif
