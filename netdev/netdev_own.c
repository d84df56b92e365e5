/* Telling our own frames from another sender's on a shared interface (see
 * us_netdev_frame_is_own in netdev.h). The kernel normally never hands a
 * packet socket the frames it sent itself, but it does when it has to cut a
 * GSO frame into segments in software (only the last segment keeps its
 * sender), so the device checks rather than trusts. */
#include <string.h>

#include "netdev/netdev.h"

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
