/* An outgoing packet being built back to front: each layer pushes its header
 * into the headroom in front of the payload. */
#ifndef USTACK_PKT_H
#define USTACK_PKT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "netdev/netdev.h"

#define US_PKT_HEADROOM 128 /* eth 14 + ip 60 + tcp 60, rounded */

struct us_pkt {
  uint8_t *head;  /* start of the buffer */
  uint8_t *data;  /* start of the current layer */
  uint32_t len;   /* bytes from data to the end */
  uint32_t cap;   /* bytes from head to the end of the buffer */
  struct us_frame_meta meta; /* csum_start is relative to data; push keeps it so */
};

static inline void us_pkt_init(struct us_pkt *p, uint8_t *buf, uint32_t cap, uint32_t headroom) {
  p->head = buf;
  p->data = buf + headroom;
  p->len = 0;
  p->cap = cap;
  p->meta = (struct us_frame_meta){0};
}

static inline uint8_t *us_pkt_push(struct us_pkt *p, uint32_t n) {
  assert((uint32_t)(p->data - p->head) >= n);
  p->data -= n;
  p->len += n;
  if (p->meta.flags & US_FRAME_CSUM_PARTIAL) p->meta.csum_start += n;
  if (p->meta.gso_size) p->meta.hdr_len += n;
  return p->data;
}

/* Room for payload after data+len. */
static inline uint8_t *us_pkt_put(struct us_pkt *p, uint32_t n) {
  uint8_t *t = p->data + p->len;
  assert((uint32_t)(t - p->head) + n <= p->cap);
  p->len += n;
  return t;
}

#endif
