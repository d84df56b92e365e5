/* rr: 1-byte ping-pong over one TCP connection (request/response latency).
 *
 *   rr server ADDR PORT            echo every byte back, one connection at a time
 *   rr client ADDR PORT SECONDS    send 1 byte, wait for it, repeat; prints
 *                                  "rr_per_s=N p50_us=X p99_us=Y"
 *
 * Both ends set TCP_NODELAY: a round trip is one segment each way. Plain
 * blocking calls, no library: the same binary runs on the kernel stack and
 * under ustack, so the difference is the stack. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RR_HIST_US 100000 /* latency histogram: 1 us buckets up to 100 ms */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int addr_of(const char *ip, const char *port, struct sockaddr_in *sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)atoi(port));
  return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int serve(const struct sockaddr_in *sa) {
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (const struct sockaddr *)sa, sizeof *sa) < 0 || listen(ls, 16) < 0) {
    perror("rr server: bind/listen");
    return 1;
  }
  for (;;) {
    int c = accept(ls, NULL, NULL);
    if (c < 0) continue;
    nodelay(c);
    char b[64];
    ssize_t n;
    while ((n = read(c, b, sizeof b)) > 0)
      if (write(c, b, (size_t)n) != n) break;
    close(c);
  }
}

/* The p-th percentile (0..1) of the histogram, in microseconds. */
static unsigned pct(const uint32_t *hist, uint64_t total, double p) {
  uint64_t want = (uint64_t)((double)total * p), seen = 0;
  for (unsigned i = 0; i <= RR_HIST_US; i++) {
    seen += hist[i];
    if (seen > want) return i;
  }
  return RR_HIST_US;
}

static int client(const struct sockaddr_in *sa, double seconds) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) < 0) {
    perror("rr client: connect");
    return 1;
  }
  nodelay(fd);
  uint32_t *hist = calloc(RR_HIST_US + 1, sizeof *hist);
  uint64_t n = 0;
  char b = 'x';
  double start = now_s(), end = start + seconds, t = start;
  while (t < end) {
    if (write(fd, &b, 1) != 1 || read(fd, &b, 1) != 1) {
      perror("rr client: round trip");
      return 1;
    }
    double t2 = now_s();
    double us = (t2 - t) * 1e6;
    hist[us >= RR_HIST_US ? RR_HIST_US : (unsigned)us]++;
    n++;
    t = t2;
  }
  close(fd);
  printf("rr_per_s=%.0f p50_us=%u p99_us=%u n=%llu\n", (double)n / (t - start), pct(hist, n, 0.5),
         pct(hist, n, 0.99), (unsigned long long)n);
  free(hist);
  return 0;
}

int main(int argc, char **argv) {
  struct sockaddr_in sa;
  if (argc >= 4 && addr_of(argv[2], argv[3], &sa) == 0) {
    if (!strcmp(argv[1], "server")) return serve(&sa);
    if (!strcmp(argv[1], "client") && argc == 5) return client(&sa, atof(argv[4]));
  }
  fprintf(stderr, "usage: rr server ADDR PORT | rr client ADDR PORT SECONDS\n");
  return 2;
}
