/* udp_raw_write IP PORT: writes garbage into a UDP socket by ways no
 * LD_PRELOAD interposer can see, then sends one datagram the ordinary way.
 *
 * Under ustack the socket's fd is a channel to the stack whose messages carry
 * a header (shim/dgram.h). The garbage goes around the interposer: a `syscall`
 * instruction issued inline (no libc function is called), an empty message
 * the same way, and sendfile() from a file (the kernel copies, libc only
 * traps). One of them looks like an old unkeyed header addressed to IP:PORT,
 * the rest are random bytes. None of it may leave the interface; the
 * datagram sent with send() afterwards must, and its echo must come back.
 * Prints one line per step; exits 0 when the echo came back. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

/* write(2) as a bare system call instruction: no libc, no PLT, nothing an
 * interposer can take. Returns the kernel's result (negative errno). */
static long raw_write(int fd, const void *buf, size_t len) {
#if defined(__x86_64__)
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"((long)SYS_write), "D"((long)fd), "S"(buf), "d"(len)
                   : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = SYS_write;
  register long x0 __asm__("x0") = fd;
  register long x1 __asm__("x1") = (long)buf;
  register long x2 __asm__("x2") = (long)len;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
#else
#error "raw_write: add this architecture's system call instruction"
#endif
}

/* Sends len bytes of buf into fd with sendfile() from a temporary file. */
static long via_sendfile(int fd, const void *buf, size_t len) {
  char path[] = "/tmp/udp_raw_write.XXXXXX";
  int f = mkstemp(path);
  if (f < 0) return -errno;
  unlink(path);
  long r = write(f, buf, len) == (ssize_t)len ? 0 : -EIO;
  if (r == 0) {
    off_t off = 0;
    r = sendfile(fd, f, &off, len);
    if (r < 0) r = -errno;
  }
  close(f);
  return r;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: udp_raw_write IP PORT\n");
    return 2;
  }
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    fprintf(stderr, "udp_raw_write: bad address %s\n", argv[1]);
    return 2;
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) < 0) {
    perror("udp_raw_write: socket/connect");
    return 1;
  }
  /* What a header without the key looked like: destination first. */
  unsigned char forged[64] = {0};
  memcpy(forged, &to.sin_addr, 4);
  memcpy(forged + 4, &to.sin_port, 2);
  memcpy(forged + 12, "FORGED-HEADER", 13);
  unsigned char noise[200];
  for (size_t i = 0; i < sizeof noise; i++) noise[i] = (unsigned char)(i * 37 + 11);
  printf("raw forged header: %ld\n", raw_write(s, forged, sizeof forged));
  printf("raw noise: %ld\n", raw_write(s, noise, sizeof noise));
  printf("raw empty: %ld\n", raw_write(s, "", 0));
  printf("sendfile forged header: %ld\n", via_sendfile(s, forged, sizeof forged));

  struct timeval tv = {5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const char msg[] = "through the interposer";
  printf("send: %zd\n", send(s, msg, sizeof msg - 1, 0));
  char buf[512];
  ssize_t n = recv(s, buf, sizeof buf - 1, 0);
  if (n < 0) {
    printf("recv: %s\n", strerror(errno));
    return 1;
  }
  buf[n] = 0;
  printf("echo: %s\n", buf);
  return strcmp(buf, msg) == 0 ? 0 : 1;
}
