/* TCP header/option parsing and emission (RFC 9293 3.1, RFC 7323, RFC 2018). */
#include "stack/tcp_wire.h"

#include <string.h>

enum { OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WS = 3, OPT_SACKOK = 4, OPT_SACK = 5,
       OPT_TS = 8 };

void tcp_parse_opts(const uint8_t *p, size_t len, struct tcp_opts *o) {
  memset(o, 0, sizeof(*o));
  size_t i = 0;
  while (i < len) {
    uint8_t kind = p[i];
    if (kind == OPT_EOL) break;
    if (kind == OPT_NOP) { i++; continue; }
    /* Every other option has a length byte that covers kind and length. */
    if (i + 1 >= len || p[i + 1] < 2 || i + p[i + 1] > len) {
      o->bad |= TCP_OPT_BAD_LEN;
      break; /* cannot find the next option: ignore the rest, as Linux does */
    }
    uint8_t olen = p[i + 1];
    const uint8_t *v = p + i + 2;
    switch (kind) {
    case OPT_MSS:
      if (olen != 4) { o->bad |= TCP_OPT_BAD_SIZE; break; }
      o->mss = tcp_rd16(v);
      if (o->mss == 0) o->bad |= TCP_OPT_BAD_MSS;
      else o->has |= TCP_OPT_F_MSS;
      break;
    case OPT_WS:
      if (olen != 3) { o->bad |= TCP_OPT_BAD_SIZE; break; }
      o->wscale = v[0];
      if (o->wscale > TCP_MAX_WSCALE) { o->wscale = TCP_MAX_WSCALE; o->bad |= TCP_OPT_BAD_WSCALE; }
      o->has |= TCP_OPT_F_WS;
      break;
    case OPT_SACKOK:
      if (olen != 2) { o->bad |= TCP_OPT_BAD_SIZE; break; }
      o->has |= TCP_OPT_F_SACKOK;
      break;
    case OPT_TS:
      if (olen != 10) { o->bad |= TCP_OPT_BAD_SIZE; break; }
      o->tsval = tcp_rd32(v);
      o->tsecr = tcp_rd32(v + 4);
      o->has |= TCP_OPT_F_TS;
      break;
    case OPT_SACK: {
      if (olen < 10 || (olen - 2) % 8) { o->bad |= TCP_OPT_BAD_SIZE; break; }
      unsigned n = (olen - 2) / 8;
      if (n > TCP_MAX_SACK) n = TCP_MAX_SACK;
      for (unsigned k = 0; k < n; k++) {
        o->sack[k].start = tcp_rd32(v + 8 * k);
        o->sack[k].end = tcp_rd32(v + 8 * k + 4);
      }
      o->nsack = (uint8_t)n;
      o->has |= TCP_OPT_F_SACK;
      break;
    }
    default:
      break; /* unknown options are skipped by their length */
    }
    i += olen;
  }
}

int tcp_parse(const uint8_t *p, size_t len, struct tcp_seg *seg) {
  if (len < TCP_HDR_LEN) return US_CNT_TCP_DROP_SHORT;
  size_t hlen = (size_t)(p[12] >> 4) * 4;
  if (hlen < TCP_HDR_LEN || hlen > len) return US_CNT_TCP_DROP_DOFF;
  seg->sport = tcp_rd16(p);
  seg->dport = tcp_rd16(p + 2);
  seg->seq = tcp_rd32(p + 4);
  seg->ack = tcp_rd32(p + 8);
  seg->flags = p[13];
  seg->win = tcp_rd16(p + 14);
  seg->hlen = (uint16_t)hlen;
  seg->data = p + hlen;
  seg->dlen = (uint32_t)(len - hlen);
  tcp_parse_opts(p + TCP_HDR_LEN, hlen - TCP_HDR_LEN, &seg->opt);
  return 0;
}

static uint8_t *put_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr) {
  o[0] = OPT_TS; o[1] = 10;
  tcp_wr32(o + 2, tsval);
  tcp_wr32(o + 6, tsecr);
  return o + 10;
}

size_t tcp_opts_syn(uint8_t *o, uint16_t mss, int wscale, int sack_ok, int ts,
                    uint32_t tsval, uint32_t tsecr) {
  uint8_t *q = o;
  q[0] = OPT_MSS; q[1] = 4; tcp_wr16(q + 2, mss); q += 4;
  if (ts && sack_ok) {
    q[0] = OPT_SACKOK; q[1] = 2; q += 2;
    q = put_ts(q, tsval, tsecr);
  } else if (ts) {
    q[0] = OPT_NOP; q[1] = OPT_NOP; q += 2;
    q = put_ts(q, tsval, tsecr);
  } else if (sack_ok) {
    q[0] = OPT_NOP; q[1] = OPT_NOP; q[2] = OPT_SACKOK; q[3] = 2; q += 4;
  }
  if (wscale >= 0) {
    q[0] = OPT_NOP; q[1] = OPT_WS; q[2] = 3; q[3] = (uint8_t)wscale; q += 4;
  }
  return (size_t)(q - o);
}

size_t tcp_opts_data(uint8_t *o, int ts, uint32_t tsval, uint32_t tsecr,
                     const struct tcp_sack_block *sack, unsigned nsack) {
  uint8_t *q = o;
  if (ts) {
    q[0] = OPT_NOP; q[1] = OPT_NOP; q += 2;
    q = put_ts(q, tsval, tsecr);
  }
  unsigned room = (unsigned)(TCP_MAX_OPT_LEN - (q - o) - 4) / 8;
  if (nsack > room) nsack = room;
  if (nsack > TCP_MAX_SACK) nsack = TCP_MAX_SACK;
  if (nsack) {
    q[0] = OPT_NOP; q[1] = OPT_NOP; q[2] = OPT_SACK; q[3] = (uint8_t)(2 + 8 * nsack); q += 4;
    for (unsigned k = 0; k < nsack; k++) {
      tcp_wr32(q, sack[k].start);
      tcp_wr32(q + 4, sack[k].end);
      q += 8;
    }
  }
  return (size_t)(q - o);
}

void tcp_hdr_write(uint8_t *h, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                   uint8_t flags, uint16_t win, uint16_t hlen) {
  tcp_wr16(h, sport);
  tcp_wr16(h + 2, dport);
  tcp_wr32(h + 4, seq);
  tcp_wr32(h + 8, ack);
  h[12] = (uint8_t)((hlen / 4) << 4);
  h[13] = flags;
  tcp_wr16(h + 14, win);
  tcp_wr16(h + 16, 0);
  tcp_wr16(h + 18, 0);
}
