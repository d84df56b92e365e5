/* Framing of a datagram socket's channel (a SOCK_SEQPACKET socketpair):
 * every message is this header followed by one datagram's payload. From the
 * program: ip/port is the destination (0 = the connected peer). From the
 * stack: the source, or an error for the socket (US_DGRAM_ERR, err set).
 *
 * Every message from the program carries the channel's key: a random 64-bit
 * number the stack draws when it creates the socket and hands to the program
 * with the socket() answer (and again on US_CTL_DGRAM_KEY). The stack sends
 * nothing for a message without it, so bytes that reach the channel by a way
 * the interposer cannot see (a raw `syscall` instruction, sendfile, splice,
 * io_uring) are dropped and counted (UDP_DROP_UNFRAMED), never read as a
 * header whose first bytes pick the destination. */
#ifndef USTACK_SHIM_DGRAM_H
#define USTACK_SHIM_DGRAM_H

#include <stdint.h>

#define US_DGRAM_ERR 1u
#define US_DGRAM_MAX 65507 /* largest UDP payload over IPv4 */

struct us_dgram_hdr {
  uint64_t key;  /* program -> stack: the channel's key; stack -> program: 0 */
  uint32_t ip;   /* network byte order */
  uint16_t port; /* network byte order */
  uint16_t flags;
  int32_t err;   /* US_DGRAM_ERR: positive errno */
  uint32_t pad;  /* 0: no hidden padding, 24 bytes */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct us_dgram_hdr) == 24, "us_dgram_hdr has no hidden padding");
#endif

#endif
