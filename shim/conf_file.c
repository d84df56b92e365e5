/* Whole-file reads for the resolver's configuration files. */
#include "shim/conf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/alloc.h"

int us_read_small_file(const char *path, size_t max, char **out, size_t *out_len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t len = 0, cap = 0;
  char *buf = NULL;
  int err = 0;
  while (len < max) {
    if (len == cap) { /* grow by doubling, never past max */
      size_t ncap = cap ? cap * 2 : 4096;
      if (ncap > max) ncap = max;
      char *nb = us_realloc(buf, ncap);
      if (!nb) {
        err = -ENOMEM;
        break;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = -errno;
      break;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  if (!err && !buf) buf = us_malloc(1); /* empty file or max 0: still a buffer */
  if (!err && !buf) err = -ENOMEM;
  if (err) {
    us_free(buf);
    return err;
  }
  *out = buf;
  *out_len = len;
  return 0;
}
