/* Telling our own frames and other senders' apart on a shared interface.
 *
 * A frame another socket sends on the interface (a second ustack, the
 * kernel) never crosses the wire back to us: AF_PACKET hands it to every
 * other packet socket there as PACKET_OUTGOING. Two stacks see each other
 * that way, so the packet device receives those frames, except:
 *   - our own, which the kernel hands back too when it segments a GSO frame
 *     in software (only the last segment keeps its sender);
 *   - frames addressed to another host's MAC: no use to us, and a neighbour
 *     stack's bulk traffic would fill our ring.
 * Both are dropped in the kernel by a classic BPF socket filter, before they
 * take a ring slot; us_netdev_frame_is_own checks the same in user space
 * behind it (counted), for a kernel that refused the filter. */
#ifndef USTACK_NETDEV_OWN_H
#define USTACK_NETDEV_OWN_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* Is this frame (one another sender on the interface transmitted) ours, sent
 * from mac with source address ip (host byte order)? 1 for our IPv4 packets
 * and our ARP requests, replies and probes; 0 for everything else, even from
 * our MAC (a second stack on the interface's MAC has its own address). */
int us_netdev_frame_is_own(const uint8_t *frame, size_t len, const uint8_t mac[6], uint32_t ip);

/* The socket filter described above, for mac and ip: writes it to prog (room
 * for US_NETDEV_OWN_FILTER_LEN instructions) and returns its length. It
 * passes every frame that is not PACKET_OUTGOING. */
#define US_NETDEV_OWN_FILTER_LEN 24
size_t us_netdev_own_filter(struct sock_filter *prog, const uint8_t mac[6], uint32_t ip);

#endif
