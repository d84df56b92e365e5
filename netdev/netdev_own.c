/* Our own frames and other senders' on a shared interface (netdev_own.h). */
#include "netdev/netdev_own.h"

#include <linux/if_packet.h>
#include <string.h>

#define OWN_ETH_HLEN 14
#define OWN_ETH_P_IPV4 0x0800
#define OWN_ETH_P_ARP 0x0806

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int us_netdev_frame_is_own(const uint8_t *frame, size_t len, const uint8_t mac[6], uint32_t ip) {
  if (len < OWN_ETH_HLEN || memcmp(frame + 6, mac, 6) != 0) return 0;
  uint16_t type = (uint16_t)(frame[12] << 8 | frame[13]);
  const uint8_t *l3 = frame + OWN_ETH_HLEN;
  size_t l3len = len - OWN_ETH_HLEN;
  if (type == OWN_ETH_P_IPV4) return l3len >= 20 && rd32(l3 + 12) == ip;
  if (type == OWN_ETH_P_ARP) {
    if (l3len < 28) return 0;
    uint32_t spa = rd32(l3 + 14), tpa = rd32(l3 + 24);
    return spa == ip || (spa == 0 && tpa == ip); /* ours: requests/replies, probes */
  }
  return 0; /* we send nothing else */
}

/* The filter's instructions by position; a jump names its targets by
 * position and is encoded relative to the next instruction. */
enum {
  F_PKTTYPE, F_IS_OUTGOING,
  F_DST_GROUP_BYTE, F_DST_IS_GROUP, F_DST_HI, F_DST_HI_OURS, F_DST_LO, F_DST_LO_OURS,
  F_SRC_HI, F_SRC_HI_OURS, F_SRC_LO, F_SRC_LO_OURS,
  F_TYPE, F_IS_IPV4, F_IP_SRC, F_IP_SRC_OURS,
  F_IS_ARP, F_ARP_SPA, F_ARP_SPA_OURS, F_ARP_SPA_ZERO, F_ARP_TPA, F_ARP_TPA_OURS,
  F_ACCEPT, F_DROP, F__N
};

static struct sock_filter ld(uint16_t size, uint32_t off) {
  return (struct sock_filter)BPF_STMT(BPF_LD | size | BPF_ABS, off);
}
static struct sock_filter jmp(int at, uint16_t op, uint32_t k, int if_true, int if_false) {
  return (struct sock_filter)BPF_JUMP(BPF_JMP | op | BPF_K, k, (uint8_t)(if_true - at - 1),
                                      (uint8_t)(if_false - at - 1));
}

size_t us_netdev_own_filter(struct sock_filter *p, const uint8_t mac[6], uint32_t ip) {
  _Static_assert(F__N == US_NETDEV_OWN_FILTER_LEN, "filter length");
  uint32_t mac_hi = rd32(mac), mac_lo = (uint32_t)(mac[4] << 8 | mac[5]);
  p[F_PKTTYPE] = ld(BPF_W, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE));
  p[F_IS_OUTGOING] = jmp(F_IS_OUTGOING, BPF_JEQ, PACKET_OUTGOING, F_IS_OUTGOING + 1, F_ACCEPT);
  /* Sent to another host's MAC: not for us. Group addresses go on. */
  p[F_DST_GROUP_BYTE] = ld(BPF_B, 0);
  p[F_DST_IS_GROUP] = jmp(F_DST_IS_GROUP, BPF_JSET, 1, F_SRC_HI, F_DST_IS_GROUP + 1);
  p[F_DST_HI] = ld(BPF_W, 0);
  p[F_DST_HI_OURS] = jmp(F_DST_HI_OURS, BPF_JEQ, mac_hi, F_DST_HI_OURS + 1, F_DROP);
  p[F_DST_LO] = ld(BPF_H, 4);
  p[F_DST_LO_OURS] = jmp(F_DST_LO_OURS, BPF_JEQ, mac_lo, F_DST_LO_OURS + 1, F_DROP);
  /* From our MAC: ours if it carries our address (us_netdev_frame_is_own). */
  p[F_SRC_HI] = ld(BPF_W, 6);
  p[F_SRC_HI_OURS] = jmp(F_SRC_HI_OURS, BPF_JEQ, mac_hi, F_SRC_HI_OURS + 1, F_ACCEPT);
  p[F_SRC_LO] = ld(BPF_H, 10);
  p[F_SRC_LO_OURS] = jmp(F_SRC_LO_OURS, BPF_JEQ, mac_lo, F_SRC_LO_OURS + 1, F_ACCEPT);
  p[F_TYPE] = ld(BPF_H, 12);
  p[F_IS_IPV4] = jmp(F_IS_IPV4, BPF_JEQ, OWN_ETH_P_IPV4, F_IS_IPV4 + 1, F_IS_ARP);
  p[F_IP_SRC] = ld(BPF_W, OWN_ETH_HLEN + 12);
  p[F_IP_SRC_OURS] = jmp(F_IP_SRC_OURS, BPF_JEQ, ip, F_DROP, F_ACCEPT);
  p[F_IS_ARP] = jmp(F_IS_ARP, BPF_JEQ, OWN_ETH_P_ARP, F_IS_ARP + 1, F_ACCEPT);
  p[F_ARP_SPA] = ld(BPF_W, OWN_ETH_HLEN + 14);
  p[F_ARP_SPA_OURS] = jmp(F_ARP_SPA_OURS, BPF_JEQ, ip, F_DROP, F_ARP_SPA_OURS + 1);
  p[F_ARP_SPA_ZERO] = jmp(F_ARP_SPA_ZERO, BPF_JEQ, 0, F_ARP_SPA_ZERO + 1, F_ACCEPT);
  p[F_ARP_TPA] = ld(BPF_W, OWN_ETH_HLEN + 24);
  p[F_ARP_TPA_OURS] = jmp(F_ARP_TPA_OURS, BPF_JEQ, ip, F_DROP, F_ACCEPT);
  /* A packet socket keeps min(return value, frame length) bytes. */
  p[F_ACCEPT] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
  p[F_DROP] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
  return F__N;
}
