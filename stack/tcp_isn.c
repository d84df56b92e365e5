/* RFC 6528 ISNs from SipHash-2-4. */
#include "stack/tcp_isn.h"

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

#define SIPROUND                                                             \
  do {                                                                       \
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                \
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                   \
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                   \
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                \
  } while (0)

uint64_t tcp_siphash4(const struct tcp_key *key, uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ key->k0;
  uint64_t v1 = 0x646f72616e646f6dULL ^ key->k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ key->k0;
  uint64_t v3 = 0x7465646279746573ULL ^ key->k1;
  uint64_t m[5] = {a, b, c, d, (uint64_t)32 << 56}; /* last word: message length */
  for (int i = 0; i < 5; i++) {
    v3 ^= m[i];
    SIPROUND; SIPROUND;
    v0 ^= m[i];
  }
  v2 ^= 0xff;
  SIPROUND; SIPROUND; SIPROUND; SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

uint32_t tcp_ts_offset(const struct tcp_key *key, uint32_t lip, uint32_t rip) {
  return (uint32_t)tcp_siphash4(key, lip, rip, 0, 2);
}

uint32_t tcp_isn(const struct tcp_key *key, uint32_t lip, uint16_t lport, uint32_t rip,
                 uint16_t rport, us_time_t now) {
  uint64_t f = tcp_siphash4(key, lip, rip, (uint64_t)lport << 16 | rport, 0);
  return (uint32_t)f + (uint32_t)(now / 4);
}
