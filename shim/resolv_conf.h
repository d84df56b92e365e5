/* /etc/resolv.conf as glibc reads it (resolv.conf(5)): nameserver, search,
 * domain, and options ndots/timeout/attempts. Other options are ignored.
 *
 * The parser takes a path (tests use temp files) or a buffer; the result
 * feeds the stack's DNS client (us_resolv_conf_to_dns). */
#ifndef USTACK_RESOLV_CONF_H
#define USTACK_RESOLV_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "stack/dns_client.h"

#define US_RESOLV_MAXNS 3      /* glibc MAXNS */
#define US_RESOLV_MAXSEARCH 6  /* glibc's historical MAXDNSRCH */

struct us_resolv_conf {
  uint32_t ns[US_RESOLV_MAXNS]; /* IPv4, host byte order; IPv6 servers are skipped */
  int nns;
  char search[US_RESOLV_MAXSEARCH][DNS_TEXT_MAX]; /* without trailing dot */
  int nsearch;
  int ndots;    /* default 1, at most 15 */
  int timeout;  /* seconds, default 5, at most 30 */
  int attempts; /* default 2, at most 5 */
};

void us_resolv_conf_defaults(struct us_resolv_conf *rc);
/* Parse text (need not be NUL-terminated). Unknown lines are ignored, as by
 * glibc. Always leaves a usable configuration in rc. */
void us_resolv_conf_parse(const char *text, size_t len, struct us_resolv_conf *rc);
/* Read and parse a file. Returns 0, or a negative errno if it cannot be read
 * (rc then holds the defaults, as glibc behaves without the file). */
int us_resolv_conf_load(const char *path, struct us_resolv_conf *rc);
/* The environment overrides glibc honours: LOCALDOMAIN replaces the search
 * list, RES_OPTIONS adds options. Either may be NULL. The caller passes the
 * getenv() values so the parser stays testable. */
void us_resolv_conf_env(struct us_resolv_conf *rc, const char *localdomain,
                        const char *res_options);
/* Fill the DNS client's configuration: first nameserver (unless the caller
 * already set cfg->server, e.g. from --dns), search list, ndots, timeout,
 * attempts. The search strings point into rc, which must outlive cfg. */
void us_resolv_conf_to_dns(const struct us_resolv_conf *rc, struct us_dns_config *cfg);

#endif
