/* netdev: the one small interface between the stack and whatever carries frames.
 *
 * A device sends frames (optionally one 64 KiB TCP unit that the device or the
 * kernel segments: GSO) and hands received frames to a callback in batches.
 * Three devices implement it: AF_PACKET (netdev_packet.c), the in-memory test
 * wire (netdev_memwire.c) and the pcap recorder that wraps any device
 * (netdev_pcap.c). */
#ifndef USTACK_NETDEV_H
#define USTACK_NETDEV_H

#include <stddef.h>
#include <stdint.h>

/* Per-frame metadata, both directions. */
enum {
  US_FRAME_CSUM_VALID = 1 << 0,   /* rx: L4 checksum checked by the kernel, or a
                                     local peer left it partial: trust it */
  US_FRAME_CSUM_PARTIAL = 1 << 1, /* tx: fill L4 checksum from csum_start/off */
};

struct us_frame_meta {
  uint32_t flags;
  uint16_t csum_start;  /* tx, CSUM_PARTIAL: offset from frame start */
  uint16_t csum_offset; /* tx, CSUM_PARTIAL: offset of the field from csum_start */
  uint16_t gso_size;    /* tx: TCP payload per wire segment, 0 = not GSO */
  uint16_t hdr_len;     /* tx, GSO: eth+ip+tcp header bytes */
};

enum {
  US_NETDEV_F_GSO_TCP4 = 1 << 0,   /* accepts frames above the MTU for TCP/IPv4 */
  US_NETDEV_F_CSUM_OFFLOAD = 1 << 1 /* accepts US_FRAME_CSUM_PARTIAL */
};

/* What the device itself lost, since it was opened. */
struct us_netdev_stats {
  uint64_t rx_dropped;   /* frames the kernel dropped before we read them (ring full) */
  uint64_t rx_truncated; /* frames larger than a receive slot */
  uint64_t tx_dropped;   /* frames the kernel refused or had no room for */
  uint64_t rx_own;       /* our own frames handed back to us, dropped */
  uint64_t rx_local;     /* frames another sender on this interface sent (not a drop) */
};

struct us_netdev;
typedef void (*us_netdev_rx_cb)(void *arg, const uint8_t *frame, size_t len,
                                const struct us_frame_meta *meta);

struct us_netdev_ops {
  /* Queue or send one frame. Returns 0, or a negative errno. */
  int (*xmit)(struct us_netdev *dev, const uint8_t *frame, size_t len,
              const struct us_frame_meta *meta);
  /* Push queued frames out (end of a loop turn). May be NULL. */
  void (*flush)(struct us_netdev *dev);
  /* Deliver up to max received frames to cb. Returns frames delivered. */
  int (*poll)(struct us_netdev *dev, us_netdev_rx_cb cb, void *arg, int max);
  /* File descriptor to watch for readability, or -1. */
  int (*fd)(struct us_netdev *dev);
  void (*close)(struct us_netdev *dev);
  /* Totals so far (may make a system call). May be NULL: nothing lost. */
  void (*stats)(struct us_netdev *dev, struct us_netdev_stats *st);
};

struct us_netdev {
  const struct us_netdev_ops *ops;
  uint8_t mac[6];
  uint16_t mtu;       /* IP MTU of the link */
  uint32_t features;  /* US_NETDEV_F_* */
};

static inline int us_netdev_xmit(struct us_netdev *d, const uint8_t *f, size_t n,
                                 const struct us_frame_meta *m) {
  return d->ops->xmit(d, f, n, m);
}
static inline void us_netdev_flush(struct us_netdev *d) {
  if (d->ops->flush) d->ops->flush(d);
}
static inline int us_netdev_poll(struct us_netdev *d, us_netdev_rx_cb cb, void *arg, int max) {
  return d->ops->poll(d, cb, arg, max);
}
static inline int us_netdev_fd(struct us_netdev *d) { return d->ops->fd ? d->ops->fd(d) : -1; }
static inline void us_netdev_stats(struct us_netdev *d, struct us_netdev_stats *st) {
  *st = (struct us_netdev_stats){0, 0, 0, 0, 0};
  if (d->ops->stats) d->ops->stats(d, st);
}
static inline void us_netdev_close(struct us_netdev *d) {
  if (d && d->ops->close) d->ops->close(d);
}

/* Devices. Each returns NULL and sets *err (negative errno) and a message in
 * errbuf (if given) on failure. */
/* ip (host byte order) is the stack's address: with it the device tells its
 * own frames from those of another stack sharing the interface (and its MAC). */
struct us_netdev *us_netdev_packet_open(const char *ifname, const uint8_t *mac_or_null,
                                        uint32_t ip, char *errbuf, size_t errlen);
struct us_netdev *us_netdev_pcap_wrap(struct us_netdev *inner, const char *path,
                                      char *errbuf, size_t errlen);

#endif
