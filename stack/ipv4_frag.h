/* IPv4 reassembly (RFC 791, RFC 815), bounded like Linux: 30 s per datagram,
 * 4 MiB of fragments in all, 64 KiB per datagram, at most IPV4_FRAG_MAX_PIECES
 * fragments each. Overlapping fragments discard the whole datagram (RFC 5722
 * style, as Linux does for IPv4); exact duplicates are ignored. */
#ifndef USTACK_IPV4_FRAG_H
#define USTACK_IPV4_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "stack/timer.h"

#define IPV4_FRAG_TIMEOUT_US US_SEC(30)
#define IPV4_FRAG_MEM_MAX (4u * 1024u * 1024u)
#define IPV4_FRAG_MAX_DGRAMS 256
#define IPV4_FRAG_MAX_PIECES 128

struct frag_dgram;

struct ipv4_frag_state {
  struct frag_dgram *head, *tail; /* oldest first */
  uint32_t count;
  size_t mem;
  struct us_timer timer; /* expiry of the oldest */
};

struct us_stack;
struct ipv4_hdr;

void ipv4_frag_init(struct us_stack *s);
void ipv4_frag_free(struct us_stack *s);
/* Feed one fragment (pkt: IP header + payload, len = total length). When it
 * completes a datagram, returns 1 and hands back *out (IP header + payload,
 * header from the first fragment with fragment fields cleared; the caller
 * us_free()s it) and *out_len. Otherwise 0. */
int ipv4_frag_input(struct us_stack *s, const struct ipv4_hdr *h, const uint8_t *pkt,
                    uint8_t **out, size_t *out_len);

#endif
