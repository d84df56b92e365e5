/* SACK scoreboard for the sender (RFC 2018, RFC 6675): the ranges above
 * snd_una the receiver reported holding, kept as a short sorted list so
 * every question (sacked bytes, the next SACKed range) is a walk over at
 * most TCP_SB_MAX intervals. Which holes are lost is RACK's to say
 * (tcp_rack.c). */
#include <string.h>

#include "stack/tcp_conn.h"

void tcp_sb_clear(struct tcp_sb *sb) { sb->n = 0; sb->sacked = 0; }

static void sb_recount(struct tcp_sb *sb) {
  uint32_t t = 0;
  for (uint32_t i = 0; i < sb->n; i++) t += sb->iv[i].end - sb->iv[i].start;
  sb->sacked = t;
}

void tcp_sb_add(struct tcp_sb *sb, uint32_t start, uint32_t end) {
  if (!seq_lt(start, end)) return;
  uint32_t i = 0;
  while (i < sb->n && seq_lt(sb->iv[i].end, start)) i++;
  /* i: first interval that ends at or after start: merge all that touch. */
  uint32_t j = i;
  while (j < sb->n && seq_leq(sb->iv[j].start, end)) {
    start = seq_min(start, sb->iv[j].start);
    end = seq_max(end, sb->iv[j].end);
    j++;
  }
  if (j == i) {
    if (sb->n == TCP_SB_MAX) {
      if (i == sb->n) return; /* full: forget the highest new range */
      sb->n--;                /* drop the highest to keep the lower ones */
    }
    memmove(&sb->iv[i + 1], &sb->iv[i], (sb->n - i) * sizeof(sb->iv[0]));
    sb->n++;
  } else if (j > i + 1) {
    memmove(&sb->iv[i + 1], &sb->iv[j], (sb->n - j) * sizeof(sb->iv[0]));
    sb->n -= j - i - 1;
  }
  sb->iv[i].start = start;
  sb->iv[i].end = end;
  sb_recount(sb);
}

void tcp_sb_ack(struct tcp_sb *sb, uint32_t una) {
  uint32_t k = 0;
  while (k < sb->n && seq_leq(sb->iv[k].end, una)) k++;
  if (k) {
    memmove(&sb->iv[0], &sb->iv[k], (sb->n - k) * sizeof(sb->iv[0]));
    sb->n -= k;
  }
  if (sb->n && seq_lt(sb->iv[0].start, una)) sb->iv[0].start = una;
  sb_recount(sb);
}

uint32_t tcp_sb_sacked_below(const struct tcp_sb *sb, uint32_t seq) {
  uint32_t t = 0;
  for (uint32_t i = 0; i < sb->n && seq_lt(sb->iv[i].start, seq); i++)
    t += seq_min(sb->iv[i].end, seq) - sb->iv[i].start;
  return t;
}

const struct tcp_iv *tcp_sb_find(const struct tcp_sb *sb, uint32_t seq) {
  for (uint32_t i = 0; i < sb->n; i++) {
    if (seq_lt(seq, sb->iv[i].start)) return 0;
    if (seq_lt(seq, sb->iv[i].end)) return &sb->iv[i];
  }
  return 0;
}

uint32_t tcp_sb_next_start(const struct tcp_sb *sb, uint32_t seq) {
  for (uint32_t i = 0; i < sb->n; i++)
    if (seq_gt(sb->iv[i].start, seq)) return sb->iv[i].start;
  return seq; /* none: caller treats "== seq" as unbounded */
}
