/* pcap recorder: wraps any device and writes every frame sent and received to
 * a classic pcap file (LINKTYPE_ETHERNET, microsecond timestamps) that
 * tcpdump -r and tshark -r read. A GSO super-frame is recorded as the one
 * frame the stack handed down, as tcpdump shows it on a veth; a frame sent
 * with checksum offload shows the partial checksum it carried. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "netdev/netdev.h"
#include "common/alloc.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_SNAPLEN 262144u
#define PCAP_LINKTYPE_ETHERNET 1u

struct pcap_dev {
  struct us_netdev base;
  struct us_netdev *inner;
  FILE *f;
  int failed; /* a write failed once: stop writing, keep the traffic flowing */
  /* The caller's rx callback while inner->poll runs. */
  us_netdev_rx_cb user_cb;
  void *user_arg;
};

#define ERRF(...) (errbuf ? (void)snprintf(errbuf, errlen, __VA_ARGS__) : (void)0)

/* The file is written in this machine's byte order: the magic number tells
 * readers which one it is. */
static int pcap_write_header(FILE *f) {
  struct {
    uint32_t magic;
    uint16_t major, minor;
    int32_t thiszone;
    uint32_t sigfigs, snaplen, linktype;
  } h = {PCAP_MAGIC_USEC, 2, 4, 0, 0, PCAP_SNAPLEN, PCAP_LINKTYPE_ETHERNET};
  return fwrite(&h, sizeof h, 1, f) == 1 ? 0 : -1;
}

static void pcap_record(struct pcap_dev *p, const uint8_t *frame, size_t len) {
  if (p->failed) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint32_t caplen = len > PCAP_SNAPLEN ? PCAP_SNAPLEN : (uint32_t)len;
  uint32_t rec[4] = {(uint32_t)ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000), caplen, (uint32_t)len};
  if (fwrite(rec, sizeof rec, 1, p->f) != 1 || fwrite(frame, 1, caplen, p->f) != caplen)
    p->failed = 1;
}

static int pcap_xmit(struct us_netdev *d, const uint8_t *frame, size_t len,
                     const struct us_frame_meta *meta) {
  struct pcap_dev *p = (struct pcap_dev *)d;
  int r = us_netdev_xmit(p->inner, frame, len, meta);
  if (r == 0) pcap_record(p, frame, len); /* what went out, not what was refused */
  return r;
}

static void pcap_flush(struct us_netdev *d) {
  struct pcap_dev *p = (struct pcap_dev *)d;
  us_netdev_flush(p->inner);
  /* Once per loop turn: the file is complete up to the last turn even if the
   * process is killed. */
  if (!p->failed && fflush(p->f) != 0) p->failed = 1;
}

static void pcap_rx(void *arg, const uint8_t *frame, size_t len, const struct us_frame_meta *m) {
  struct pcap_dev *p = arg;
  pcap_record(p, frame, len);
  p->user_cb(p->user_arg, frame, len, m);
}

static int pcap_poll(struct us_netdev *d, us_netdev_rx_cb cb, void *arg, int max) {
  struct pcap_dev *p = (struct pcap_dev *)d;
  p->user_cb = cb;
  p->user_arg = arg;
  return us_netdev_poll(p->inner, pcap_rx, p, max);
}

static int pcap_fd(struct us_netdev *d) { return us_netdev_fd(((struct pcap_dev *)d)->inner); }

static void pcap_close(struct us_netdev *d) {
  struct pcap_dev *p = (struct pcap_dev *)d;
  us_netdev_close(p->inner);
  fclose(p->f);
  us_free(p);
}

static void pcap_stats(struct us_netdev *d, struct us_netdev_stats *st) {
  us_netdev_stats(((struct pcap_dev *)d)->inner, st);
}

static const struct us_netdev_ops pcap_ops = {
    .xmit = pcap_xmit, .flush = pcap_flush, .poll = pcap_poll, .fd = pcap_fd, .close = pcap_close,
    .stats = pcap_stats,
};

struct us_netdev *us_netdev_pcap_wrap(struct us_netdev *inner, const char *path, char *errbuf,
                                      size_t errlen) {
  FILE *f = fopen(path, "wbe");
  if (!f) {
    ERRF("cannot write the pcap file '%s': %s", path, strerror(errno));
    return NULL;
  }
  struct pcap_dev *p = us_calloc(1, sizeof *p);
  if (!p || pcap_write_header(f) < 0 || fflush(f) != 0) {
    ERRF("cannot write the pcap file '%s': %s", path, p ? strerror(errno) : "out of memory");
    fclose(f);
    us_free(p);
    return NULL;
  }
  p->base.ops = &pcap_ops;
  memcpy(p->base.mac, inner->mac, 6);
  p->base.mtu = inner->mtu;
  p->base.features = inner->features;
  p->inner = inner;
  p->f = f;
  return &p->base;
}
