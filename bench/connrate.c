/* connrate: short connections per second (open, one request, close).
 *
 *   connrate server ADDR PORT                   answer each connection's request
 *                                               with 1 byte, then close
 *   connrate client ADDR PORT SECONDS THREADS   each thread: connect, send 1 byte,
 *                                               read the answer and the FIN, close;
 *                                               prints "conn_per_s=N errors=E"
 *
 * The server closes first, as an HTTP/1.0 server does, so TIME_WAIT stays on
 * the server and the client's ephemeral ports are not the limit. The server
 * is one epoll loop: the same code on the kernel stack and under ustack. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in cr_addr;
static double cr_end;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int serve(void) {
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (struct sockaddr *)&cr_addr, sizeof cr_addr) < 0 || listen(ls, 1024) < 0) {
    perror("connrate server: bind/listen");
    return 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, evs[256];
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        int c;
        while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          ev = (struct epoll_event){.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
        continue;
      }
      char b[64];
      ssize_t r = read(fd, b, sizeof b);
      if (r < 0 && errno == EAGAIN) continue;
      if (r > 0 && write(fd, "a", 1) != 1) { /* the peer went away: close anyway */ }
      close(fd); /* also drops it from the epoll set */
    }
  }
}

static void *client_thread(void *arg) {
  uint64_t *count = arg; /* [0] = done, [1] = errors */
  while (now_s() < cr_end) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char b[8];
    if (fd < 0 || connect(fd, (struct sockaddr *)&cr_addr, sizeof cr_addr) < 0 ||
        write(fd, "q", 1) != 1 || read(fd, b, sizeof b) != 1 || read(fd, b, sizeof b) != 0) {
      count[1]++;
      if (count[1] == 1) perror("connrate client");
      if (fd >= 0) close(fd);
      if (count[1] > 1000) break;
      continue;
    }
    close(fd);
    count[0]++;
  }
  return NULL;
}

static int client(double seconds, int threads) {
  pthread_t th[64];
  uint64_t counts[64][2];
  memset(counts, 0, sizeof counts);
  if (threads < 1 || threads > 64) threads = 1;
  double start = now_s();
  cr_end = start + seconds;
  for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, client_thread, counts[i]);
  uint64_t done = 0, errors = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    done += counts[i][0];
    errors += counts[i][1];
  }
  double el = now_s() - start;
  printf("conn_per_s=%.0f errors=%llu n=%llu\n", (double)done / el, (unsigned long long)errors,
         (unsigned long long)done);
  return done ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc >= 4) {
    memset(&cr_addr, 0, sizeof cr_addr);
    cr_addr.sin_family = AF_INET;
    cr_addr.sin_port = htons((uint16_t)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &cr_addr.sin_addr) == 1) {
      if (!strcmp(argv[1], "server")) return serve();
      if (!strcmp(argv[1], "client") && argc == 6) return client(atof(argv[4]), atoi(argv[5]));
    }
  }
  fprintf(stderr, "usage: connrate server ADDR PORT | connrate client ADDR PORT SECONDS THREADS\n");
  return 2;
}
