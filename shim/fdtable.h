/* The program-side fd table: says in O(1) whether an fd belongs to ustack and
 * what it is (family, type, the stack-side socket id, connect state).
 *
 * Two levels of fixed-size chunks, allocated on first use with mmap so the
 * table works before constructors run and never touches the program's malloc.
 * Lookups take no lock; changes take one mutex. Entries are kept by value per
 * fd: dup copies them. The stack holds the authoritative socket state. */
#ifndef USTACK_SHIM_FDTABLE_H
#define USTACK_SHIM_FDTABLE_H

#include <stdint.h>

#define US_FD_MAX (1 << 20) /* fds at or above this are never ours */

enum us_fd_kind {
  US_FD_NONE = 0, /* not ours: the kernel's */
  US_FD_SOCK,     /* a ustack socket: the program end of a channel */
  US_FD_CTL,      /* one of our control connections: hidden from the program */
};

enum us_fd_state {
  US_FDS_NEW = 0,    /* created, maybe bound */
  US_FDS_CONNECTING, /* connect started; SO_SNDBUF shrunk until it ends */
  US_FDS_CONNECTED,
  US_FDS_LISTENING,  /* the channel is a SEQPACKET carrying accepted fds */
  US_FDS_DGRAM,      /* datagram socket: framed channel */
};

struct us_fd_info {
  uint32_t id;      /* stack-side socket id */
  uint8_t kind;     /* enum us_fd_kind */
  uint8_t family;   /* AF_INET or AF_INET6, as the program asked */
  uint8_t type;     /* SOCK_STREAM or SOCK_DGRAM */
  uint8_t state;    /* enum us_fd_state */
  uint8_t v6only;   /* IPV6_V6ONLY set: v4-mapped traffic refused */
  uint8_t dgram_connected; /* datagram socket with a fixed peer */
  uint8_t reuseaddr, reuseport; /* replayed if it moves to the kernel (127/8) */
  uint8_t broadcast; /* SO_BROADCAST: may send to 255.255.255.255 */
  uint8_t more;      /* the last send had MSG_MORE: the stack holds its bytes */
  uint8_t connect_failed; /* channel gone after a failed connect: 2 until connect()
                             has reported it, then 1: the next one starts anew */
  int saved_sndbuf; /* while CONNECTING: the SO_SNDBUF to restore (bytes) */
  /* Datagram sockets: the key every message to the stack carries
   * (shim/dgram.h); 0 = not known yet, asked on first send. */
  uint64_t dgram_key;
  uint8_t linger_on; /* SO_LINGER set with l_onoff: close() may wait */
  int linger_s;      /* its l_linger, seconds */
};

/* Set on threads whose calls must never be taken by the interposer (the
 * stack thread when it runs inside a preloaded program): us_fd_get and
 * us_fd_sock then answer "not ours" for every fd. */
extern __thread int us_fd_bypass;

/* NULL if fd is not ours (US_FD_NONE); else the entry, valid until changed. */
struct us_fd_info *us_fd_get(int fd);
/* NULL unless fd is a ustack socket (US_FD_SOCK) and this thread is not
 * bypassed: the interposer's one check per call. */
static inline struct us_fd_info *us_fd_sock(int fd) {
  struct us_fd_info *e = us_fd_get(fd);
  return e && e->kind == US_FD_SOCK ? e : 0;
}
/* Record fd. Returns 0, or -EBADF for a negative/too large fd, -ENOMEM. */
int us_fd_set(int fd, const struct us_fd_info *info);
void us_fd_clear(int fd);
/* dup: `to` gets a copy of `from`'s entry (or is cleared if from is not ours). */
void us_fd_copy(int from, int to);
/* close_range: clear every entry in [lo, hi]. */
void us_fd_clear_range(unsigned lo, unsigned hi);
/* In a child after fork, before anything else touches the table. */
void us_fd_after_fork_child(void);
/* Number of entries of a kind (tests, diagnostics). */
int us_fd_count(enum us_fd_kind kind);

#endif
