/* libFuzzer target for the resolver's configuration parsers: resolv.conf
 * (with the LOCALDOMAIN / RES_OPTIONS overrides) and /etc/hosts.
 *
 * Fuzz targets link us_stack and us_netdev only, so the two shim parsers
 * (plain libc, no other shim dependency) are compiled in here. */
#include <string.h>

#include "shim/conf_file.c"
#include "shim/hosts_file.c"
#include "shim/resolv_conf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  struct us_resolv_conf rc;
  us_resolv_conf_parse(text, size, &rc);
  if (rc.nns > US_RESOLV_MAXNS || rc.nsearch > US_RESOLV_MAXSEARCH || rc.ndots > 15 ||
      rc.timeout < 1 || rc.attempts < 1 || rc.attempts > US_DNS_MAX_ATTEMPTS)
    __builtin_trap();
  for (int i = 0; i < rc.nsearch; i++)
    if (strlen(rc.search[i]) >= DNS_TEXT_MAX) __builtin_trap();

  /* The same bytes as environment overrides (NUL-terminated copies). */
  char env[512];
  size_t n = size < sizeof env - 1 ? size : sizeof env - 1;
  memcpy(env, data, n);
  env[n] = 0;
  us_resolv_conf_env(&rc, env, env);

  struct us_hosts *h = us_hosts_parse(text, size);
  if (!h) return 0;
  struct us_dns_addr out[4];
  const char *canon = NULL;
  for (size_t i = 0; i < h->nlines && i < 8; i++) {
    const char *name = h->names + h->lines[i].first_name;
    if (us_hosts_lookup(h, name, 0, out, 4, &canon) == 0) __builtin_trap();
    us_hosts_reverse(h, h->lines[i].addr.family, h->lines[i].addr.addr);
  }
  us_hosts_lookup(h, env, 4, out, 4, &canon);
  us_hosts_free(h);
  return 0;
}
