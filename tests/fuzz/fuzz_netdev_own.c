/* libFuzzer target for us_netdev_frame_is_own (netdev/netdev_own.h), which
 * reads every PACKET_OUTGOING frame the kernel hands the packet device: the
 * input is one frame, copied to a buffer of exactly its length so that ASan
 * sees any read past it. Our MAC and address are the stack's usual ones,
 * and the first bytes of the input often match them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netdev/netdev_own.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t mac[6] = {2, 0, 0, 0, 0, 0x0a};
  uint8_t *f = malloc(size ? size : 1);
  if (!f) return 0;
  memcpy(f, data, size);
  /* Our MAC as the source half the time, so the parser behind it runs. */
  if (size >= 12 && (size & 1)) memcpy(f + 6, mac, 6);
  (void)us_netdev_frame_is_own(f, size, mac, 0xC612000A);
  free(f);
  return 0;
}
