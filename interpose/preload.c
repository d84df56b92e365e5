/* libustack.so: the library the launcher preloads into every program it runs.
 *
 * Today it only has to exist with the right shape: built from the same
 * stack/shim/netdev code as the launcher, linked to libtcmalloc_minimal and
 * libuv as shared dependencies (so the program's malloc and uv_* stay the
 * program's), and exporting nothing but the libc names listed in exports.map.
 * The interposed socket calls are added on top of this file. */
#include <stdlib.h>

#include "shim/log.h"

/* Runs when the library loads: honour USTACK_LOG so later diagnostics from
 * inside the program are filtered like the launcher's. */
__attribute__((constructor)) static void us_preload_init(void) {
  int l = us_log_parse_level(getenv("USTACK_LOG"));
  if (l >= 0) us_log_threshold = (enum us_log_level)l;
}
