/* ustack's own heap, for every layer (stack, netdev, shim): tcmalloc's tc_
 * entry points when built with it, so the program's malloc stays the
 * program's; libc's otherwise (sanitizer builds). */
#ifndef USTACK_ALLOC_H
#define USTACK_ALLOC_H
#include <stddef.h>
#ifdef USTACK_TCMALLOC
#include <gperftools/tcmalloc.h>
#define us_malloc(n) tc_malloc(n)
#define us_calloc(n, m) tc_calloc((n), (m))
#define us_realloc(p, n) tc_realloc((p), (n))
#define us_free(p) tc_free(p)
#else
#include <stdlib.h>
#define us_malloc(n) malloc(n)
#define us_calloc(n, m) calloc((n), (m))
#define us_realloc(p, n) realloc((p), (n))
#define us_free(p) free(p)
#endif
#endif
