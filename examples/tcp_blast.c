/* tcp_blast: moves N bytes of a seeded pattern over one TCP connection and
 * prints the sha256 of what it sent or received, so two ends (one on ustack,
 * one on the Linux kernel) can be compared byte for byte.
 *
 *   tcp_blast connect IP PORT ACTION... [--seed S]
 *   tcp_blast listen  IP PORT ACTION... [--seed S] [--ready FILE]
 *   ACTION: send N   write N bytes of the pattern, then shut the write side
 *           recv     read to EOF
 *
 * A plain sockets program: run it under `ustack ... --` or on the kernel.
 * Actions run in order on the one connection, so "send N recv" on one end
 * and "recv send N" on the other move N bytes each way (half-close in
 * between). At the end a side that has not seen the peer's FIN yet waits
 * for it (read returns 0), then closes: both sides see a graceful close.
 * Each action prints one line on stdout:
 *   sent|received BYTES sha256 HEX secs T MBps R
 * and the exit status is 0 only if the connection ended cleanly (no error,
 * no reset, no unexpected bytes). --ready FILE is created once the listener
 * listens (for test scripts). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- SHA-256 (FIPS 180-4), small and self-contained ---- */

struct sha256 {
  uint32_t h[8];
  uint8_t buf[64];
  size_t fill;
  uint64_t total;
};

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha_block(struct sha256 *s, const uint8_t *p) {
  uint32_t w[64], v[8];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(v, s->h, sizeof v);
  for (int i = 0; i < 64; i++) {
    uint32_t e = v[4], a = v[0];
    uint32_t t1 = v[7] + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & v[5]) ^ (~e & v[6])) + sha_k[i] + w[i];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));
    memmove(v + 1, v, 7 * sizeof v[0]);
    v[4] += t1;
    v[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++) s->h[i] += v[i];
}

static void sha_init(struct sha256 *s) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, iv, sizeof iv);
  s->fill = 0;
  s->total = 0;
}

static void sha_update(struct sha256 *s, const uint8_t *p, size_t n) {
  s->total += n;
  while (n) {
    if (s->fill == 0 && n >= 64) {
      sha_block(s, p);
      p += 64;
      n -= 64;
      continue;
    }
    size_t take = 64 - s->fill < n ? 64 - s->fill : n;
    memcpy(s->buf + s->fill, p, take);
    s->fill += take;
    p += take;
    n -= take;
    if (s->fill == 64) {
      sha_block(s, s->buf);
      s->fill = 0;
    }
  }
}

static void sha_hex(struct sha256 *s, char out[65]) {
  uint64_t bits = s->total * 8;
  uint8_t pad = 0x80, zero = 0, len[8];
  sha_update(s, &pad, 1);
  while (s->fill != 56) sha_update(s, &zero, 1);
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, len, 8);
  for (int i = 0; i < 8; i++) sprintf(out + 8 * i, "%08x", s->h[i]);
}

/* ---- the pattern: xorshift64 from the seed, so both ends can agree ---- */

static void pattern_fill(uint64_t *state, uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    size_t take = n - i < 8 ? n - i : 8;
    memcpy(p + i, &x, take);
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what) {
  fprintf(stderr, "tcp_blast: %s: %s\n", what, strerror(errno));
  return 1;
}

#define CHUNK (256 * 1024)
static uint8_t buf[CHUNK];

/* Writes n bytes of the pattern, then shuts the write side down. */
static int do_send(int fd, uint64_t n, uint64_t seed, struct sha256 *sha, uint64_t *moved) {
  uint64_t state = seed ? seed : 1;
  while (*moved < n) {
    size_t len = n - *moved < CHUNK ? (size_t)(n - *moved) : CHUNK;
    pattern_fill(&state, buf, len);
    sha_update(sha, buf, len);
    for (size_t off = 0; off < len;) {
      ssize_t w = write(fd, buf + off, len - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return die("write");
      }
      off += (size_t)w;
    }
    *moved += len;
  }
  if (shutdown(fd, SHUT_WR) < 0) return die("shutdown");
  return 0;
}

/* Reads to EOF. */
static int do_recv(int fd, struct sha256 *sha, uint64_t *moved) {
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r == 0) return 0;
    if (r < 0) {
      if (errno == EINTR) continue;
      return die("read");
    }
    sha_update(sha, buf, (size_t)r);
    *moved += (uint64_t)r;
  }
}

static int usage(void) {
  fprintf(stderr, "usage: tcp_blast connect|listen IP PORT (send N | recv)... [--seed S] [--ready FILE]\n");
  return 2;
}

#define ACTIONS_MAX 8

int main(int argc, char **argv) {
  if (argc < 5) return usage();
  int listening = strcmp(argv[1], "listen") == 0;
  if (!listening && strcmp(argv[1], "connect") != 0) return usage();
  uint64_t send_n[ACTIONS_MAX];
  int sends[ACTIONS_MAX], nact = 0;
  uint64_t seed = 1;
  const char *ready = NULL;
  for (int i = 4; i < argc; i++) {
    if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = strtoull(argv[++i], NULL, 0);
    } else if (strcmp(argv[i], "--ready") == 0 && i + 1 < argc) {
      ready = argv[++i];
    } else if (nact < ACTIONS_MAX && strcmp(argv[i], "send") == 0 && i + 1 < argc) {
      sends[nact] = 1;
      send_n[nact++] = strtoull(argv[++i], NULL, 0);
    } else if (nact < ACTIONS_MAX && strcmp(argv[i], "recv") == 0) {
      sends[nact++] = 0;
    } else {
      return usage();
    }
  }
  if (nact == 0) return usage();
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
  if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) return usage();

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return die("socket");
  if (listening) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return die("bind");
    if (listen(fd, 1) < 0) return die("listen");
    if (ready) {
      FILE *f = fopen(ready, "w");
      if (f) fclose(f);
    }
    int c = accept(fd, NULL, NULL);
    if (c < 0) return die("accept");
    close(fd);
    fd = c;
  } else if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    return die("connect");
  }

  int rc = 0, eof_seen = 0;
  for (int a = 0; a < nact && rc == 0; a++) {
    struct sha256 sha;
    sha_init(&sha);
    uint64_t moved = 0;
    double t0 = now_s();
    if (sends[a]) {
      rc = do_send(fd, send_n[a], seed + (uint64_t)a, &sha, &moved);
    } else {
      rc = eof_seen ? 0 : do_recv(fd, &sha, &moved);
      eof_seen = 1;
    }
    double secs = now_s() - t0;
    char hex[65];
    sha_hex(&sha, hex);
    printf("%s %llu sha256 %s secs %.3f MBps %.1f\n", sends[a] ? "sent" : "received",
           (unsigned long long)moved, hex, secs, secs > 0 ? (double)moved / secs / 1e6 : 0.0);
    fflush(stdout);
  }
  /* The peer's FIN: a clean end has no further bytes and no reset. */
  while (rc == 0 && !eof_seen) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r == 0) eof_seen = 1;
    else if (r < 0 && errno != EINTR) rc = die("read (waiting for the peer's FIN)");
    else if (r > 0) {
      fprintf(stderr, "tcp_blast: %zd unexpected bytes from the peer\n", r);
      rc = 1;
    }
  }
  if (close(fd) < 0 && rc == 0) rc = die("close");
  return rc;
}
