/* /etc/hosts (hosts(5)): "address canonical_name [aliases...]" per line,
 * '#' starts a comment. Looked up before DNS, as glibc's "files" source. */
#ifndef USTACK_HOSTS_FILE_H
#define USTACK_HOSTS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "stack/dns_client.h"

struct us_hosts;

/* Parse text (need not be NUL-terminated). Lines with an address that is
 * not IPv4 or IPv6, or without a name, are skipped. NULL if out of memory. */
struct us_hosts *us_hosts_parse(const char *text, size_t len);
/* Read and parse a file. NULL with *err set (negative errno) if it cannot be
 * read; a missing /etc/hosts simply means no entries to the caller. */
struct us_hosts *us_hosts_load(const char *path, int *err);
void us_hosts_free(struct us_hosts *h);
size_t us_hosts_count(const struct us_hosts *h);

/* Addresses of every line naming `name` (canonical name or alias, ASCII
 * case-insensitive, a trailing dot ignored), in file order, of family 4, 6
 * or 0 for both. Writes at most max to out and returns how many matched
 * (may exceed max). *canon (if not NULL) gets the first matching line's
 * canonical name, valid while h lives. */
size_t us_hosts_lookup(const struct us_hosts *h, const char *name, int family,
                       struct us_dns_addr *out, size_t max, const char **canon);
/* The canonical name of the first line with this address (family 4: 4
 * bytes, 6: 16 bytes, network byte order), or NULL. */
const char *us_hosts_reverse(const struct us_hosts *h, int family, const uint8_t *addr);

#endif
