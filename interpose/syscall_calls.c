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

/* Our function for call nr with arguments a, into *ret. Returns 0 when the
 * call is not ours to take. */
static int take(long nr, const long a[6], long *ret) {
  switch (nr) {
  /* Calls that create fds or may find a stale entry on a kernel fd's number:
   * ours always (they go to the kernel themselves when it is not ours). */
  case SYS_socket: *ret = socket(FD(0), FD(1), FD(2)); return 1;
  case SYS_socketpair: *ret = socketpair(FD(0), FD(1), FD(2), PTR(3)); return 1;
  case SYS_accept: *ret = accept(FD(0), PTR(1), PTR(2)); return 1;
  case SYS_accept4: *ret = accept4(FD(0), PTR(1), PTR(2), FD(3)); return 1;
#ifdef SYS_close_range
  case SYS_close_range: *ret = close_range((unsigned)a[0], (unsigned)a[1], FD(2)); return 1;
#endif
  /* dup onto an fd of ours forgets it; dup of ours copies the entry. */
#ifdef SYS_dup2
  case SYS_dup2:
    if (!known(a[0]) && !known(a[1])) return 0;
    *ret = dup2(FD(0), FD(1));
    return 1;
#endif
  case SYS_dup3:
    if (!known(a[0]) && !known(a[1])) return 0;
    *ret = dup3(FD(0), FD(1), FD(2));
    return 1;
  default: break;
  }
  if (!known(a[0])) return 0;
  switch (nr) {
  case SYS_close: *ret = close(FD(0)); return 1;
  case SYS_dup: *ret = dup(FD(0)); return 1;
  case SYS_fcntl: *ret = fcntl(FD(0), FD(1), PTR(2)); return 1;
  case SYS_ioctl: *ret = ioctl(FD(0), (unsigned long)a[1], PTR(2)); return 1;
  case SYS_bind: *ret = bind(FD(0), PTR(1), (socklen_t)a[2]); return 1;
  case SYS_listen: *ret = listen(FD(0), FD(1)); return 1;
  case SYS_connect: *ret = connect(FD(0), PTR(1), (socklen_t)a[2]); return 1;
  case SYS_shutdown: *ret = shutdown(FD(0), FD(1)); return 1;
  case SYS_getsockname: *ret = getsockname(FD(0), PTR(1), PTR(2)); return 1;
  case SYS_getpeername: *ret = getpeername(FD(0), PTR(1), PTR(2)); return 1;
  case SYS_getsockopt: *ret = getsockopt(FD(0), FD(1), FD(2), PTR(3), PTR(4)); return 1;
  case SYS_setsockopt:
    *ret = setsockopt(FD(0), FD(1), FD(2), PTR(3), (socklen_t)a[4]);
    return 1;
#ifdef SYS_read
  case SYS_read: *ret = read(FD(0), PTR(1), (size_t)a[2]); return 1;
#endif
#ifdef SYS_write
  case SYS_write: *ret = write(FD(0), PTR(1), (size_t)a[2]); return 1;
#endif
  case SYS_readv: *ret = readv(FD(0), PTR(1), FD(2)); return 1;
  case SYS_writev: *ret = writev(FD(0), PTR(1), FD(2)); return 1;
  case SYS_sendto:
    *ret = sendto(FD(0), PTR(1), (size_t)a[2], FD(3), PTR(4), (socklen_t)a[5]);
    return 1;
  case SYS_recvfrom:
    *ret = recvfrom(FD(0), PTR(1), (size_t)a[2], FD(3), PTR(4), PTR(5));
    return 1;
  case SYS_sendmsg: *ret = sendmsg(FD(0), PTR(1), FD(2)); return 1;
  case SYS_recvmsg: *ret = recvmsg(FD(0), PTR(1), FD(2)); return 1;
  case SYS_sendmmsg: *ret = sendmmsg(FD(0), PTR(1), (unsigned)a[2], FD(3)); return 1;
  case SYS_recvmmsg: *ret = recvmmsg(FD(0), PTR(1), (unsigned)a[2], FD(3), PTR(4)); return 1;
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
