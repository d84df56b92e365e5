/* syscall(), interposed: libc's generic system call entry, which some
 * programs use for socket calls instead of the named wrappers. libuv 1.44
 * (BIND 9.18's dig/host/nslookup, Debian's node) sends and receives UDP with
 * syscall(SYS_sendmmsg / SYS_recvmmsg) and closes and dups fds with
 * syscall(SYS_close / SYS_dup3); without this their datagrams would reach our
 * channel unframed (and be dropped by the stack, shim/dgram.h) and closed
 * sockets would stay in our fd table.
 *
 * A call whose number is one we interpose, on an fd that is ours (or that
 * creates one: socket, accept), goes to our named function, which returns -1
 * and sets errno just as syscall() does. Every other call goes to the real
 * syscall() with its six arguments as they came: a variadic callee cannot
 * know how many were passed, so all six are read and passed on (what glibc's
 * own syscall() does with its registers). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "interpose/interpose.h"

#define EXPORT __attribute__((visibility("default")))

/* The fd table knows this fd: a socket or one of our control connections.
 * An int argument fills only the low half of its register: cast first. */
static int known(long arg) {
  int fd = (int)arg;
  return fd >= 0 && fd < US_FD_MAX && us_fd_get(fd);
}

#define FD(i) ((int)a[i])
#define PTR(i) ((void *)a[i])
/* Ours whatever the fd: the call creates fds or may find a stale entry. */
#define TAKE(call) do { *ret = (call); return 1; } while (0)
/* Ours when the first argument is an fd of ours; else the kernel's. */
#define TAKE_IF_OURS(call) do { if (!known(a[0])) return 0; TAKE(call); } while (0)
/* dup onto an fd of ours forgets it; a dup of ours copies its entry. */
#define TAKE_IF_EITHER(call) do { if (!known(a[0]) && !known(a[1])) return 0; TAKE(call); } while (0)

/* Our function for call nr with arguments a, into *ret. Returns 0 when the
 * call is not ours to take. */
static int take(long nr, const long a[6], long *ret) {
  switch (nr) {
  case SYS_socket: TAKE(socket(FD(0), FD(1), FD(2)));
  case SYS_socketpair: TAKE(socketpair(FD(0), FD(1), FD(2), PTR(3)));
  case SYS_accept: TAKE(accept(FD(0), PTR(1), PTR(2)));
  case SYS_accept4: TAKE(accept4(FD(0), PTR(1), PTR(2), FD(3)));
#ifdef SYS_close_range
  case SYS_close_range: TAKE(close_range((unsigned)a[0], (unsigned)a[1], FD(2)));
#endif
#ifdef SYS_dup2
  case SYS_dup2: TAKE_IF_EITHER(dup2(FD(0), FD(1)));
#endif
  case SYS_dup3: TAKE_IF_EITHER(dup3(FD(0), FD(1), FD(2)));
  case SYS_close: TAKE_IF_OURS(close(FD(0)));
  case SYS_dup: TAKE_IF_OURS(dup(FD(0)));
  case SYS_fcntl: TAKE_IF_OURS(fcntl(FD(0), FD(1), PTR(2)));
  case SYS_ioctl: TAKE_IF_OURS(ioctl(FD(0), (unsigned long)a[1], PTR(2)));
  case SYS_bind: TAKE_IF_OURS(bind(FD(0), PTR(1), (socklen_t)a[2]));
  case SYS_listen: TAKE_IF_OURS(listen(FD(0), FD(1)));
  case SYS_connect: TAKE_IF_OURS(connect(FD(0), PTR(1), (socklen_t)a[2]));
  case SYS_shutdown: TAKE_IF_OURS(shutdown(FD(0), FD(1)));
  case SYS_getsockname: TAKE_IF_OURS(getsockname(FD(0), PTR(1), PTR(2)));
  case SYS_getpeername: TAKE_IF_OURS(getpeername(FD(0), PTR(1), PTR(2)));
  case SYS_getsockopt: TAKE_IF_OURS(getsockopt(FD(0), FD(1), FD(2), PTR(3), PTR(4)));
  case SYS_setsockopt: TAKE_IF_OURS(setsockopt(FD(0), FD(1), FD(2), PTR(3), (socklen_t)a[4]));
#ifdef SYS_read
  case SYS_read: TAKE_IF_OURS(read(FD(0), PTR(1), (size_t)a[2]));
#endif
#ifdef SYS_write
  case SYS_write: TAKE_IF_OURS(write(FD(0), PTR(1), (size_t)a[2]));
#endif
  case SYS_readv: TAKE_IF_OURS(readv(FD(0), PTR(1), FD(2)));
  case SYS_writev: TAKE_IF_OURS(writev(FD(0), PTR(1), FD(2)));
  case SYS_sendto:
    TAKE_IF_OURS(sendto(FD(0), PTR(1), (size_t)a[2], FD(3), PTR(4), (socklen_t)a[5]));
  case SYS_recvfrom: TAKE_IF_OURS(recvfrom(FD(0), PTR(1), (size_t)a[2], FD(3), PTR(4), PTR(5)));
  case SYS_sendmsg: TAKE_IF_OURS(sendmsg(FD(0), PTR(1), FD(2)));
  case SYS_recvmsg: TAKE_IF_OURS(recvmsg(FD(0), PTR(1), FD(2)));
  case SYS_sendmmsg: TAKE_IF_OURS(sendmmsg(FD(0), PTR(1), (unsigned)a[2], FD(3)));
  case SYS_recvmmsg: TAKE_IF_OURS(recvmmsg(FD(0), PTR(1), (unsigned)a[2], FD(3), PTR(4)));
  default: return 0;
  }
}

EXPORT long syscall(long nr, ...) {
  long a[6];
  va_list ap;
  va_start(ap, nr);
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  long ret;
  if (take(nr, a, &ret)) return ret;
  return us_real(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
