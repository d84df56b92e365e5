/* idle: many concurrent idle connections (the stack's memory per connection).
 *
 *   idle server ADDR PORT            accept and hold every connection (epoll)
 *   idle client ADDR PORT N GOFILE   open 1 connection, print "warm", wait for
 *                                    GOFILE to exist; open N-1 more, print
 *                                    "open n=N secs=S"; wait for GOFILE.end
 *
 * The bench reads the stack host's RSS at "warm" and after "open": the
 * difference over N is what the stack keeps per connection. The files are the
 * handshake with the bench script so that no signal has to find its way
 * through the launcher. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in id_addr;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fd_limit_max(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int serve(void) {
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (struct sockaddr *)&id_addr, sizeof id_addr) < 0 || listen(ls, 4096) < 0) {
    perror("idle server: bind/listen");
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
      char b[256];
      ssize_t r = read(fd, b, sizeof b);
      if (r == 0 || (r < 0 && errno != EAGAIN)) close(fd);
    }
  }
}

static void wait_file(const char *path) {
  struct stat st;
  while (stat(path, &st) != 0) usleep(10000);
}

static int open_one(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&id_addr, sizeof id_addr) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

static int client(long n, const char *go) {
  if (open_one() < 0) {
    perror("idle client: first connect");
    return 1;
  }
  printf("warm\n");
  fflush(stdout);
  wait_file(go);
  double t0 = now_s();
  long opened = 1;
  for (; opened < n; opened++)
    if (open_one() < 0) {
      perror("idle client: connect");
      break;
    }
  printf("open n=%ld secs=%.3f\n", opened, now_s() - t0);
  fflush(stdout);
  char end[4096];
  snprintf(end, sizeof end, "%s.end", go);
  wait_file(end);
  return opened == n ? 0 : 1;
}

int main(int argc, char **argv) {
  fd_limit_max();
  if (argc >= 4) {
    memset(&id_addr, 0, sizeof id_addr);
    id_addr.sin_family = AF_INET;
    id_addr.sin_port = htons((uint16_t)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &id_addr.sin_addr) == 1) {
      if (!strcmp(argv[1], "server")) return serve();
      if (!strcmp(argv[1], "client") && argc == 6) return client(atol(argv[4]), argv[5]);
    }
  }
  fprintf(stderr, "usage: idle server ADDR PORT | idle client ADDR PORT N GOFILE\n");
  return 2;
}
