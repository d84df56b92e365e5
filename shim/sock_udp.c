/* Stack side of a program's UDP socket: datagrams framed on the channel
 * (shim/dgram.h) are sent with the stack's UDP; received datagrams and ICMP
 * errors go back framed. A full channel drops datagrams, as a full socket
 * receive buffer does. A message without the channel's key was not written
 * by the interposer: it is dropped and counted, never sent. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim/dgram.h"
#include "shim/sock.h"
#include "stack/stack.h"

static uint8_t dgram_buf[sizeof(struct us_dgram_hdr) + US_DGRAM_MAX + 1];

static void send_framed(struct us_sock *so, const struct us_dgram_hdr *h, const void *data,
                        size_t len) {
  if (so->chan < 0) return;
  struct iovec iov[2] = {{(void *)h, sizeof *h}, {(void *)data, len}};
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
  sendmsg(so->chan, &mh, MSG_DONTWAIT | MSG_NOSIGNAL); /* full: dropped */
}

static void on_datagram(void *user, struct udp_sock *u, uint32_t src_ip, uint16_t src_port,
                        const uint8_t *data, size_t len) {
  struct us_sock *so = user;
  struct us_dgram_hdr h = {.ip = htonl(src_ip), .port = htons(src_port)};
  send_framed(so, &h, data, len);
}

static void on_error(void *user, struct udp_sock *u, int err, uint32_t dst_ip,
                     uint16_t dst_port) {
  struct us_sock *so = user;
  /* Linux reports ICMP errors only on connected UDP sockets (without
   * IP_RECVERR): an unconnected socket would see others' failures. */
  if (!so->peer_ip) return;
  struct us_dgram_hdr h = {.ip = htonl(dst_ip), .port = htons(dst_port),
                           .flags = US_DGRAM_ERR, .err = err};
  send_framed(so, &h, 0, 0);
}

static const struct udp_sock_ops udp_ops = {on_datagram, on_error};

static void chan_ev(uv_poll_t *p, int status, int events) {
  struct us_sock *so = p->data;
  us_srv_tick(so->srv);
  for (int budget = 64; budget > 0 && so->chan >= 0; budget--) {
    ssize_t n = recv(so->chan, dgram_buf, sizeof dgram_buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n == 0 && !us_sock_hung_up(so)) { /* an empty message: never ours */
      us_count(us_srv_stack(so->srv), US_CNT_UDP_DROP_UNFRAMED);
      continue;
    }
    if (n <= 0) { /* every program copy closed */
      us_srv_sock_free(so);
      return;
    }
    struct us_dgram_hdr h = {0};
    if ((size_t)n >= sizeof h) memcpy(&h, dgram_buf, sizeof h);
    if ((size_t)n < sizeof h || h.key != so->dgram_key) {
      us_count(us_srv_stack(so->srv), US_CNT_UDP_DROP_UNFRAMED);
      continue;
    }
    size_t len = (size_t)n - sizeof h;
    ssize_t rc = us_udp_sendto(so->udp, ntohl(h.ip), ntohs(h.port), dgram_buf + sizeof h, len);
    if (rc < 0 && rc != -EAGAIN) {
      /* Reported on the next receive: the send itself already returned. */
      struct us_dgram_hdr e = {.ip = h.ip, .port = h.port, .flags = US_DGRAM_ERR,
                               .err = (int32_t)-rc};
      if (rc != -EHOSTUNREACH || so->peer_ip) send_framed(so, &e, 0, 0);
    }
  }
}

/* The channel's key: random, so that no payload written around the
 * interposer can carry it by chance; never 0 (0 = "unknown" in the
 * program's fd table). */
static uint64_t new_key(struct us_sock *so) {
  uint64_t k = 0;
  if (getrandom(&k, sizeof k, GRND_NONBLOCK) != (ssize_t)sizeof k) k = 0;
  while (!k) k = us_rand64(us_srv_stack(so->srv)) ^ (uint64_t)(uintptr_t)so;
  return k;
}

int sock_udp_open(struct us_sock *so) {
  so->dgram_key = new_key(so);
  so->udp = us_udp_open(us_srv_stack(so->srv), &udp_ops, so);
  if (!so->udp) return -ENOMEM;
  so->state = US_CTL_ST_NONE;
  us_sock_poll(so, UV_READABLE, chan_ev);
  return 0;
}

void sock_udp_destroy(struct us_sock *so) {
  if (so->udp) us_udp_close(so->udp);
  so->udp = 0;
}

void sock_udp_bind(struct us_sock *so, struct us_ctl_msg *m) {
  int rc = us_udp_bind(so->udp, ntohl(m->ip), ntohs(m->port));
  m->err = rc < 0 ? -rc : 0;
}

void sock_udp_connect(struct us_sock *so, struct us_ctl_msg *m) {
  uint32_t ip = m->b == 1 ? 0 : ntohl(m->ip);
  int rc = us_udp_connect(so->udp, ip, ntohs(m->port));
  if (rc < 0) {
    m->err = -rc;
    return;
  }
  so->peer_ip = ip;
  so->peer_port = ip ? ntohs(m->port) : 0;
  so->state = ip ? US_CTL_ST_CONNECTED : US_CTL_ST_NONE;
}

void sock_udp_getname(struct us_sock *so, struct us_ctl_msg *m) {
  if (m->a) {
    if (!so->peer_ip) {
      m->err = ENOTCONN;
      return;
    }
    m->ip = htonl(so->peer_ip);
    m->port = htons(so->peer_port);
    return;
  }
  uint32_t ip = 0;
  uint16_t port = 0;
  us_udp_local(so->udp, &ip, &port);
  m->ip = htonl(ip);
  m->port = htons(port);
}

void sock_udp_getopt(struct us_sock *so, struct us_ctl_msg *m) {
  int level = m->a, opt = m->b;
  m->a = 0;
  m->flags = 0;
  if (level == SOL_SOCKET) {
    switch (opt) {
    case SO_RCVBUF: case SO_SNDBUF: m->a = 212992; return;
    case SO_BROADCAST: m->a = so->broadcast; return;
    case SO_REUSEADDR: m->a = so->reuseaddr; return;
    default: return;
    }
  }
  if (level == IPPROTO_IP && opt == IP_TTL) {
    m->a = 64;
    return;
  }
  if (level == IPPROTO_IP || level == IPPROTO_UDP) return;
  m->err = ENOPROTOOPT;
}

void sock_udp_key(struct us_sock *so, struct us_ctl_msg *m) {
  us_ctl_set_data(m, &so->dgram_key, sizeof so->dgram_key);
}

void sock_udp_setopt(struct us_sock *so, struct us_ctl_msg *m) {
  int v = 0;
  if (m->len >= sizeof v) memcpy(&v, m->data, sizeof v);
  if (m->a == SOL_SOCKET && m->b == SO_BROADCAST) so->broadcast = v != 0;
  if (m->a == SOL_SOCKET && m->b == SO_REUSEADDR) so->reuseaddr = v != 0;
}
