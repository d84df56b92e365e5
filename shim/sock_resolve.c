/* Name resolution for programs (getaddrinfo, gethostbyname...): /etc/hosts
 * first, then the stack's DNS client over the stack's own UDP, configured
 * from resolv.conf (search, ndots, timeout, attempts) with the --dns server
 * (the stack's cfg.dns) taking precedence. Runs on the stack thread. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "shim/hosts_file.h"
#include "shim/resolv_conf.h"
#include "shim/sock.h"
#include "common/alloc.h"
#include "stack/dns_client.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define HOSTS_FILE "/etc/hosts"

struct sock_resolve {
  struct sock_resolve *next, **pprev;
  struct us_dns_query *q;
  sock_resolve_done done;
  void *arg;
  int in_query, answered; /* us_dns_query may answer before it returns */
  struct us_ctl_msg msg;
};

/* Per server; the server pointer keys a small list (one server per process
 * in practice). */
struct resolver {
  struct us_ctl_server *srv;
  struct resolver *next;
  struct us_resolv_conf rc; /* the DNS config's search strings point here */
  struct us_dns_client *dns;
  struct us_hosts *hosts;
  struct sock_resolve *active;
};

static struct resolver *resolvers;

static struct resolver *resolver_get(struct us_ctl_server *srv) {
  for (struct resolver *r = resolvers; r; r = r->next)
    if (r->srv == srv) return r;
  struct resolver *r = us_calloc(1, sizeof *r);
  if (!r) return 0;
  r->srv = srv;
  us_resolv_conf_load(RESOLV_CONF, &r->rc);
  us_resolv_conf_env(&r->rc, getenv("LOCALDOMAIN"), getenv("RES_OPTIONS"));
  struct us_dns_config cfg;
  us_dns_config_defaults(&cfg);
  us_resolv_conf_to_dns(&r->rc, &cfg);
  /* The stack's cfg.dns is --dns, or resolv.conf's first server already. */
  cfg.server = 0;
  r->dns = us_dns_client_new(us_srv_stack(srv), &cfg);
  int err = 0;
  r->hosts = us_hosts_load(HOSTS_FILE, &err);
  r->next = resolvers;
  resolvers = r;
  return r;
}

static int eai_of(int status) {
  switch (status) {
  case US_DNS_OK: return 0;
  case US_DNS_NONAME: case US_DNS_BADNAME: return EAI_NONAME;
  case US_DNS_NODATA: return EAI_NODATA;
  case US_DNS_AGAIN: return EAI_AGAIN;
  case US_DNS_NOMEM: return EAI_MEMORY;
  default: return EAI_FAIL;
  }
}

static void fill_addrs(struct us_ctl_msg *m, const struct us_dns_addr *a, size_t n,
                       const char *canon) {
  struct us_ctl_addrs out;
  memset(&out, 0, sizeof out);
  for (size_t i = 0; i < n; i++) {
    if (a[i].family == 4 && out.n4 < US_CTL_ADDRS_MAX) memcpy(&out.v4[out.n4++], a[i].addr, 4);
    else if (a[i].family == 6 && out.n6 < US_CTL_ADDRS_MAX / 4)
      memcpy(out.v6[out.n6++], a[i].addr, 16);
  }
  if (canon) snprintf(out.canon, sizeof out.canon, "%s", canon);
  us_ctl_set_data(m, &out, sizeof out);
  m->a = out.n4 + out.n6 ? 0 : EAI_NODATA;
}

static void dns_done(void *user, const struct us_dns_result *r) {
  struct sock_resolve *rq = user;
  struct us_ctl_msg *m = &rq->msg;
  m->a = eai_of(r->status);
  if (r->status == US_DNS_OK && m->op == US_CTL_RESOLVE_PTR) {
    us_ctl_set_data(m, r->canon, strlen(r->canon) + 1);
  } else if (r->status == US_DNS_OK) {
    fill_addrs(m, r->addrs, r->naddrs, r->canon);
  }
  *rq->pprev = rq->next;
  if (rq->next) rq->next->pprev = rq->pprev;
  rq->done(rq->arg, m);
  if (rq->in_query) rq->answered = 1; /* sock_resolve frees it */
  else us_free(rq);
}

/* Ask the DNS client (name: forward lookup of want; NULL: reverse lookup of
 * m->ip) and track the request until dns_done answers it. */
static struct sock_resolve *resolve_start(struct resolver *r, struct us_ctl_msg *m,
                                          sock_resolve_done done, void *arg, const char *name,
                                          int want) {
  struct sock_resolve *rq = r->dns ? us_calloc(1, sizeof *rq) : 0;
  if (!rq) {
    m->a = r->dns ? EAI_MEMORY : EAI_AGAIN;
    m->len = 0;
    done(arg, m);
    return 0;
  }
  rq->done = done;
  rq->arg = arg;
  rq->msg = *m;
  rq->msg.len = 0;
  rq->next = r->active;
  if (rq->next) rq->next->pprev = &rq->next;
  rq->pprev = &r->active;
  r->active = rq;
  rq->in_query = 1;
  rq->q = name ? us_dns_query(r->dns, name, want, dns_done, rq)
               : us_dns_reverse(r->dns, 4, (const uint8_t *)&m->ip, dns_done, rq);
  rq->in_query = 0;
  if (rq->answered || !rq->q) { /* answered at once (cache, bad name) */
    us_free(rq);
    return 0;
  }
  return rq;
}

struct sock_resolve *sock_resolve(struct us_ctl_server *srv, struct us_ctl_msg *m,
                                  sock_resolve_done done, void *arg) {
  m->err = 0;
  if (m->len == 0 || m->len > US_CTL_NAME_MAX + 1 || m->data[m->len - 1] != 0 ||
      strlen((char *)m->data) + 1 != m->len) {
    m->a = EAI_NONAME;
    m->len = 0;
    done(arg, m);
    return 0;
  }
  char name[US_CTL_NAME_MAX + 1];
  memcpy(name, m->data, m->len);
  int family = m->b;
  struct resolver *r = resolver_get(srv);
  if (!r) {
    m->a = EAI_MEMORY;
    m->len = 0;
    done(arg, m);
    return 0;
  }
  /* /etc/hosts first, like glibc's "files" source. */
  struct us_dns_addr found[US_CTL_ADDRS_MAX];
  const char *canon = 0;
  int hf = family == AF_INET ? 4 : family == AF_INET6 ? 0 : 4;
  size_t n = r->hosts ? us_hosts_lookup(r->hosts, name, hf, found, US_CTL_ADDRS_MAX, &canon) : 0;
  if (n) {
    if (n > US_CTL_ADDRS_MAX) n = US_CTL_ADDRS_MAX;
    fill_addrs(m, found, n, canon);
    done(arg, m);
    return 0;
  }
  /* ustack speaks IPv4: AAAA only when the program asks for IPv6. */
  int want = family == AF_INET6 ? US_DNS_WANT_BOTH : US_DNS_WANT_A;
  return resolve_start(r, m, done, arg, name, want);
}

void sock_resolve_cancel(struct sock_resolve *rq) {
  if (!rq) return;
  us_dns_cancel(rq->q);
  *rq->pprev = rq->next;
  if (rq->next) rq->next->pprev = rq->pprev;
  us_free(rq);
}

/* getnameinfo: /etc/hosts first, then a PTR query. */
struct sock_resolve *sock_resolve_ptr(struct us_ctl_server *srv, struct us_ctl_msg *m,
                                      sock_resolve_done done, void *arg) {
  m->err = 0;
  struct resolver *r = resolver_get(srv);
  const char *name = r && r->hosts ? us_hosts_reverse(r->hosts, 4, (const uint8_t *)&m->ip) : 0;
  m->len = 0;
  if (name || !r) {
    m->a = name ? 0 : EAI_MEMORY;
    if (name) us_ctl_set_data(m, name, strlen(name) + 1);
    done(arg, m);
    return 0;
  }
  return resolve_start(r, m, done, arg, NULL, 0);
}

void sock_resolve_shutdown(struct us_ctl_server *srv) {
  for (struct resolver **pr = &resolvers; *pr; pr = &(*pr)->next) {
    struct resolver *r = *pr;
    if (r->srv != srv) continue;
    while (r->active) sock_resolve_cancel(r->active);
    if (r->dns) us_dns_client_free(r->dns);
    if (r->hosts) us_hosts_free(r->hosts);
    *pr = r->next;
    us_free(r);
    return;
  }
}
