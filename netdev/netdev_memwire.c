/* In-memory test wire; see netdev_memwire.h. */
#include "netdev/netdev_memwire.h"
#include "common/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


#define MW_ETH_HLEN 14

struct mw_frame {
  us_time_t arrival;
  uint64_t seq; /* ties broken in sending order */
  struct us_frame_meta meta;
  size_t len;
  uint8_t data[];
};

struct mw_queue { /* binary min-heap on (arrival, seq) */
  struct mw_frame **v;
  size_t n, cap;
};

struct mw_end {
  struct us_netdev dev; /* first: the netdev pointer is the end */
  struct us_memwire *w;
  int side;
};

struct us_memwire {
  struct mw_end end[2];
  struct mw_queue q[2]; /* q[dir]: frames sent by end dir */
  struct us_memwire_faults faults[2];
  struct us_memwire_stats stats[2];
  us_memwire_filter_fn filter[2];
  void *filter_arg[2];
  us_memwire_tap_fn tap;
  void *tap_arg;
  us_time_t now;
  us_time_t link_free[2]; /* when the bottleneck finishes its backlog */
  uint64_t rng, seq;
};

static uint64_t mw_rand(struct us_memwire *w) { return us_xorshift64s(&w->rng); }

static double mw_unit(struct us_memwire *w) { return (double)(mw_rand(w) >> 11) * 0x1.0p-53; }
static int mw_chance(struct us_memwire *w, double p) { return p > 0 && mw_unit(w) < p; }

/* Complete a partial checksum (as the sender's device would) so that a
 * corrupted frame is caught by the receiver's check. */
static void mw_csum_finalize(uint8_t *f, size_t len, const struct us_frame_meta *m) {
  size_t start = m->csum_start, off = start + m->csum_offset;
  if (start > len || off + 2 > len) return;
  uint32_t sum = 0;
  for (size_t i = start; i + 1 < len; i += 2) sum += (uint32_t)(f[i] << 8 | f[i + 1]);
  if ((len - start) & 1) sum += (uint32_t)f[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = (uint16_t)~sum;
  if (!c) c = 0xffff;
  f[off] = (uint8_t)(c >> 8);
  f[off + 1] = (uint8_t)c;
}

static int mw_less(const struct mw_frame *a, const struct mw_frame *b) {
  return a->arrival < b->arrival || (a->arrival == b->arrival && a->seq < b->seq);
}

static int mw_push(struct mw_queue *q, struct mw_frame *f) {
  if (q->n == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 64;
    struct mw_frame **v = realloc(q->v, cap * sizeof(*v));
    if (!v) return -ENOMEM;
    q->v = v;
    q->cap = cap;
  }
  size_t i = q->n++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!mw_less(f, q->v[parent])) break;
    q->v[i] = q->v[parent];
    i = parent;
  }
  q->v[i] = f;
  return 0;
}

static struct mw_frame *mw_pop(struct mw_queue *q) {
  struct mw_frame *top = q->v[0], *last = q->v[--q->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= q->n) break;
    if (c + 1 < q->n && mw_less(q->v[c + 1], q->v[c])) c++;
    if (!mw_less(q->v[c], last)) break;
    q->v[i] = q->v[c];
    i = c;
  }
  if (q->n) q->v[i] = last;
  return top;
}

static int mw_enqueue(struct us_memwire *w, int dir, const uint8_t *frame, size_t len,
                      const struct us_frame_meta *meta, int corrupt) {
  const struct us_memwire_faults *fl = &w->faults[dir];
  struct us_memwire_stats *st = &w->stats[dir];
  struct mw_frame *f = malloc(sizeof(*f) + len);
  if (!f) return -ENOMEM;
  memcpy(f->data, frame, len);
  f->len = len;
  f->meta = (struct us_frame_meta){0};
  if (meta) {
    f->meta.gso_size = meta->gso_size;
    f->meta.hdr_len = meta->hdr_len;
  }
  int partial = meta && (meta->flags & US_FRAME_CSUM_PARTIAL);
  if (corrupt && len > MW_ETH_HLEN) {
    if (partial) mw_csum_finalize(f->data, len, meta);
    size_t at = MW_ETH_HLEN + (size_t)(mw_rand(w) % (len - MW_ETH_HLEN));
    f->data[at] ^= (uint8_t)(1u << (mw_rand(w) % 8));
    st->corrupted++;
  } else if (partial) {
    f->meta.flags = US_FRAME_CSUM_VALID; /* a local peer's partial checksum is trusted */
  }
  us_time_t start = w->now;
  if (fl->rate_bps) {
    if (w->link_free[dir] > start) start = w->link_free[dir];
    start += (us_time_t)((len * 8ull * 1000000ull + fl->rate_bps - 1) / fl->rate_bps);
    w->link_free[dir] = start;
  }
  f->arrival = start + fl->delay + (fl->jitter ? mw_rand(w) % fl->jitter : 0);
  if (mw_chance(w, fl->reorder)) {
    f->arrival += fl->reorder_delay ? fl->reorder_delay : US_MS(1);
    st->reordered++;
  }
  f->seq = w->seq++;
  if (mw_push(&w->q[dir], f) < 0) {
    free(f);
    return -ENOMEM;
  }
  return 0;
}

static int mw_xmit(struct us_netdev *dev, const uint8_t *frame, size_t len,
                   const struct us_frame_meta *meta) {
  struct mw_end *e = (struct mw_end *)dev;
  struct us_memwire *w = e->w;
  int dir = e->side;
  struct us_memwire_stats *st = &w->stats[dir];
  uint64_t index = st->sent++;
  if (w->tap) w->tap(w->tap_arg, dir, frame, len, meta, w->now);
  if (len > (size_t)MW_ETH_HLEN + dev->mtu &&
      !(meta && meta->gso_size && (dev->features & US_NETDEV_F_GSO_TCP4))) {
    st->oversize++;
    return -EMSGSIZE;
  }
  if (w->filter[dir] && w->filter[dir](w->filter_arg[dir], dir, index, frame, len, meta)) {
    st->filtered++;
    return 0;
  }
  const struct us_memwire_faults *fl = &w->faults[dir];
  if (fl->rate_bps && fl->queue_bytes && w->link_free[dir] > w->now &&
      (w->link_free[dir] - w->now) * fl->rate_bps / 8000000ull > fl->queue_bytes) {
    st->queue_drops++;
    return 0;
  }
  if (mw_chance(w, fl->loss)) {
    st->lost++;
    return 0;
  }
  int copies = 1;
  if (mw_chance(w, fl->dup)) {
    copies = 2;
    st->duplicated++;
  }
  for (int i = 0; i < copies; i++) {
    int rc = mw_enqueue(w, dir, frame, len, meta, mw_chance(w, fl->corrupt));
    if (rc < 0) return rc;
  }
  return 0;
}

static int mw_poll(struct us_netdev *dev, us_netdev_rx_cb cb, void *arg, int max) {
  struct mw_end *e = (struct mw_end *)dev;
  struct us_memwire *w = e->w;
  struct mw_queue *q = &w->q[1 - e->side];
  int n = 0;
  while (n < max && q->n && q->v[0]->arrival <= w->now) {
    struct mw_frame *f = mw_pop(q);
    w->stats[1 - e->side].delivered++;
    cb(arg, f->data, f->len, &f->meta);
    free(f);
    n++;
  }
  return n;
}

static int mw_fd(struct us_netdev *dev) { (void)dev; return -1; }
static void mw_close(struct us_netdev *dev) { (void)dev; /* owned by the wire */ }

static const struct us_netdev_ops mw_ops = {
    .xmit = mw_xmit, .flush = 0, .poll = mw_poll, .fd = mw_fd, .close = mw_close,
};

struct us_memwire *us_memwire_new(uint64_t seed) {
  struct us_memwire *w = calloc(1, sizeof(*w));
  if (!w) return 0;
  uint64_t z = seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  w->rng = (z ^ (z >> 31)) | 1;
  for (int i = 0; i < 2; i++) {
    struct mw_end *e = &w->end[i];
    e->dev.ops = &mw_ops;
    e->dev.mtu = 1500;
    static const uint8_t macs[2][6] = {{2, 0, 0, 0, 0, 0x0a}, {2, 0, 0, 0, 0, 0x01}};
    memcpy(e->dev.mac, macs[i], 6);
    e->w = w;
    e->side = i;
  }
  return w;
}

void us_memwire_free(struct us_memwire *w) {
  if (!w) return;
  for (int d = 0; d < 2; d++) {
    while (w->q[d].n) free(mw_pop(&w->q[d]));
    free(w->q[d].v);
  }
  free(w);
}

struct us_netdev *us_memwire_end(struct us_memwire *w, int side) { return &w->end[side & 1].dev; }

void us_memwire_set_mtu(struct us_memwire *w, uint16_t mtu) {
  w->end[0].dev.mtu = w->end[1].dev.mtu = mtu;
}

void us_memwire_set_features(struct us_memwire *w, int side, uint32_t features) {
  w->end[side & 1].dev.features = features;
}

void us_memwire_set_faults(struct us_memwire *w, int dir, const struct us_memwire_faults *f) {
  w->faults[dir & 1] = f ? *f : (struct us_memwire_faults){0};
}

void us_memwire_set_filter(struct us_memwire *w, int dir, us_memwire_filter_fn fn, void *arg) {
  w->filter[dir & 1] = fn;
  w->filter_arg[dir & 1] = arg;
}

void us_memwire_set_tap(struct us_memwire *w, us_memwire_tap_fn fn, void *arg) {
  w->tap = fn;
  w->tap_arg = arg;
}

void us_memwire_set_now(struct us_memwire *w, us_time_t now) { w->now = now; }

us_time_t us_memwire_next_arrival(const struct us_memwire *w, int side) {
  const struct mw_queue *q = &w->q[1 - (side & 1)];
  return q->n ? q->v[0]->arrival : US_TIME_NEVER;
}

size_t us_memwire_queued(const struct us_memwire *w, int side) { return w->q[1 - (side & 1)].n; }

const struct us_memwire_stats *us_memwire_stats(const struct us_memwire *w, int dir) {
  return &w->stats[dir & 1];
}
