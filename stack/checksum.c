/* The Internet checksum (RFC 1071). Sums are kept as 32-bit accumulators of
 * big-endian 16-bit words; the data loop adds native 32-bit words into 64
 * bits and byte-swaps the folded result, which RFC 1071 shows is the same. */
#include <string.h>

#include "stack/byteorder.h"
#include "stack/ipv4_wire.h"
#include "stack/stack.h"

static uint32_t csum_fold16(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint32_t)sum;
}

uint32_t us_csum_add(uint32_t sum, const void *data, size_t len) {
  const uint8_t *p = data;
  uint64_t acc = 0;
  while (len >= 8) {
    uint32_t a, b;
    memcpy(&a, p, 4);
    memcpy(&b, p + 4, 4);
    acc += (uint64_t)a + b;
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    uint32_t a;
    memcpy(&a, p, 4);
    acc += a;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t a;
    memcpy(&a, p, 2);
    acc += a;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint16_t a = 0;
    memcpy(&a, p, 1); /* odd byte is the high half of a big-endian word */
    acc += a;
  }
  uint32_t folded = csum_fold16(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  folded = (uint16_t)((folded >> 8) | (folded << 8));
#endif
  return csum_fold16((uint64_t)sum + folded);
}

uint16_t us_csum_fold(uint32_t sum) { return (uint16_t)~csum_fold16(sum); }

uint32_t us_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len) {
  uint64_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto +
                 (len >> 16) + (len & 0xffff);
  return csum_fold16(sum);
}

void us_l4_csum(struct us_stack *s, struct us_pkt *pkt, uint32_t src, uint32_t dst,
                uint8_t proto, uint16_t field_off) {
  uint8_t *field = pkt->data + field_off;
  uint32_t pseudo = us_csum_pseudo(src, dst, proto, pkt->len);
  if (s->dev && (s->dev->features & US_NETDEV_F_CSUM_OFFLOAD)) {
    /* Like CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum,
     * the device adds the rest and complements. */
    us_wr16(field, (uint16_t)csum_fold16(pseudo));
    pkt->meta.flags |= US_FRAME_CSUM_PARTIAL;
    pkt->meta.csum_start = 0;
    pkt->meta.csum_offset = field_off;
    return;
  }
  us_wr16(field, 0);
  uint16_t c = us_csum_fold(us_csum_add(pseudo, pkt->data, pkt->len));
  if (proto == IPPROTO_UDP_ && c == 0) c = 0xffff; /* 0 means "no checksum" */
  us_wr16(field, c);
  pkt->meta.flags &= ~(uint32_t)US_FRAME_CSUM_PARTIAL;
}

void us_csum_finalize(uint8_t *frame, size_t len, const struct us_frame_meta *meta) {
  if (!(meta->flags & US_FRAME_CSUM_PARTIAL)) return;
  size_t start = meta->csum_start, off = start + meta->csum_offset;
  if (start > len || off + 2 > len) return;
  /* The field holds the pseudo-header sum: summing over it includes it. */
  uint16_t c = us_csum_fold(us_csum_add(0, frame + start, len - start));
  if (c == 0) c = 0xffff; /* harmless for TCP, required for UDP */
  us_wr16(frame + off, c);
}
