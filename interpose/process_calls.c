/* Process-wide calls that change what the interposer may do:
 *  - prctl(PR_SET_SECCOMP): the program confines itself (sshd's
 *    pre-authentication child). From then on a system call outside its
 *    filter kills it: the control socket is left alone and data moves with
 *    plain read/write (ctl_client.h, us_ctl_sandboxed). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/ctl_client.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT int prctl(int option, ...) {
  va_list ap;
  va_start(ap, option);
  unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
  unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
  va_end(ap);
  /* Before the filter is in place: nothing of ours may run after it. */
  if (option == PR_SET_SECCOMP && a2 == 2 /* SECCOMP_MODE_FILTER */)
    __atomic_store_n(&us_ctl_sandboxed, 1, __ATOMIC_RELAXED);
  return (int)syscall(SYS_prctl, option, a2, a3, a4, a5);
}
