/* The in-memory test wire: two netdev ends joined by two one-way queues, a
 * virtual clock, and seeded faults (loss, duplication, reordering, corruption,
 * delay and jitter) plus an exact per-direction drop filter.
 *
 * Frames sent at the wire's current time (us_memwire_set_now) are queued with
 * an arrival time; an end's poll delivers those due at the current time.
 * Direction 0 is A -> B (sent by end 0), direction 1 is B -> A.
 * Frames above the MTU pass only as GSO super-frames (gso_size set, sender
 * has US_NETDEV_F_GSO_TCP4), delivered whole as GRO does on a veth; a frame
 * left checksum-partial arrives with US_FRAME_CSUM_VALID (unless corrupted:
 * then its checksum is completed first, so the receiver can see the damage). */
#ifndef USTACK_NETDEV_MEMWIRE_H
#define USTACK_NETDEV_MEMWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/time.h"
#include "netdev/netdev.h"

#ifdef __cplusplus
extern "C" {
#endif

struct us_memwire;

struct us_memwire_faults {
  double loss, dup, reorder, corrupt; /* probabilities, 0..1 */
  us_time_t delay;                    /* one-way delay */
  us_time_t jitter;                   /* extra delay, uniform in [0, jitter) */
  us_time_t reorder_delay;            /* extra hold of a reordered frame (0: 1 ms) */
  /* A bottleneck: frames are serialized at rate_bps (0 = infinitely fast)
   * behind a drop-tail queue of queue_bytes (0 = unbounded). */
  uint64_t rate_bps;
  uint32_t queue_bytes;
};

struct us_memwire_stats {
  uint64_t sent, delivered, lost, duplicated, reordered, corrupted, filtered, oversize;
  uint64_t queue_drops; /* tail drops at the bottleneck */
};

/* Return nonzero to drop the frame. index counts frames sent in this
 * direction from 0 (before faults). */
typedef int (*us_memwire_filter_fn)(void *arg, int dir, uint64_t index, const uint8_t *frame,
                                    size_t len, const struct us_frame_meta *meta);
/* Sees every frame as sent, before filter and faults. */
typedef void (*us_memwire_tap_fn)(void *arg, int dir, const uint8_t *frame, size_t len,
                                  const struct us_frame_meta *meta, us_time_t now);

struct us_memwire *us_memwire_new(uint64_t seed);
void us_memwire_free(struct us_memwire *w); /* frees both ends too */
/* End 0 (A) or 1 (B). MACs default to 02:00:00:00:00:0a and 02:00:00:00:00:01. */
struct us_netdev *us_memwire_end(struct us_memwire *w, int side);
void us_memwire_set_mtu(struct us_memwire *w, uint16_t mtu); /* both ends; default 1500 */
void us_memwire_set_features(struct us_memwire *w, int side, uint32_t features);
void us_memwire_set_faults(struct us_memwire *w, int dir, const struct us_memwire_faults *f);
void us_memwire_set_filter(struct us_memwire *w, int dir, us_memwire_filter_fn fn, void *arg);
void us_memwire_set_tap(struct us_memwire *w, us_memwire_tap_fn fn, void *arg);
void us_memwire_set_now(struct us_memwire *w, us_time_t now);
/* Arrival time of the next frame toward end `side`; US_TIME_NEVER if none. */
us_time_t us_memwire_next_arrival(const struct us_memwire *w, int side);
size_t us_memwire_queued(const struct us_memwire *w, int side);
const struct us_memwire_stats *us_memwire_stats(const struct us_memwire *w, int dir);

#ifdef __cplusplus
}
#endif

#endif
