/* sockcheck MODE ...: prints what socket calls return, one line each, so a
 * test can run it on ustack and on the Linux kernel and compare.
 *
 *   sockcheck errno ECHO_IP ECHO_PORT
 *       bad fds, lengths, NULL buffers, options and families: the errno of each
 *   sockcheck reset IP PORT
 *       the peer resets the connection: what read/recv/send report afterwards
 *   sockcheck readiness OPEN_IP OPEN_PORT CLOSED_PORT SILENT_IP
 *       non-blocking connect under poll, select, epoll (level and edge):
 *       writable only once the handshake is over; SO_ERROR says how
 *   sockcheck accept PORT
 *       a listening socket is readable (poll) only once a connection waits */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r) {
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: %ld\n", what, r);
}

static struct sockaddr_in addr(const char *ip, int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, ip, &sa.sin_addr);
  return sa;
}

static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int s) { (void)s; sigpipes++; }

static int mode_errno(const char *ip, int port) {
  int v = 1;
  socklen_t len = sizeof v;
  struct sockaddr_in sa = addr(ip, port);
  struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
  show("socket bad type", socket(AF_INET, 77, 0));
  show("socket bad protocol", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
  int t = socket(AF_INET, SOCK_STREAM, 0);
  show("bind NULL", bind(t, NULL, sizeof sa));
  show("bind short", bind(t, (struct sockaddr *)&sa, 3));
  show("bind v6 address on v4 socket", bind(t, (struct sockaddr *)&sa6, sizeof sa6));
  show("connect NULL", connect(t, NULL, sizeof sa));
  show("connect short", connect(t, (struct sockaddr *)&sa, 2));
  show("getsockopt SO_ERROR NULL value", getsockopt(t, SOL_SOCKET, SO_ERROR, NULL, &len));
  show("getsockopt TCP unknown", getsockopt(t, IPPROTO_TCP, 9999, &v, &len));
  show("setsockopt TCP_NODELAY short", setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, 2));
  show("setsockopt TCP_NODELAY", setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v));
  v = -1;
  len = sizeof v;
  getsockopt(t, IPPROTO_TCP, TCP_NODELAY, &v, &len);
  show("getsockopt TCP_NODELAY value", v != 0);
  len = sizeof v;
  getsockopt(t, SOL_SOCKET, SO_TYPE, &v, &len);
  show("getsockopt SO_TYPE", v);
  show("getsockname NULL", getsockname(t, NULL, &len));
  len = sizeof sa;
  struct sockaddr_in out;
  show("getpeername unconnected", getpeername(t, (struct sockaddr *)&out, &len));
  show("accept not listening", accept(t, NULL, NULL));
  show("shutdown bad how", shutdown(t, 7));
  show("shutdown unconnected", shutdown(t, SHUT_WR));
  show("send unconnected", send(t, "x", 1, MSG_NOSIGNAL));
  /* A fresh socket: Linux remembers a failed shutdown() on this one. */
  close(t);
  t = socket(AF_INET, SOCK_STREAM, 0);
  show("connect", connect(t, (struct sockaddr *)&sa, sizeof sa));
  show("connect again", connect(t, (struct sockaddr *)&sa, sizeof sa));
  show("send", send(t, "ping\n", 5, 0));
  char buf[16];
  show("recv", recv(t, buf, sizeof buf, 0));
  int n = -1;
  show("ioctl FIONREAD", ioctl(t, FIONREAD, &n));
  show("FIONREAD value", n);
  len = sizeof out;
  show("getpeername", getpeername(t, (struct sockaddr *)&out, &len));
  show("peer port", ntohs(out.sin_port));
  show("shutdown SHUT_WR", shutdown(t, SHUT_WR));
  show("recv after echo EOF", recv(t, buf, sizeof buf, 0));
  close(t);
  show("getsockopt closed fd", getsockopt(t, SOL_SOCKET, SO_ERROR, &v, &len));
  show("send closed fd", send(t, "x", 1, 0));
  show("close closed fd", close(t));
  /* A socket closed out of sight (fclose closes inside libc; a raw system
   * call) and its number reused by a pipe: the pipe must work as a pipe. */
  for (int how = 0; how < 2; how++) {
    int s2 = socket(AF_INET, SOCK_STREAM, 0);
    connect(s2, (struct sockaddr *)&sa, sizeof sa);
    if (how == 0) fclose(fdopen(s2, "r+"));
    else syscall(SYS_close, s2);
    int pp[2];
    show("pipe", pipe(pp));
    show("pipe reuses the socket's number", pp[0] == s2 || pp[1] == s2);
    show("write to the pipe", write(pp[1], "xy", 2));
    show("read from the pipe", read(pp[0], buf, sizeof buf));
    close(pp[0]);
    close(pp[1]);
  }
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  show("listen udp", listen(u, 5));
  show("send udp unconnected", send(u, "x", 1, 0));
  static char big[70000];
  show("sendto udp too big", sendto(u, big, sizeof big, 0, (struct sockaddr *)&sa, sizeof sa));
  show("getsockopt udp TCP_NODELAY", getsockopt(u, IPPROTO_TCP, TCP_NODELAY, &v, &len));
  close(u);
  return 0;
}

static int mode_reset(const char *ip, int port) {
  signal(SIGPIPE, on_sigpipe);
  struct sockaddr_in sa = addr(ip, port);
  int t = socket(AF_INET, SOCK_STREAM, 0);
  show("connect", connect(t, (struct sockaddr *)&sa, sizeof sa));
  struct pollfd p = {t, POLLIN, 0};
  show("poll readable (the reset)", poll(&p, 1, 10000));
  char buf[64];
  show("read", read(t, buf, sizeof buf));
  show("read again", read(t, buf, sizeof buf));
  show("send MSG_NOSIGNAL", send(t, "x", 1, MSG_NOSIGNAL));
  show("sigpipes", sigpipes);
  show("write", write(t, "x", 1));
  show("sigpipes", sigpipes);
  int v = -1;
  socklen_t len = sizeof v;
  getsockopt(t, SOL_SOCKET, SO_ERROR, &v, &len);
  show("SO_ERROR", v);
  close(t);
  return 0;
}

enum { M_POLL, M_SELECT, M_EPOLL_LT, M_EPOLL_ET };
static const char *mech_name[] = {"poll", "select", "epoll", "epoll-et"};

/* 1 if fd became writable within ms. */
static int wait_writable(int mech, int fd, int ms) {
  if (mech == M_POLL) {
    struct pollfd p = {fd, POLLOUT, 0};
    return poll(&p, 1, ms) == 1 && (p.revents & (POLLOUT | POLLERR | POLLHUP));
  }
  if (mech == M_SELECT) {
    fd_set w;
    FD_ZERO(&w);
    FD_SET(fd, &w);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return select(fd + 1, NULL, &w, NULL, &tv) == 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLOUT | (mech == M_EPOLL_ET ? EPOLLET : 0)};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  int r = epoll_wait(ep, &ev, 1, ms);
  close(ep);
  return r == 1;
}

static int nb_connect(const char *ip, int port) {
  int t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = addr(ip, port);
  int r = connect(t, (struct sockaddr *)&sa, sizeof sa);
  if (r == 0 || errno != EINPROGRESS) printf("connect %s:%d: unexpected %d %s\n", ip, port, r, strerrorname_np(errno));
  return t;
}

static int so_error(int fd) {
  int v = -1;
  socklen_t len = sizeof v;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len);
  return v;
}

static int mode_readiness(const char *ip, int open_port, int closed_port, const char *silent) {
  for (int m = 0; m < 4; m++) {
    const char *n = mech_name[m];
    int t = nb_connect(silent, 80);
    /* Nobody answers: the handshake cannot be over, so never writable. */
    printf("%s silent: %s\n", n, wait_writable(m, t, 300) ? "writable (wrong)" : "not writable");
    close(t);
    t = nb_connect(ip, open_port);
    int w = wait_writable(m, t, 10000);
    printf("%s open: %s, SO_ERROR %s\n", n, w ? "writable" : "not writable",
           strerrorname_np(so_error(t)) ? strerrorname_np(so_error(t)) : "0");
    if (m == M_EPOLL_ET) { /* the edge came once; the socket stays writable */
      struct pollfd p = {t, POLLOUT, 0};
      printf("%s open: still writable after: %d\n", n, poll(&p, 1, 0));
    }
    close(t);
    t = nb_connect(ip, closed_port);
    w = wait_writable(m, t, 10000);
    printf("%s refused: %s, SO_ERROR %s\n", n, w ? "writable" : "not writable",
           strerrorname_np(so_error(t)));
    close(t);
  }
  return 0;
}

static int mode_accept(int port) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  show("bind", bind(l, (struct sockaddr *)&sa, sizeof sa));
  show("listen", listen(l, 8));
  int acc = 0;
  socklen_t len = sizeof one;
  getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
  show("SO_ACCEPTCONN", acc);
  struct pollfd p = {l, POLLIN, 0};
  show("readable before any connection", poll(&p, 1, 0));
  fcntl(l, F_SETFL, O_NONBLOCK);
  show("accept with none waiting", accept(l, NULL, NULL));
  printf("ready\n");
  fflush(stdout);
  show("readable when one waits", poll(&p, 1, 20000));
  struct sockaddr_in peer;
  len = sizeof peer;
  int c = accept4(l, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
  show("accept4", c >= 0);
  show("accepted fd close-on-exec", (fcntl(c, F_GETFD) & FD_CLOEXEC) != 0);
  char ip[32];
  inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
  printf("peer %s\n", ip);
  show("send", send(c, "welcome\n", 8, 0));
  close(c);
  /* A listener shut for reading listens no more: accept is EINVAL. */
  show("shutdown listener", shutdown(l, SHUT_RD));
  show("accept after shutdown", accept(l, NULL, NULL));
  close(l);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 4 && !strcmp(argv[1], "errno")) return mode_errno(argv[2], atoi(argv[3]));
  if (argc == 4 && !strcmp(argv[1], "reset")) return mode_reset(argv[2], atoi(argv[3]));
  if (argc == 6 && !strcmp(argv[1], "readiness"))
    return mode_readiness(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
  if (argc == 3 && !strcmp(argv[1], "accept")) return mode_accept(atoi(argv[2]));
  fprintf(stderr, "usage: see the comment at the top of sockcheck.c\n");
  return 2;
}
