/* Name resolution, interposed: glibc's resolver sends its queries through
 * internal calls LD_PRELOAD cannot see, so getaddrinfo, gethostbyname(_r),
 * gethostbyname2(_r) and getnameinfo are answered here: numeric forms and
 * services locally, names by the stack (US_CTL_RESOLVE: /etc/hosts, then
 * the stack's DNS client over its own UDP). ustack speaks IPv4; AF_INET6
 * callers get AAAA answers and, with AI_V4MAPPED, v4-mapped addresses. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interpose/interpose.h"

#define EXPORT __attribute__((visibility("default")))

/* ---- asking the stack ---------------------------------------------------- */

/* Returns 0 or an EAI_* code; out filled on success. */
static int ask_stack(const char *name, int family, struct us_ctl_addrs *out) {
  size_t n = strlen(name);
  if (n == 0 || n > US_CTL_NAME_MAX) return EAI_NONAME;
  struct us_ctl_msg m;
  us_ctl_init(&m, US_CTL_RESOLVE, 0);
  m.b = family;
  us_ctl_set_data(&m, name, n + 1);
  if (us_ctl_call(&m, 0) < 0) return EAI_AGAIN;
  if (m.a) return m.a;
  if (m.len < sizeof *out) return EAI_FAIL;
  memcpy(out, m.data, sizeof *out);
  out->canon[sizeof out->canon - 1] = 0;
  if (out->n4 > US_CTL_ADDRS_MAX) out->n4 = US_CTL_ADDRS_MAX;
  if (out->n6 > US_CTL_ADDRS_MAX / 4) out->n6 = US_CTL_ADDRS_MAX / 4;
  return 0;
}

/* ---- getaddrinfo --------------------------------------------------------------- */

struct gai_addr {
  int family;
  uint8_t a[16];
};

#define GAI_MAX (US_CTL_ADDRS_MAX + US_CTL_ADDRS_MAX / 4)

/* The port of service for each socket type (stream, dgram, raw), as glibc
 * gives them: a number serves every type; a name only the protocols
 * /etc/services lists it for, never raw. ok[t] says which types apply. */
static int parse_service(const char *service, const struct addrinfo *h, uint16_t port[3],
                         int ok[3]) {
  static const char *const proto[3] = {"tcp", "udp", 0};
  for (int t = 0; t < 3; t++) {
    port[t] = 0;
    ok[t] = 1;
  }
  if (!service) return 0;
  char *end;
  long v = strtol(service, &end, 10);
  if (*service && !*end) {
    if (v < 0 || v > 65535) return EAI_SERVICE;
    for (int t = 0; t < 3; t++) port[t] = htons((uint16_t)v);
    return 0;
  }
  if (h->ai_flags & AI_NUMERICSERV) return EAI_NONAME;
  int any = 0;
  for (int t = 0; t < 3; t++) {
    struct servent se, *r = 0;
    char buf[1024];
    ok[t] = proto[t] && getservbyname_r(service, proto[t], &se, buf, sizeof buf, &r) == 0 && r;
    if (ok[t]) port[t] = (uint16_t)r->s_port;
    any |= ok[t];
  }
  return any ? 0 : EAI_SERVICE;
}

static void map_v4(const uint8_t v4[4], uint8_t out[16]) {
  memset(out, 0, 10);
  out[10] = out[11] = 0xff;
  memcpy(out + 12, v4, 4);
}

/* Addresses for node under the hints' family. Returns 0 or EAI_*. */
static int gai_addrs(const char *node, const struct addrinfo *h, struct gai_addr *out, int *n,
                     char *canon, size_t canonlen) {
  int fam = h->ai_family;
  *n = 0;
  uint8_t v4[4], v6[16];
  if (!node) { /* the wildcard (passive) or loopback address */
    int passive = h->ai_flags & AI_PASSIVE;
    if (fam == AF_INET6) {
      memset(out[0].a, 0, 16);
      if (!passive) out[0].a[15] = 1;
      out[0].family = AF_INET6;
    } else {
      uint32_t a = passive ? 0 : htonl(INADDR_LOOPBACK);
      memcpy(out[0].a, &a, 4);
      out[0].family = AF_INET;
    }
    *n = 1;
    return 0;
  }
  if (inet_pton(AF_INET, node, v4) == 1) {
    if (fam == AF_INET6) {
      if (!(h->ai_flags & AI_V4MAPPED)) return EAI_ADDRFAMILY;
      map_v4(v4, out[0].a);
      out[0].family = AF_INET6;
    } else {
      memcpy(out[0].a, v4, 4);
      out[0].family = AF_INET;
    }
    *n = 1;
    snprintf(canon, canonlen, "%s", node);
    return 0;
  }
  if (inet_pton(AF_INET6, node, v6) == 1) {
    if (fam == AF_INET) return EAI_ADDRFAMILY;
    memcpy(out[0].a, v6, 16);
    out[0].family = AF_INET6;
    *n = 1;
    snprintf(canon, canonlen, "%s", node);
    return 0;
  }
  if (h->ai_flags & AI_NUMERICHOST) return EAI_NONAME;
  struct us_ctl_addrs r;
  int rc = ask_stack(node, fam == AF_INET6 ? AF_INET6 : AF_INET, &r);
  if (rc) return rc;
  snprintf(canon, canonlen, "%s", r.canon[0] ? r.canon : node);
  if (fam == AF_INET6) {
    for (int i = 0; i < r.n6; i++) {
      out[*n].family = AF_INET6;
      memcpy(out[(*n)++].a, r.v6[i], 16);
    }
    if ((h->ai_flags & AI_V4MAPPED) && (r.n6 == 0 || (h->ai_flags & AI_ALL))) {
      for (int i = 0; i < r.n4; i++) {
        out[*n].family = AF_INET6;
        map_v4((const uint8_t *)&r.v4[i], out[(*n)++].a);
      }
    }
  } else {
    for (int i = 0; i < r.n4; i++) {
      out[*n].family = AF_INET;
      memcpy(out[(*n)++].a, &r.v4[i], 4);
    }
  }
  return *n ? 0 : EAI_NODATA;
}

/* One allocation per entry (the addrinfo and its sockaddr), the canonical
 * name apart: the layout glibc's freeaddrinfo expects too. */
static struct addrinfo *gai_entry(const struct gai_addr *a, uint16_t port, int socktype,
                                  int protocol) {
  struct addrinfo *ai = calloc(1, sizeof *ai + sizeof(struct sockaddr_in6));
  if (!ai) return 0;
  ai->ai_family = a->family;
  ai->ai_socktype = socktype;
  ai->ai_protocol = protocol;
  ai->ai_addr = (struct sockaddr *)(ai + 1);
  if (a->family == AF_INET) {
    struct sockaddr_in *in = (void *)ai->ai_addr;
    in->sin_family = AF_INET;
    in->sin_port = port;
    memcpy(&in->sin_addr, a->a, 4);
    ai->ai_addrlen = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (void *)ai->ai_addr;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = port;
    memcpy(&in6->sin6_addr, a->a, 16);
    ai->ai_addrlen = sizeof *in6;
  }
  return ai;
}

EXPORT void freeaddrinfo(struct addrinfo *ai) {
  while (ai) {
    struct addrinfo *next = ai->ai_next;
    free(ai->ai_canonname);
    free(ai);
    ai = next;
  }
}

EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res) {
  if (!us_interpose_active()) return us_real(getaddrinfo)(node, service, hints, res);
  static const struct addrinfo none = {0};
  const struct addrinfo *h = hints ? hints : &none;
  const int known = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_V4MAPPED | AI_ALL |
                    AI_ADDRCONFIG | AI_NUMERICSERV | AI_IDN | AI_CANONIDN;
  if (h->ai_flags & ~known) return EAI_BADFLAGS;
  if ((h->ai_flags & AI_CANONNAME) && !node) return EAI_BADFLAGS;
  if (h->ai_family != AF_UNSPEC && h->ai_family != AF_INET && h->ai_family != AF_INET6)
    return EAI_FAMILY;
  if (!node && !service) return EAI_NONAME;
  if (!res) return EAI_SYSTEM;
  int st = h->ai_socktype;
  if (st != 0 && st != SOCK_STREAM && st != SOCK_DGRAM && st != SOCK_RAW) return EAI_SOCKTYPE;
  if (st == SOCK_RAW && service) return EAI_SERVICE;
  uint16_t ports[3];
  int ok[3];
  int rc = parse_service(service, h, ports, ok);
  if (rc) return rc;
  if (st) { /* the asked type must be one the service exists for */
    int t = st == SOCK_STREAM ? 0 : st == SOCK_DGRAM ? 1 : 2;
    if (!ok[t]) return EAI_SERVICE;
  }
  struct gai_addr addrs[GAI_MAX];
  int n;
  char canon[US_CTL_NAME_MAX + 1] = "";
  rc = gai_addrs(node, h, addrs, &n, canon, sizeof canon);
  if (rc) return rc;
  /* Without a socket type, one entry per type, as glibc does. */
  static const int types[][2] = {{SOCK_STREAM, IPPROTO_TCP}, {SOCK_DGRAM, IPPROTO_UDP},
                                 {SOCK_RAW, 0}};
  struct addrinfo *head = 0, **tail = &head;
  for (int i = 0; i < n; i++) {
    for (int t = 0; t < 3; t++) {
      if ((st && types[t][0] != st) || !ok[t]) continue;
      int proto = h->ai_protocol ? h->ai_protocol : types[t][1];
      struct addrinfo *ai = gai_entry(&addrs[i], ports[t], types[t][0], proto);
      if (!ai) {
        freeaddrinfo(head);
        return EAI_MEMORY;
      }
      *tail = ai;
      tail = &ai->ai_next;
    }
  }
  if (head && (h->ai_flags & AI_CANONNAME)) {
    head->ai_canonname = strdup(canon[0] ? canon : node);
    if (!head->ai_canonname) {
      freeaddrinfo(head);
      return EAI_MEMORY;
    }
  }
  *res = head;
  return head ? 0 : EAI_NONAME;
}

/* ---- gethostbyname family ------------------------------------------------------ */

static int herr_of(int eai) {
  switch (eai) {
  case EAI_AGAIN: return TRY_AGAIN;
  case EAI_NODATA: return NO_DATA;
  case EAI_FAIL: return NO_RECOVERY;
  default: return HOST_NOT_FOUND;
  }
}

/* Lays a hostent out in buf: name, no aliases, the addresses. */
static int hostent_fill(const char *name, int af, const struct gai_addr *a, int n,
                        struct hostent *he, char *buf, size_t buflen) {
  size_t alen = af == AF_INET ? 4 : 16;
  size_t nlen = strlen(name) + 1;
  size_t ptrs = (size_t)(n + 1 + 1) * sizeof(char *);
  uintptr_t p = ((uintptr_t)buf + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1);
  size_t pad = p - (uintptr_t)buf;
  if (pad + ptrs + (size_t)n * alen + nlen > buflen) return ERANGE;
  char **list = (char **)p;
  char *data = (char *)(list + n + 2);
  for (int i = 0; i < n; i++) {
    memcpy(data + (size_t)i * alen, a[i].a, alen);
    list[i] = data + (size_t)i * alen;
  }
  list[n] = 0;
  list[n + 1] = 0; /* the (empty) alias list */
  char *nm = data + (size_t)n * alen;
  memcpy(nm, name, nlen);
  he->h_name = nm;
  he->h_aliases = &list[n + 1];
  he->h_addrtype = af;
  he->h_length = (int)alen;
  he->h_addr_list = list;
  return 0;
}

static int ghbn(const char *name, int af, struct hostent *he, char *buf, size_t buflen,
                struct hostent **result, int *herr) {
  *result = 0;
  if (af != AF_INET && af != AF_INET6) {
    *herr = NETDB_INTERNAL;
    errno = EAFNOSUPPORT;
    return EAFNOSUPPORT;
  }
  if (!name) {
    *herr = HOST_NOT_FOUND;
    return ENOENT;
  }
  struct addrinfo h = {.ai_family = af};
  struct gai_addr addrs[GAI_MAX];
  int n;
  char canon[US_CTL_NAME_MAX + 1] = "";
  int rc = gai_addrs(name, &h, addrs, &n, canon, sizeof canon);
  if (rc) {
    *herr = herr_of(rc);
    return rc == EAI_AGAIN ? EAGAIN : ENOENT;
  }
  if (hostent_fill(canon[0] ? canon : name, af, addrs, n, he, buf, buflen)) {
    *herr = NETDB_INTERNAL;
    errno = ERANGE;
    return ERANGE;
  }
  *herr = 0;
  *result = he;
  return 0;
}

EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *he, char *buf,
                            size_t buflen, struct hostent **result, int *herr) {
  if (!us_interpose_active()) {
    int (*real)(const char *, int, struct hostent *, char *, size_t, struct hostent **, int *) =
        (void *)us_dlsym_next("gethostbyname2_r");
    return real ? real(name, af, he, buf, buflen, result, herr) : ENOSYS;
  }
  if (!he || !buf || !result || !herr) return EINVAL;
  return ghbn(name, af, he, buf, buflen, result, herr);
}

EXPORT int gethostbyname_r(const char *name, struct hostent *he, char *buf, size_t buflen,
                           struct hostent **result, int *herr) {
  if (!us_interpose_active()) {
    int (*real)(const char *, struct hostent *, char *, size_t, struct hostent **, int *) =
        (void *)us_dlsym_next("gethostbyname_r");
    return real ? real(name, he, buf, buflen, result, herr) : ENOSYS;
  }
  return gethostbyname2_r(name, AF_INET, he, buf, buflen, result, herr);
}

static __thread struct hostent tls_he;
static __thread char tls_buf[2048];

EXPORT struct hostent *gethostbyname2(const char *name, int af) {
  if (!us_interpose_active()) {
    struct hostent *(*real)(const char *, int) = (void *)us_dlsym_next("gethostbyname2");
    return real ? real(name, af) : 0;
  }
  struct hostent *r;
  int herr = 0;
  ghbn(name, af, &tls_he, tls_buf, sizeof tls_buf, &r, &herr);
  h_errno = herr;
  return r;
}

EXPORT struct hostent *gethostbyname(const char *name) {
  if (!us_interpose_active()) {
    struct hostent *(*real)(const char *) = (void *)us_dlsym_next("gethostbyname");
    return real ? real(name) : 0;
  }
  return gethostbyname2(name, AF_INET);
}

/* ---- getnameinfo ------------------------------------------------------------------ */

EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
                       char *serv, socklen_t servlen, int flags) {
  if (!us_interpose_active() || !sa || salen < sizeof(sa_family_t) ||
      (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
    return us_real(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
  uint32_t ip;
  uint16_t port;
  int v4 = sa->sa_family == AF_INET;
  if (v4) {
    if (salen < sizeof(struct sockaddr_in)) return EAI_FAMILY;
  } else {
    if (salen < sizeof(struct sockaddr_in6)) return EAI_FAMILY;
    const struct sockaddr_in6 *in6 = (const void *)sa;
    /* Only v4-mapped addresses are ustack's business. */
    if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
      return us_real(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
  }
  if (us_sa_to_v4(sa->sa_family, sa, salen, &ip, &port, 0) < 0) return EAI_FAMILY;
  if (host && hostlen) {
    int done = 0;
    if (!(flags & NI_NUMERICHOST)) {
      struct us_ctl_msg m;
      us_ctl_init(&m, US_CTL_RESOLVE_PTR, 0);
      m.ip = ip;
      if (us_ctl_call(&m, 0) == 0 && m.a == 0 && m.len > 0 && m.data[m.len - 1] == 0) {
        if (strlen((char *)m.data) + 1 > hostlen) return EAI_OVERFLOW;
        memcpy(host, m.data, strlen((char *)m.data) + 1);
        done = 1;
      }
    }
    if (!done) {
      if (flags & NI_NAMEREQD) return EAI_NONAME;
      char tmp[INET6_ADDRSTRLEN];
      if (v4) inet_ntop(AF_INET, &ip, tmp, sizeof tmp);
      else inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, tmp, sizeof tmp);
      if (strlen(tmp) + 1 > hostlen) return EAI_OVERFLOW;
      memcpy(host, tmp, strlen(tmp) + 1);
    }
  }
  if (serv && servlen) {
    char tmp[64];
    struct servent se, *r = 0;
    char buf[1024];
    if (!(flags & NI_NUMERICSERV) &&
        getservbyport_r(port, (flags & NI_DGRAM) ? "udp" : "tcp", &se, buf, sizeof buf, &r) == 0 &&
        r)
      snprintf(tmp, sizeof tmp, "%s", r->s_name);
    else
      snprintf(tmp, sizeof tmp, "%u", ntohs(port));
    if (strlen(tmp) + 1 > servlen) return EAI_OVERFLOW;
    memcpy(serv, tmp, strlen(tmp) + 1);
  }
  return 0;
}
