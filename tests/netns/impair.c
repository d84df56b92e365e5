/* impair: a two-port impairment bridge for the test network.
 *
 *   impair IF_A IF_B [--seed N] [--delay-ms D] [--jitter-ms J]
 *                    [--reorder PCT] [--reorder-ms R] [--dup PCT] [--loss PCT]
 *
 * Every frame received on one interface is sent out of the other after a
 * delay; a seeded generator decides per frame whether to hold it back longer
 * (so later frames overtake it: reordering), to send it twice (duplication)
 * or to drop it. This kernel has no netem, so this is how TCP tests get delay,
 * reordering and duplication between two namespaces. Frames travel with their
 * virtio-net header (PACKET_VNET_HDR), so a Linux peer's GSO super-frames
 * cross whole and keep their offload state. Runs until SIGINT/SIGTERM, then
 * prints what it did on stderr. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX (65536 + 256)
#define VNET_LEN sizeof(struct virtio_net_hdr)
#define QUEUE_MAX 65536

struct opts {
  uint64_t seed;
  unsigned delay_ms, jitter_ms, reorder_pct, reorder_ms, dup_pct, loss_pct;
};

struct held {
  uint64_t due_us, seq;
  int out; /* port index */
  size_t len; /* vnet header + frame */
  uint8_t *data;
};

/* A min-heap on (due, seq): equal due times leave in arrival order. */
static struct held heap[QUEUE_MAX];
static size_t heap_n;
static uint64_t seq_next, rng;
static volatile sig_atomic_t stop;
static struct {
  uint64_t rx, tx, dropped, duplicated, reordered, overflow;
} stats;

static uint64_t rand64(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1Dull;
}
static int chance(unsigned pct) { return pct && rand64() % 100 < pct; }

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int before(const struct held *a, const struct held *b) {
  return a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq);
}

static void heap_push(struct held h) {
  size_t i = heap_n++;
  heap[i] = h;
  while (i && before(&heap[i], &heap[(i - 1) / 2])) {
    struct held t = heap[i];
    heap[i] = heap[(i - 1) / 2];
    heap[(i - 1) / 2] = t;
    i = (i - 1) / 2;
  }
}

static struct held heap_pop(void) {
  struct held top = heap[0];
  heap[0] = heap[--heap_n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_n && before(&heap[l], &heap[m])) m = l;
    if (r < heap_n && before(&heap[r], &heap[m])) m = r;
    if (m == i) break;
    struct held t = heap[i];
    heap[i] = heap[m];
    heap[m] = t;
    i = m;
  }
  return top;
}

static int open_port(const char *ifname) {
  unsigned idx = if_nametoindex(ifname);
  if (!idx) {
    fprintf(stderr, "impair: no interface named '%s'\n", ifname);
    return -1;
  }
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) {
    fprintf(stderr, "impair: packet socket on %s: %s\n", ifname, strerror(errno));
    return -1;
  }
  (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  int buf = 8 << 20;
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                            .sll_ifindex = (int)idx};
  struct packet_mreq mr = {.mr_ifindex = (int)idx, .mr_type = PACKET_MR_PROMISC};
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
    fprintf(stderr, "impair: bind %s: %s\n", ifname, strerror(errno));
    return -1;
  }
  return fd;
}

static void hold(const struct opts *o, int out, const uint8_t *data, size_t len, uint64_t now) {
  if (chance(o->loss_pct)) {
    stats.dropped++;
    return;
  }
  uint64_t delay = (uint64_t)o->delay_ms * 1000u;
  if (o->jitter_ms) delay += rand64() % ((uint64_t)o->jitter_ms * 1000u + 1);
  if (chance(o->reorder_pct)) {
    delay += (uint64_t)o->reorder_ms * 1000u;
    stats.reordered++;
  }
  int copies = chance(o->dup_pct) ? 2 : 1;
  stats.duplicated += (uint64_t)(copies - 1);
  for (int c = 0; c < copies; c++) {
    if (heap_n == QUEUE_MAX) {
      stats.overflow++;
      return;
    }
    uint8_t *d = malloc(len);
    if (!d) {
      stats.overflow++;
      return;
    }
    memcpy(d, data, len);
    heap_push((struct held){now + delay, seq_next++, out, len, d});
  }
}

static void receive(const struct opts *o, int fds[2], int port, uint8_t *buf) {
  for (;;) {
    ssize_t n = recv(fds[port], buf, FRAME_MAX + VNET_LEN, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) return;
    if ((size_t)n < VNET_LEN + ETH_HLEN || n > FRAME_MAX + (ssize_t)VNET_LEN) continue;
    stats.rx++;
    /* DATA_VALID describes our receive, not the next hop's: on the way out
     * only NEEDS_CSUM (checksum still to fill) means something. */
    ((struct virtio_net_hdr *)buf)->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
    hold(o, fds[1 - port], buf, (size_t)n, now_us());
  }
}

static void send_due(uint64_t now) {
  while (heap_n && heap[0].due_us <= now) {
    struct held h = heap_pop();
    if (send(h.out, h.data, h.len, 0) == (ssize_t)h.len) stats.tx++;
    else stats.dropped++;
    free(h.data);
  }
}

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static int parse_opts(int argc, char **argv, struct opts *o) {
  for (int i = 3; i < argc; i++) {
    const char *k = argv[i];
    if (i + 1 >= argc) return -1;
    unsigned long long v = strtoull(argv[++i], NULL, 0);
    if (!strcmp(k, "--seed")) o->seed = v;
    else if (!strcmp(k, "--delay-ms")) o->delay_ms = (unsigned)v;
    else if (!strcmp(k, "--jitter-ms")) o->jitter_ms = (unsigned)v;
    else if (!strcmp(k, "--reorder")) o->reorder_pct = (unsigned)v;
    else if (!strcmp(k, "--reorder-ms")) o->reorder_ms = (unsigned)v;
    else if (!strcmp(k, "--dup")) o->dup_pct = (unsigned)v;
    else if (!strcmp(k, "--loss")) o->loss_pct = (unsigned)v;
    else return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  struct opts o = {.seed = 1, .reorder_ms = 10};
  if (argc < 3 || parse_opts(argc, argv, &o) < 0) {
    fprintf(stderr, "usage: impair IF_A IF_B [--seed N] [--delay-ms D] [--jitter-ms J] "
                    "[--reorder PCT] [--reorder-ms R] [--dup PCT] [--loss PCT]\n");
    return 2;
  }
  rng = o.seed ? o.seed : 1;
  int fds[2] = {open_port(argv[1]), open_port(argv[2])};
  if (fds[0] < 0 || fds[1] < 0) return 1;
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  uint8_t *buf = malloc(FRAME_MAX + VNET_LEN);
  if (!buf) return 1;
  while (!stop) {
    uint64_t now = now_us();
    send_due(now);
    int timeout = -1;
    if (heap_n) timeout = (int)((heap[0].due_us - now + 999) / 1000);
    struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    if (poll(p, 2, timeout) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; i++)
      if (p[i].revents & POLLIN) receive(&o, fds, i, buf);
  }
  fprintf(stderr, "impair: rx %llu tx %llu dropped %llu duplicated %llu reordered %llu overflow %llu\n",
          (unsigned long long)stats.rx, (unsigned long long)stats.tx,
          (unsigned long long)stats.dropped, (unsigned long long)stats.duplicated,
          (unsigned long long)stats.reordered, (unsigned long long)stats.overflow);
  return 0;
}
