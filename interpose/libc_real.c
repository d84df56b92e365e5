/* Lazy dlsym(RTLD_NEXT) of the real libc functions (see libc_real.h). */
#define _GNU_SOURCE
#include "interpose/libc_real.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

struct us_real_fns us_real_tab;

/* Used when a symbol is missing (old libc without close_range): the call
 * fails with ENOSYS instead of jumping to NULL. */
static long real_missing(void) {
  errno = ENOSYS;
  return -1;
}

void us_real_resolve(void) {
  /* Idempotent: racing threads store the same pointers. */
#define US_REAL_LOAD(ret, name, args)                                   \
  if (!us_real_tab.name) {                                              \
    void *p = dlsym(RTLD_NEXT, #name);                                  \
    us_real_tab.name = p ? (ret(*) args)p : (ret(*) args)(void *)real_missing; \
  }
  US_REAL_FUNCS(US_REAL_LOAD)
#undef US_REAL_LOAD
}

void *us_dlsym_next(const char *name) { return dlsym(RTLD_NEXT, name); }
