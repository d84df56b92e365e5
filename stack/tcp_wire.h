/* TCP header and options on the wire: parse from a (ptr, len) view with
 * bounds checks, and emit in the layout Linux uses. No stack state here. */
#ifndef USTACK_TCP_WIRE_H
#define USTACK_TCP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "stack/counters.h"

enum {
  TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
  TCP_ACK = 0x10, TCP_URG = 0x20, TCP_ECE = 0x40, TCP_CWR = 0x80,
};

#define TCP_HDR_LEN 20
#define TCP_MAX_OPT_LEN 40
#define TCP_MAX_SACK 4
#define TCP_MAX_WSCALE 14
#define TCP_DEFAULT_MSS 536 /* RFC 9293 3.7.1: when the peer sent none */

/* Option presence bits (tcp_opts.has). */
enum {
  TCP_OPT_F_MSS = 1, TCP_OPT_F_WS = 2, TCP_OPT_F_SACKOK = 4, TCP_OPT_F_TS = 8,
  TCP_OPT_F_SACK = 16,
};
/* Option anomalies found while parsing (tcp_opts.bad): the segment is still
 * processed, the bad option is ignored or clamped, the caller counts it. */
enum {
  TCP_OPT_BAD_LEN = 1,    /* length 0/1 or running past the header: rest ignored */
  TCP_OPT_BAD_WSCALE = 2, /* above 14: clamped to 14 (RFC 7323 2.3) */
  TCP_OPT_BAD_MSS = 4,    /* 0: ignored, default MSS used */
  TCP_OPT_BAD_SIZE = 8,   /* known kind with the wrong size: ignored */
};

struct tcp_sack_block { uint32_t start, end; };

struct tcp_opts {
  uint8_t has, bad;
  uint8_t wscale;
  uint8_t nsack;
  uint16_t mss;
  uint32_t tsval, tsecr;
  struct tcp_sack_block sack[TCP_MAX_SACK];
};

struct tcp_seg {
  uint16_t sport, dport; /* host order */
  uint32_t seq, ack;
  uint8_t flags;
  uint16_t win;          /* raw, unscaled */
  uint16_t hlen;
  const uint8_t *data;
  uint32_t dlen;
  struct tcp_opts opt;
};

/* Parse a segment (header + payload, len bytes). Returns 0, or the counter
 * naming why it must be dropped (US_CNT_TCP_DROP_*). */
int tcp_parse(const uint8_t *p, size_t len, struct tcp_seg *seg);
/* Parse just the options area (exposed for tests and the fuzzer). */
void tcp_parse_opts(const uint8_t *p, size_t len, struct tcp_opts *o);

/* Options of a SYN / SYN-ACK, in Linux's order and packing:
 *   mss | sackOK,TS (or nop,nop,TS / nop,nop,sackOK) | nop,wscale.
 * wscale < 0: not sent. Returns the length written (multiple of 4, <= 40). */
size_t tcp_opts_syn(uint8_t *o, uint16_t mss, int wscale, int sack_ok, int ts,
                    uint32_t tsval, uint32_t tsecr);
/* Options of other segments: nop,nop,TS then nop,nop,SACK blocks (as many as
 * fit). Returns the length written. */
size_t tcp_opts_data(uint8_t *o, int ts, uint32_t tsval, uint32_t tsecr,
                     const struct tcp_sack_block *sack, unsigned nsack);

/* Write the fixed 20-byte header (checksum 0), hlen = 20 + options. */
void tcp_hdr_write(uint8_t *h, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                   uint8_t flags, uint16_t win, uint16_t hlen);

static inline uint16_t tcp_rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t tcp_rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void tcp_wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void tcp_wr32(uint8_t *p, uint32_t v) {
  p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

#endif
