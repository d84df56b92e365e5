/* Out-of-order data (receive side). The bytes themselves sit in the receive
 * ring at their offset from the first unread byte, so memory is bounded by
 * the receive buffer; this list only remembers which ranges are held. */
#include <string.h>

#include "stack/tcp_conn.h"

int tcp_ooo_add(struct tcp_ooo *q, uint32_t start, uint32_t end) {
  if (!seq_lt(start, end)) return 0;
  uint32_t i = 0;
  while (i < q->n && seq_lt(q->iv[i].end, start)) i++;
  uint32_t j = i;
  while (j < q->n && seq_leq(q->iv[j].start, end)) {
    start = seq_min(start, q->iv[j].start);
    end = seq_max(end, q->iv[j].end);
    j++;
  }
  if (j == i) {
    if (q->n == TCP_OOO_MAX) return -1;
    memmove(&q->iv[i + 1], &q->iv[i], (q->n - i) * sizeof(q->iv[0]));
    q->n++;
  } else if (j > i + 1) {
    memmove(&q->iv[i + 1], &q->iv[j], (q->n - j) * sizeof(q->iv[0]));
    q->n -= j - i - 1;
  }
  q->iv[i].start = start;
  q->iv[i].end = end;
  q->last = q->iv[i];
  q->has_last = 1;
  return 0;
}

uint32_t tcp_ooo_advance(struct tcp_ooo *q, uint32_t nxt) {
  uint32_t k = 0;
  while (k < q->n && seq_leq(q->iv[k].start, nxt)) {
    nxt = seq_max(nxt, q->iv[k].end);
    k++;
  }
  if (k) {
    memmove(&q->iv[0], &q->iv[k], (q->n - k) * sizeof(q->iv[0]));
    q->n -= k;
  }
  if (q->has_last && seq_leq(q->last.end, nxt)) q->has_last = 0;
  return nxt;
}

/* SACK blocks: the most recently changed range first (RFC 2018 4), then the
 * others from the lowest. */
unsigned tcp_ooo_sack(const struct tcp_ooo *q, struct tcp_sack_block *out, unsigned max) {
  unsigned n = 0;
  struct tcp_iv first = {0, 0};
  int has_first = 0;
  if (q->has_last && max) {
    for (uint32_t i = 0; i < q->n; i++)
      if (seq_leq(q->iv[i].start, q->last.start) && seq_geq(q->iv[i].end, q->last.end)) {
        first = q->iv[i];
        has_first = 1;
        break;
      }
  }
  if (has_first) { out[n].start = first.start; out[n].end = first.end; n++; }
  for (uint32_t i = 0; i < q->n && n < max; i++) {
    if (has_first && q->iv[i].start == first.start) continue;
    out[n].start = q->iv[i].start;
    out[n].end = q->iv[i].end;
    n++;
  }
  return n;
}
