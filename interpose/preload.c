/* libustack.so: the library the launcher preloads into every program it runs.
 *
 * It is built from the same stack/shim/netdev code as the launcher, linked
 * to libtcmalloc_minimal and libuv as shared dependencies (so the program's
 * malloc and uv_* stay the program's), and exports nothing but the libc
 * names listed in exports.map. The interposed calls live beside this file. */
#include <stdlib.h>

#include "shim/fd_inherit.h"
#include "shim/inproc.h"
#include "shim/log.h"

/* Runs when the library loads: honour USTACK_LOG, and without a launcher but
 * with USTACK_IP set, start the stack inside this program (direct mode);
 * then recognise the sockets this program inherited across exec. */
__attribute__((constructor)) static void us_preload_init(void) {
  int l = us_log_parse_level(getenv("USTACK_LOG"));
  if (l >= 0) us_log_threshold = (enum us_log_level)l;
  us_inproc_start();
  us_fd_inherit_scan();
}
