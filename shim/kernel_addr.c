/* The kernel's own addresses in this namespace (see kernel_addr.h). */
#include "shim/kernel_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>

#include "shim/config.h"

static uint8_t mask_len(const struct sockaddr *mask) {
  if (!mask || mask->sa_family != AF_INET) return 32;
  uint32_t m = ntohl(((const struct sockaddr_in *)mask)->sin_addr.s_addr);
  uint8_t n = 0;
  while (n < 32 && (m & (0x80000000u >> n))) n++;
  return n;
}

int us_kernel_addrs(struct us_kernel_addr *out, size_t max) {
  struct ifaddrs *all;
  if (getifaddrs(&all) < 0) return -errno;
  int n = 0;
  for (struct ifaddrs *a = all; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !a->ifa_name) continue;
    if ((size_t)n < max) {
      struct us_kernel_addr *k = &out[n];
      snprintf(k->ifname, sizeof k->ifname, "%s", a->ifa_name);
      k->ip = ntohl(((const struct sockaddr_in *)a->ifa_addr)->sin_addr.s_addr);
      k->prefix_len = mask_len(a->ifa_netmask);
    }
    n++;
  }
  freeifaddrs(all);
  return n;
}

int us_kernel_addr_conflict(const struct us_kernel_addr *addrs, size_t n, uint32_t ip,
                            char *err, size_t errlen) {
  for (size_t i = 0; i < n; i++) {
    if (addrs[i].ip != ip) continue;
    char a[INET_ADDRSTRLEN];
    struct in_addr in = {htonl(ip)};
    inet_ntop(AF_INET, &in, a, sizeof a);
    snprintf(err, errlen,
             "the kernel already has %s on %s and would answer for it: remove it "
             "(ip addr del %s/%u dev %s) or give the stack another --ip (USTACK_IP)",
             a, addrs[i].ifname, a, addrs[i].prefix_len, addrs[i].ifname);
    return US_CONFIG_ERROR;
  }
  return 0;
}

int us_kernel_ipv6_on(const char *ifname) {
  char path[128];
  if (!*ifname || strchr(ifname, '/') ||
      (size_t)snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname) >=
          sizeof path)
    return 0;
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  int off = 1;
  if (fscanf(f, "%d", &off) != 1) off = 1;
  fclose(f);
  return off == 0;
}
