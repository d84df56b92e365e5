/* The real libc functions behind the ones libustack.so interposes.
 *
 * Resolved lazily with dlsym(RTLD_NEXT): an interposed call may arrive before
 * our constructor runs (from another library's constructor), so every entry
 * resolves itself on first use instead of relying on init order. */
#ifndef USTACK_INTERPOSE_LIBC_REAL_H
#define USTACK_INTERPOSE_LIBC_REAL_H

#include <netdb.h>
#include <stdio.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* X(return type, name, parameter list) for every function we forward. */
#define US_REAL_FUNCS(X)                                                         \
  X(int, socket, (int, int, int))                                                \
  X(int, socketpair, (int, int, int, int *))                                     \
  X(int, bind, (int, const struct sockaddr *, socklen_t))                        \
  X(int, listen, (int, int))                                                     \
  X(int, accept, (int, struct sockaddr *, socklen_t *))                          \
  X(int, accept4, (int, struct sockaddr *, socklen_t *, int))                    \
  X(int, connect, (int, const struct sockaddr *, socklen_t))                     \
  X(int, shutdown, (int, int))                                                   \
  X(int, close, (int))                                                           \
  X(int, close_range, (unsigned, unsigned, int))                                 \
  X(int, fclose, (FILE *))                                                       \
  X(int, dup, (int))                                                             \
  X(int, dup2, (int, int))                                                       \
  X(int, dup3, (int, int, int))                                                  \
  X(int, fcntl, (int, int, ...))                                                 \
  X(int, fcntl64, (int, int, ...))                                               \
  X(int, ioctl, (int, unsigned long, ...))                                       \
  X(int, getsockopt, (int, int, int, void *, socklen_t *))                       \
  X(int, setsockopt, (int, int, int, const void *, socklen_t))                   \
  X(int, getsockname, (int, struct sockaddr *, socklen_t *))                     \
  X(int, getpeername, (int, struct sockaddr *, socklen_t *))                     \
  X(ssize_t, send, (int, const void *, size_t, int))                             \
  X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t)) \
  X(ssize_t, sendmsg, (int, const struct msghdr *, int))                         \
  X(int, sendmmsg, (int, struct mmsghdr *, unsigned, int))                       \
  X(ssize_t, recv, (int, void *, size_t, int))                                   \
  X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *)) \
  X(ssize_t, recvmsg, (int, struct msghdr *, int))                               \
  X(int, recvmmsg, (int, struct mmsghdr *, unsigned, int, struct timespec *))    \
  X(ssize_t, read, (int, void *, size_t))                                        \
  X(ssize_t, write, (int, const void *, size_t))                                 \
  X(ssize_t, readv, (int, const struct iovec *, int))                            \
  X(ssize_t, writev, (int, const struct iovec *, int))                           \
  X(ssize_t, sendfile, (int, int, off_t *, size_t))                              \
  X(ssize_t, sendfile64, (int, int, off_t *, size_t))                            \
  X(int, poll, (struct pollfd *, nfds_t, int))                                   \
  X(long, syscall, (long, ...))                                                  \
  X(int, getaddrinfo, (const char *, const char *, const struct addrinfo *, struct addrinfo **)) \
  X(void, freeaddrinfo, (struct addrinfo *))                                     \
  X(int, getnameinfo, (const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int))

struct us_real_fns {
#define US_REAL_FIELD(ret, name, args) ret(*name) args;
  US_REAL_FUNCS(US_REAL_FIELD)
#undef US_REAL_FIELD
};

extern struct us_real_fns us_real_tab;
void us_real_resolve(void);
/* dlsym(RTLD_NEXT, name) for the rarely used ones (gethostbyname...). */
void *us_dlsym_next(const char *name);

/* us_real(name) is the real libc function, resolved on first use. */
#define us_real(name) \
  (__builtin_expect(us_real_tab.name != 0, 1) ? us_real_tab.name : (us_real_resolve(), us_real_tab.name))

#endif
