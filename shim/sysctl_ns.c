/* Reading /proc/sys/net/ipv4 for the stack (sysctl_ns.h). */
#include "shim/sysctl_ns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"

enum kind { K_U8, K_U32, K_TRIPLE, K_RANGE };

struct file_spec {
  const char *path; /* under root */
  enum kind kind;
  size_t off;       /* of the field in struct us_tcp_sysctls */
};

#define F(p, k, field) {p, k, offsetof(struct us_tcp_sysctls, field)}
static const struct file_spec files[] = {
    F("net/ipv4/tcp_rmem", K_TRIPLE, rmem),
    F("net/ipv4/tcp_wmem", K_TRIPLE, wmem),
    F("net/core/rmem_max", K_U32, core_rmem_max),
    F("net/ipv4/tcp_window_scaling", K_U8, window_scaling),
    F("net/ipv4/tcp_timestamps", K_U8, timestamps),
    F("net/ipv4/tcp_sack", K_U8, sack),
    F("net/ipv4/tcp_ecn", K_U8, ecn),
    F("net/ipv4/tcp_syn_retries", K_U8, syn_retries),
    F("net/ipv4/tcp_synack_retries", K_U8, synack_retries),
    F("net/ipv4/tcp_retries2", K_U8, retries2),
    F("net/ipv4/tcp_recovery", K_U8, recovery),
    F("net/ipv4/tcp_fin_timeout", K_U32, fin_timeout),
    F("net/ipv4/tcp_keepalive_time", K_U32, keepalive_time),
    F("net/ipv4/tcp_keepalive_intvl", K_U32, keepalive_intvl),
    F("net/ipv4/tcp_keepalive_probes", K_U32, keepalive_probes),
    F("net/ipv4/ip_local_port_range", K_RANGE, port_lo),
};
#undef F
#define NFILES (sizeof files / sizeof files[0])

struct us_sysctl_ns {
  int fd[NFILES];
  us_time_t last;
  int read_once;
};

struct us_sysctl_ns *us_sysctl_ns_open(const char *root) {
  struct us_sysctl_ns *n = us_calloc(1, sizeof *n);
  if (!n) return 0;
  for (size_t i = 0; i < NFILES; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, files[i].path);
    n->fd[i] = open(path, O_RDONLY | O_CLOEXEC);
  }
  return n;
}

void us_sysctl_ns_close(struct us_sysctl_ns *n) {
  if (!n) return;
  for (size_t i = 0; i < NFILES; i++)
    if (n->fd[i] >= 0) close(n->fd[i]);
  us_free(n);
}

/* Up to max unsigned decimal numbers separated by blanks; the count parsed,
 * or -1 if something else is there. */
static int parse_nums(const char *p, unsigned long *out, int max) {
  int k = 0;
  for (;;) {
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '\n' || !*p) return k;
    if (*p < '0' || *p > '9' || k == max) return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(p, &end, 10);
    if (errno || v > UINT32_MAX) return -1;
    out[k++] = v;
    p = end;
  }
}

static int read_one(int fd, const struct file_spec *f, struct us_tcp_sysctls *v) {
  char buf[128];
  ssize_t len = pread(fd, buf, sizeof buf - 1, 0);
  if (len <= 0) return 0;
  buf[len] = 0;
  unsigned long x[3];
  int k = parse_nums(buf, x, 3);
  char *field = (char *)v + f->off;
  switch (f->kind) {
  case K_U8:
    if (k != 1 || x[0] > 255) return 0;
    *(uint8_t *)field = (uint8_t)x[0];
    return 1;
  case K_U32:
    if (k != 1) return 0;
    *(uint32_t *)field = (uint32_t)x[0];
    return 1;
  case K_TRIPLE:
    if (k != 3) return 0;
    for (int i = 0; i < 3; i++) ((uint32_t *)field)[i] = (uint32_t)x[i];
    return 1;
  case K_RANGE:
    if (k != 2 || x[0] > 65535 || x[1] > 65535) return 0;
    v->port_lo = (uint16_t)x[0];
    v->port_hi = (uint16_t)x[1];
    return 1;
  }
  return 0;
}

int us_sysctl_ns_read(struct us_sysctl_ns *n, struct us_tcp_sysctls *v) {
  int got = 0;
  for (size_t i = 0; i < NFILES; i++)
    if (n->fd[i] >= 0) got += read_one(n->fd[i], &files[i], v);
  return got;
}

void us_sysctl_ns_refresh(struct us_sysctl_ns *n, struct us_stack *s, us_time_t now) {
  if (!n || (n->read_once && now - n->last < US_SYSCTL_NS_MIN_GAP)) return;
  n->read_once = 1;
  n->last = now;
  struct us_tcp_sysctls v;
  us_tcp_get_sysctls(s, &v);
  if (us_sysctl_ns_read(n, &v) > 0) us_tcp_set_sysctls(s, &v);
}
