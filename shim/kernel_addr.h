/* What the kernel of this network namespace already does on the link the
 * stack is about to own, checked before the stack starts.
 *
 * An IPv4 address the kernel holds on ANY interface of the namespace is
 * local to it: it answers ARP for it on every interface (arp_ignore=0, even
 * for an address on an interface that is down) and RSTs TCP segments sent
 * to it. A stack with the same address would fight the kernel for it, so
 * that is refused. IPv6 on the stack's interface only adds the kernel's
 * neighbour discovery to the link: worth a warning, not a refusal. */
#ifndef USTACK_SHIM_KERNEL_ADDR_H
#define USTACK_SHIM_KERNEL_ADDR_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

struct us_kernel_addr {
  char ifname[IF_NAMESIZE];
  uint32_t ip; /* host byte order */
  uint8_t prefix_len;
};

/* The kernel's IPv4 addresses in this namespace, up to max. Returns how many
 * there are (may exceed max: only max are written), or a negative errno. */
int us_kernel_addrs(struct us_kernel_addr *out, size_t max);

/* Whether one of addrs[0..n) is ip: 0 if none, else US_CONFIG_ERROR and one
 * line in err naming the interface and the fix. */
int us_kernel_addr_conflict(const struct us_kernel_addr *addrs, size_t n, uint32_t ip,
                            char *err, size_t errlen);

/* 1 if the kernel runs IPv6 on ifname (its disable_ipv6 sysctl reads 0),
 * 0 if not or if this kernel has no IPv6. */
int us_kernel_ipv6_on(const char *ifname);

#endif
