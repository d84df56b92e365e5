/* AF_PACKET device: the stack owns one interface through a raw packet socket.
 *
 * PACKET_VNET_HDR puts a virtio-net header in front of every frame, which is
 * what lets us live with a Linux peer on a veth: received GRO/GSO
 * super-frames (tens of KB, checksum only partial) arrive whole together with
 * the kernel's checksum verdict, and we can send one 64 KiB TCP unit that the
 * kernel segments (GSO) with checksum offload.
 *
 * Receive: a TPACKET_V2 ring mapped into our memory, one 64 KiB+ slot per
 * frame, drained in batches without a system call per frame (measured on
 * veth: the fastest for bulk and for latency; TPACKET_V3 hands frames over by
 * block and adds a millisecond per round trip). If the kernel refuses the
 * ring, recvmmsg is the fallback (USTACK_PACKET_RING=0 forces it).
 * Send: xmit queues copies that flush() hands to one sendmmsg at the end of a
 * loop turn (PACKET_TX_RING was slower than sendmmsg on veth).
 *
 * Sharing the interface: a frame another socket sends on this interface (a
 * second ustack, the kernel) never crosses the wire back to us; AF_PACKET
 * hands it to every other packet socket as PACKET_OUTGOING. Those frames are
 * how two stacks on one interface see each other, as two hosts on a LAN do,
 * so they are received like any other, with the sender's checksum status (a
 * stack that left its checksums to offload sends them partial). A socket
 * filter drops, in the kernel, our own frames (the kernel can hand them back
 * when it segments GSO in software) and those for other hosts' MACs; our own
 * that get past it (no filter) are dropped here and counted (netdev_own.h). */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netdev/netdev.h"
#include "netdev/netdev_own.h"
#include "common/alloc.h" /* the stack's heap, not the program's */

#define PKT_VNET_LEN sizeof(struct virtio_net_hdr)
#define PKT_FRAME_MAX (65536 + 256) /* a 64 KiB GRO frame plus link headers */
#define PKT_BATCH 32                /* frames per recvmmsg / sendmmsg */
#define PKT_SOCKBUF (4 << 20)
/* RX ring geometry. A slot holds the tpacket2 header, the sockaddr_ll, the
 * virtio-net header and a 64 KiB GRO frame (90 bytes of headers before the
 * MAC header + 65549 of frame < 87376). 3 slots per 256 KiB block (a block is
 * one contiguous kernel allocation); 24 blocks = 72 slots, 6 MiB. */
#define PKT_RING_FRAME 87376u
#define PKT_RING_BLOCK (1u << 18)
#define PKT_RING_BLOCKS 24u
#define PKT_RING_PER_BLOCK (PKT_RING_BLOCK / PKT_RING_FRAME)

struct pkt_slot {
  struct virtio_net_hdr vh;
  uint8_t *buf; /* PKT_FRAME_MAX bytes */
};

struct pkt_dev {
  struct us_netdev base;
  int fd;
  int ifindex;
  struct pkt_slot rx[PKT_BATCH];
  struct pkt_slot tx[PKT_BATCH];
  uint32_t tx_len[PKT_BATCH];
  int tx_n;
  uint8_t *ring;       /* TPACKET_V2 RX ring, or NULL: recvmmsg */
  size_t ring_len;
  unsigned ring_slots, ring_head;
  uint32_t ip; /* the stack's address: to recognise our own frames */
  uint64_t rx_truncated, rx_own, rx_local, tx_dropped;
  uint64_t rx_dropped; /* the kernel's tp_drops, summed (reading resets them) */
};

#define ERRF(...) (errbuf ? (void)snprintf(errbuf, errlen, __VA_ARGS__) : (void)0)

static int pkt_fd(struct us_netdev *d) { return ((struct pkt_dev *)d)->fd; }

static void pkt_flush(struct us_netdev *d) {
  struct pkt_dev *p = (struct pkt_dev *)d;
  struct mmsghdr msgs[PKT_BATCH];
  struct iovec iov[PKT_BATCH][2];
  int done = 0;
  memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)p->tx_n);
  for (int i = 0; i < p->tx_n; i++) {
    iov[i][0] = (struct iovec){&p->tx[i].vh, PKT_VNET_LEN};
    iov[i][1] = (struct iovec){p->tx[i].buf, p->tx_len[i]};
    msgs[i].msg_hdr.msg_iov = iov[i];
    msgs[i].msg_hdr.msg_iovlen = 2;
  }
  while (done < p->tx_n) {
    int r = sendmmsg(p->fd, msgs + done, (unsigned)(p->tx_n - done), MSG_DONTWAIT);
    if (r > 0) {
      done += r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    /* Socket buffer full or the kernel refused this frame (bad GSO header):
     * drop it, as a NIC drops on a full queue, and carry on with the rest. */
    p->tx_dropped++;
    done++;
  }
  p->tx_n = 0;
}

static int pkt_xmit(struct us_netdev *d, const uint8_t *frame, size_t len,
                    const struct us_frame_meta *meta) {
  struct pkt_dev *p = (struct pkt_dev *)d;
  if (len < ETH_HLEN || len > PKT_FRAME_MAX) return -EMSGSIZE;
  int gso = meta && meta->gso_size;
  if (!gso && len > (size_t)d->mtu + ETH_HLEN + 4 /* VLAN tag */) return -EMSGSIZE;
  if (p->tx_n == PKT_BATCH) pkt_flush(d);
  struct pkt_slot *s = &p->tx[p->tx_n];
  memset(&s->vh, 0, sizeof s->vh);
  if (meta && (meta->flags & US_FRAME_CSUM_PARTIAL)) {
    s->vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    s->vh.csum_start = meta->csum_start;
    s->vh.csum_offset = meta->csum_offset;
  }
  if (gso) {
    s->vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    s->vh.gso_size = meta->gso_size;
    s->vh.hdr_len = meta->hdr_len;
  }
  memcpy(s->buf, frame, len);
  p->tx_len[p->tx_n++] = (uint32_t)len;
  return 0;
}

/* A frame another socket on the interface sent (PACKET_OUTGOING): ours
 * handed back (drop), or another sender's (receive). Counts either way. */
static int pkt_outgoing_is_own(struct pkt_dev *p, const uint8_t *frame, size_t len) {
  if (us_netdev_frame_is_own(frame, len, p->base.mac, p->ip)) {
    p->rx_own++;
    return 1;
  }
  p->rx_local++;
  return 0;
}

static int pkt_poll(struct us_netdev *d, us_netdev_rx_cb cb, void *arg, int max) {
  struct pkt_dev *p = (struct pkt_dev *)d;
  struct mmsghdr msgs[PKT_BATCH];
  struct iovec iov[PKT_BATCH][2];
  struct sockaddr_ll from[PKT_BATCH];
  int delivered = 0;
  while (delivered < max) {
    int want = max - delivered < PKT_BATCH ? max - delivered : PKT_BATCH;
    memset(msgs, 0, sizeof(struct mmsghdr) * (size_t)want);
    for (int i = 0; i < want; i++) {
      iov[i][0] = (struct iovec){&p->rx[i].vh, PKT_VNET_LEN};
      iov[i][1] = (struct iovec){p->rx[i].buf, PKT_FRAME_MAX};
      msgs[i].msg_hdr.msg_iov = iov[i];
      msgs[i].msg_hdr.msg_iovlen = 2;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int r = recvmmsg(p->fd, msgs, (unsigned)want, MSG_DONTWAIT, NULL);
    if (r <= 0) break;
    for (int i = 0; i < r; i++) {
      const struct msghdr *h = &msgs[i].msg_hdr;
      if ((h->msg_flags & MSG_TRUNC) || msgs[i].msg_len < PKT_VNET_LEN) {
        p->rx_truncated++;
        continue;
      }
      if (from[i].sll_pkttype == PACKET_OUTGOING &&
          pkt_outgoing_is_own(p, p->rx[i].buf, msgs[i].msg_len - PKT_VNET_LEN))
        continue;
      struct us_frame_meta meta = {0};
      /* DATA_VALID: the kernel verified the checksum. NEEDS_CSUM: a local peer
       * left it partial (GSO/veth) - the data never crossed a wire. */
      if (p->rx[i].vh.flags & (VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_NEEDS_CSUM))
        meta.flags |= US_FRAME_CSUM_VALID;
      cb(arg, p->rx[i].buf, msgs[i].msg_len - PKT_VNET_LEN, &meta);
      delivered++;
    }
    if (r < want) break;
  }
  return delivered;
}

/* The ring: slots the kernel has filled carry TP_STATUS_USER; we hand each to
 * the stack and give it back (TP_STATUS_KERNEL) in order. The status word is
 * the only thing shared with the kernel while a slot is ours: acquire on read,
 * release on hand-back. */
static int pkt_poll_ring(struct us_netdev *d, us_netdev_rx_cb cb, void *arg, int max) {
  struct pkt_dev *p = (struct pkt_dev *)d;
  int delivered = 0;
  while (delivered < max) {
    /* Slots never straddle blocks: a block may end in a few spare bytes. */
    uint8_t *slot = p->ring + (size_t)(p->ring_head / PKT_RING_PER_BLOCK) * PKT_RING_BLOCK +
                    (size_t)(p->ring_head % PKT_RING_PER_BLOCK) * PKT_RING_FRAME;
    struct tpacket2_hdr *h = (struct tpacket2_hdr *)slot;
    uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if (!(st & TP_STATUS_USER)) break;
    const struct sockaddr_ll *sll =
        (const struct sockaddr_ll *)(slot + TPACKET_ALIGN(sizeof(struct tpacket2_hdr)));
    if (h->tp_snaplen < h->tp_len || h->tp_mac < PKT_VNET_LEN ||
        (size_t)h->tp_mac + h->tp_snaplen > PKT_RING_FRAME) {
      p->rx_truncated++;
    } else if (sll->sll_pkttype == PACKET_OUTGOING &&
               pkt_outgoing_is_own(p, slot + h->tp_mac, h->tp_snaplen)) {
      /* dropped, counted */
    } else {
      const struct virtio_net_hdr *vh =
          (const struct virtio_net_hdr *)(slot + h->tp_mac - PKT_VNET_LEN);
      struct us_frame_meta meta = {0};
      /* Same verdict as the recvmmsg path; the ring also says it in tp_status. */
      if ((vh->flags & (VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_NEEDS_CSUM)) ||
          (st & (TP_STATUS_CSUMNOTREADY | TP_STATUS_CSUM_VALID)))
        meta.flags |= US_FRAME_CSUM_VALID;
      cb(arg, slot + h->tp_mac, h->tp_snaplen, &meta);
      delivered++;
    }
    __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    p->ring_head = p->ring_head + 1 == p->ring_slots ? 0 : p->ring_head + 1;
  }
  return delivered;
}

static void pkt_close(struct us_netdev *d) {
  struct pkt_dev *p = (struct pkt_dev *)d;
  if (p->ring) munmap(p->ring, p->ring_len);
  if (p->fd >= 0) close(p->fd);
  for (int i = 0; i < PKT_BATCH; i++) {
    us_free(p->rx[i].buf);
    us_free(p->tx[i].buf);
  }
  us_free(p);
}

/* PACKET_STATISTICS counts frames the kernel had no room for in our ring or
 * socket buffer: losses the stack never sees, which the peer's TCP then
 * repairs (out-of-order data, D-SACKs). */
static void pkt_stats(struct us_netdev *d, struct us_netdev_stats *st) {
  struct pkt_dev *p = (struct pkt_dev *)d;
  struct tpacket_stats ks;
  socklen_t len = sizeof ks;
  if (getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0) p->rx_dropped += ks.tp_drops;
  st->rx_dropped = p->rx_dropped;
  st->rx_truncated = p->rx_truncated;
  st->tx_dropped = p->tx_dropped;
  st->rx_own = p->rx_own;
  st->rx_local = p->rx_local;
}

static const struct us_netdev_ops pkt_ops = {
    .xmit = pkt_xmit, .flush = pkt_flush, .poll = pkt_poll, .fd = pkt_fd, .close = pkt_close,
    .stats = pkt_stats,
};
static const struct us_netdev_ops pkt_ring_ops = {
    .xmit = pkt_xmit, .flush = pkt_flush, .poll = pkt_poll_ring, .fd = pkt_fd, .close = pkt_close,
    .stats = pkt_stats,
};

static int set_int(int fd, int level, int opt, int v) {
  return setsockopt(fd, level, opt, &v, sizeof v);
}

/* Reads index, MAC and MTU of ifname; fills errbuf on failure. */
static int pkt_query_if(struct pkt_dev *p, const char *ifname, char *errbuf, size_t errlen) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (strlen(ifname) >= sizeof ifr.ifr_name || !*ifname) {
    ERRF("no interface named '%s' here (see `ip link`)", ifname);
    return -ENODEV;
  }
  strcpy(ifr.ifr_name, ifname);
  if (ioctl(p->fd, SIOCGIFINDEX, &ifr) < 0) {
    ERRF("no interface named '%s' here (see `ip link`)", ifname);
    return -ENODEV;
  }
  p->ifindex = ifr.ifr_ifindex;
  if (ioctl(p->fd, SIOCGIFHWADDR, &ifr) < 0 || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
    ERRF("interface '%s' is not an Ethernet interface", ifname);
    return -EINVAL;
  }
  memcpy(p->base.mac, ifr.ifr_hwaddr.sa_data, 6);
  if (ioctl(p->fd, SIOCGIFMTU, &ifr) < 0) {
    ERRF("cannot read the MTU of '%s': %s", ifname, strerror(errno));
    return -errno;
  }
  p->base.mtu = (uint16_t)(ifr.ifr_mtu > 65535 ? 65535 : ifr.ifr_mtu);
  if (ioctl(p->fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ERRF("interface '%s' is down: ip link set %s up", ifname, ifname);
    return -ENETDOWN;
  }
  return 0;
}

/* The TPACKET_V2 RX ring (after PACKET_VNET_HDR, before bind). Any refusal
 * leaves the socket as it was: recvmmsg then. */
static void pkt_ring_setup(struct pkt_dev *p) {
  const char *env = getenv("USTACK_PACKET_RING");
  if (env && env[0] == '0') return;
  if (set_int(p->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2) < 0) return;
  struct tpacket_req req = {
      .tp_block_size = PKT_RING_BLOCK,
      .tp_block_nr = PKT_RING_BLOCKS,
      .tp_frame_size = PKT_RING_FRAME,
      .tp_frame_nr = PKT_RING_PER_BLOCK * PKT_RING_BLOCKS,
  };
  if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) {
    (void)set_int(p->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V1);
    return;
  }
  size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
  void *ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, p->fd, 0);
  if (ring == MAP_FAILED) /* MAP_LOCKED needs RLIMIT_MEMLOCK: try without */
    ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
  if (ring == MAP_FAILED) {
    struct tpacket_req none = {0};
    (void)setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &none, sizeof none);
    (void)set_int(p->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V1);
    return;
  }
  p->ring = ring;
  p->ring_len = len;
  p->ring_slots = req.tp_frame_nr;
  p->ring_head = 0;
  p->base.ops = &pkt_ring_ops;
}

/* Socket options, then bind: the socket is opened with protocol 0 so that it
 * receives nothing until bind() names the interface and ETH_P_ALL. */
static int pkt_setup(struct pkt_dev *p, const char *ifname, int promisc, char *errbuf,
                     size_t errlen) {
  if (set_int(p->fd, SOL_PACKET, PACKET_VNET_HDR, 1) < 0) {
    ERRF("PACKET_VNET_HDR on '%s': %s", ifname, strerror(errno));
    return -errno;
  }
  /* No PACKET_IGNORE_OUTGOING: it would hide the other stacks on this
   * interface from us (see the top of this file). */
  pkt_ring_setup(p);
  if (set_int(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, PKT_SOCKBUF) < 0)
    (void)set_int(p->fd, SOL_SOCKET, SO_RCVBUF, PKT_SOCKBUF);
  if (set_int(p->fd, SOL_SOCKET, SO_SNDBUFFORCE, PKT_SOCKBUF) < 0)
    (void)set_int(p->fd, SOL_SOCKET, SO_SNDBUF, PKT_SOCKBUF);
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                            .sll_ifindex = p->ifindex};
  if (bind(p->fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    ERRF("cannot bind to '%s': %s", ifname, strerror(errno));
    return -errno;
  }
  if (promisc) {
    struct packet_mreq mr = {.mr_ifindex = p->ifindex, .mr_type = PACKET_MR_PROMISC};
    if (setsockopt(p->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
      ERRF("cannot put '%s' in promiscuous mode for --mac: %s", ifname, strerror(errno));
      return -errno;
    }
  }
  return 0;
}

/* The filter of netdev_own.h, once our MAC is known. Without it (refused),
 * poll still drops our own frames; only the cost is higher. */
static void pkt_attach_filter(struct pkt_dev *p) {
  struct sock_filter prog[US_NETDEV_OWN_FILTER_LEN];
  struct sock_fprog fp = {.len = (unsigned short)us_netdev_own_filter(prog, p->base.mac, p->ip),
                          .filter = prog};
  (void)setsockopt(p->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
}

struct us_netdev *us_netdev_packet_open(const char *ifname, const uint8_t *mac_or_null,
                                        uint32_t ip, char *errbuf, size_t errlen) {
  struct pkt_dev *p = us_calloc(1, sizeof *p);
  if (!p) {
    ERRF("out of memory");
    return NULL;
  }
  p->base.ops = &pkt_ops;
  p->ip = ip;
  p->base.features = US_NETDEV_F_GSO_TCP4 | US_NETDEV_F_CSUM_OFFLOAD;
  p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->fd < 0) {
    if (errno == EPERM || errno == EACCES)
      ERRF("opening '%s' needs CAP_NET_RAW: run ustack as root", ifname);
    else
      ERRF("cannot open a packet socket: %s", strerror(errno));
    us_free(p);
    return NULL;
  }
  for (int i = 0; i < PKT_BATCH; i++) {
    p->rx[i].buf = us_malloc(PKT_FRAME_MAX);
    p->tx[i].buf = us_malloc(PKT_FRAME_MAX);
    if (!p->rx[i].buf || !p->tx[i].buf) {
      ERRF("out of memory");
      pkt_close(&p->base);
      return NULL;
    }
  }
  if (pkt_query_if(p, ifname, errbuf, errlen) < 0 ||
      pkt_setup(p, ifname, mac_or_null != NULL, errbuf, errlen) < 0) {
    pkt_close(&p->base);
    return NULL;
  }
  if (mac_or_null) memcpy(p->base.mac, mac_or_null, 6);
  pkt_attach_filter(p);
  return &p->base;
}
