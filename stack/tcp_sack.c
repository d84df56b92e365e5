/* SACK scoreboard for the sender (RFC 2018, RFC 6675): the ranges above
 * snd_una the receiver reported holding, kept as a short sorted list so
 * every question (sacked bytes, lost holes, next hole to resend) is a walk
 * over at most TCP_SB_MAX intervals. */
#include <string.h>

#include "stack/tcp_conn.h"

#define DUPTHRESH 3

void tcp_sb_clear(struct tcp_sb *sb) { sb->n = 0; sb->sacked = 0; sb->has_lost_end = 0; }

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
  if (sb->has_lost_end && seq_leq(sb->lost_end, una)) sb->has_lost_end = 0;
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

/* The i-th hole below the highest SACKed byte is [hs, he) =
 * [end of interval i-1 (or una), start of interval i). It is lost when more
 * than (DupThresh-1)*mss bytes above it are SACKed (RFC 6675 IsLost), or
 * when it lies below lost_end (a tail loss probe came back SACKed: what was
 * sent before it and is still missing is lost, as RACK judges, RFC 8985). */
static int sb_hole(const struct tcp_sb *sb, uint32_t i, uint32_t una, uint32_t mss,
                   uint32_t *below, uint32_t *hs, uint32_t *he) {
  *hs = i ? sb->iv[i - 1].end : una;
  *he = sb->iv[i].start;
  uint32_t thresh = sb->dupthresh ? sb->dupthresh : DUPTHRESH;
  int lost = seq_lt(*hs, *he) && (sb->sacked - *below > (thresh - 1) * mss ||
                                   (sb->has_lost_end && seq_lt(*hs, sb->lost_end)));
  *below += sb->iv[i].end - sb->iv[i].start;
  return lost;
}

uint32_t tcp_sb_lost_from(const struct tcp_sb *sb, uint32_t una, uint32_t from, uint32_t mss) {
  uint32_t lost = 0, below = 0, hs, he;
  for (uint32_t i = 0; i < sb->n; i++) {
    if (!sb_hole(sb, i, una, mss, &below, &hs, &he)) continue;
    uint32_t s = seq_max(hs, from);
    if (seq_lt(s, he)) lost += he - s;
  }
  return lost;
}

int tcp_sb_next_lost(const struct tcp_sb *sb, uint32_t una, uint32_t from, uint32_t mss,
                     uint32_t *start, uint32_t *end) {
  uint32_t below = 0, hs, he;
  for (uint32_t i = 0; i < sb->n; i++) {
    if (!sb_hole(sb, i, una, mss, &below, &hs, &he)) continue;
    uint32_t s = seq_max(hs, from);
    if (seq_lt(s, he)) { *start = s; *end = he; return 1; }
  }
  return 0;
}
