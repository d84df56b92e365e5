/* Framing of a datagram socket's channel (a SOCK_SEQPACKET socketpair):
 * every message is this header followed by one datagram's payload. From the
 * program: ip/port is the destination (0 = the connected peer). From the
 * stack: the source, or an error for the socket (US_DGRAM_ERR, err set). */
#ifndef USTACK_SHIM_DGRAM_H
#define USTACK_SHIM_DGRAM_H

#include <stdint.h>

#define US_DGRAM_ERR 1u
#define US_DGRAM_MAX 65507 /* largest UDP payload over IPv4 */

struct us_dgram_hdr {
  uint32_t ip;   /* network byte order */
  uint16_t port; /* network byte order */
  uint16_t flags;
  int32_t err;   /* US_DGRAM_ERR: positive errno */
};

#endif
