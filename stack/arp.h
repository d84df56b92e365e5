/* ARP (RFC 826) for IPv4 over Ethernet: wire format, the neighbour cache and
 * its state machine (Linux-like: INCOMPLETE -> REACHABLE -> STALE -> DELAY ->
 * PROBE), the queue of packets waiting on resolution, replies for our
 * address, the gratuitous announcement and duplicate-address detection. */
#ifndef USTACK_ARP_H
#define USTACK_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "stack/counters.h"
#include "stack/pkt.h"
#include "stack/timer.h"

#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

/* Timing and bounds (Linux defaults where Linux has one). */
#define ARP_TABLE_SIZE 64
#define ARP_TRIES 3                     /* mcast_solicit / ucast_solicit */
#define ARP_RETRANS_US US_SEC(1)        /* retrans_time */
#define ARP_REACHABLE_US US_SEC(30)     /* base_reachable_time, randomised x0.5..1.5 */
#define ARP_DELAY_US US_SEC(5)          /* delay_first_probe_time */
#define ARP_GC_STALE_US US_SEC(60)      /* gc_stale_time: unused stale entries go */
#define ARP_QUEUE_MAX 32                /* packets waiting per neighbour */
#define ARP_QUEUE_BYTES (256u * 1024u)  /* bytes waiting per neighbour */
#define ARP_ANNOUNCE_WAIT_US US_MS(100) /* probe at start, announce this much later */

struct arp_pkt {
  uint16_t op;
  uint8_t sha[6];
  uint32_t spa; /* host byte order */
  uint8_t tha[6];
  uint32_t tpa;
};

/* Parse an ARP packet for Ethernet/IPv4. 0 on success, -1 with *why set. */
int arp_parse(const uint8_t *p, size_t len, struct arp_pkt *a, enum us_counter *why);
/* Write ARP_LEN bytes. */
void arp_emit(uint8_t *out, const struct arp_pkt *a);

enum arp_nstate {
  ARP_S_FREE = 0,
  ARP_S_INCOMPLETE, /* request sent, no answer yet; packets queue */
  ARP_S_REACHABLE,  /* confirmed recently */
  ARP_S_STALE,      /* usable, unconfirmed; first use starts DELAY */
  ARP_S_DELAY,      /* used while stale: wait for an upper-layer confirmation */
  ARP_S_PROBE,      /* unicast requests to confirm */
};

struct arp_qpkt {
  struct arp_qpkt *next;
  struct us_frame_meta meta; /* as handed to ipv4 output */
  uint32_t len;              /* IP packet bytes after the Ethernet headroom */
  uint8_t buf[];             /* ETH_HLEN headroom + IP packet */
};

struct arp_entry {
  struct us_timer timer;
  uint32_t ip;
  uint8_t mac[6];
  uint8_t state; /* enum arp_nstate */
  uint8_t tries;
  us_time_t used;      /* last time a packet went to it */
  us_time_t confirmed; /* last proof of reachability */
  struct arp_qpkt *q_head, *q_tail;
  uint32_t q_len, q_bytes;
};

struct arp_state {
  struct arp_entry tab[ARP_TABLE_SIZE];
  uint32_t hint; /* index of the last entry used */
  struct us_timer announce; /* the gratuitous announcement after the start probe */
  int conflict;
  uint8_t conflict_mac[6];
};

struct us_stack;

void arp_init(struct us_stack *s);
void arp_free(struct us_stack *s);
/* An ARP packet (after the Ethernet header). */
void arp_input(struct us_stack *s, const uint8_t *p, size_t len);
/* Send an IP packet (pkt->data at the IP header) to next hop `nexthop` (host
 * order): at once when the MAC is known, else queued while ARP resolves.
 * Returns 0 or a negative errno (-ENOBUFS). */
int arp_output(struct us_stack *s, struct us_pkt *pkt, uint32_t nexthop);
/* Start-up: an RFC 5227 probe for our address (sender 0.0.0.0) now, so a host
 * that already owns it answers (us_stack_ip_conflict), and the gratuitous
 * announcement ARP_ANNOUNCE_WAIT_US later unless a conflict was seen. */
void arp_start(struct us_stack *s);
/* Gratuitous ARP request for our own address, sent at once. */
void arp_announce(struct us_stack *s);
/* An upper layer saw forward progress to ip (e.g. new data ACKed). */
void arp_confirm(struct us_stack *s, uint32_t ip);
/* Cache lookup for tests: state (ARP_S_*) and MAC; ARP_S_FREE if absent. */
int arp_lookup(const struct us_stack *s, uint32_t ip, uint8_t mac[6]);

#endif
