/* Reading small system configuration files (/etc/resolv.conf, /etc/hosts)
 * whole into memory, with a size bound. */
#ifndef USTACK_CONF_FILE_H
#define USTACK_CONF_FILE_H

#include <stddef.h>

/* Reads at most max bytes of path into a new buffer from us_malloc (the
 * caller us_free()s it; longer files are cut at max). Returns 0, or a
 * negative errno. */
int us_read_small_file(const char *path, size_t max, char **out, size_t *out_len);

#endif
