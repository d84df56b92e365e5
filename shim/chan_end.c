/* The clean-end table (see chan_end.h). */
#define _GNU_SOURCE
#include "shim/chan_end.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TABLE_BYTES ((size_t)US_CHAN_END_SLOTS * sizeof(uint32_t))
#define SLOT_MASK (US_CHAN_END_SLOTS - 1)

/* The stack's mapping and a program's are kept apart: in direct mode one
 * process is both. */
static uint32_t *writer;
static uint32_t *reader;

static void table_path(const char *dir, char *out, size_t n) {
  if ((size_t)snprintf(out, n, "%s/", dir) < n)
    strncat(out, US_CHAN_END_FILE, n - strlen(out) - 1);
}

static uint32_t *map_table(int fd, int prot) {
  void *p = mmap(0, TABLE_BYTES, prot, MAP_SHARED, fd, 0);
  return p == MAP_FAILED ? 0 : p;
}

int us_chan_end_create(const char *dir) {
  char path[PATH_MAX];
  table_path(dir, path, sizeof path);
  /* Raw calls: in direct mode this runs inside an interposed program. */
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  int rc = 0;
  if (ftruncate(fd, (off_t)TABLE_BYTES) < 0 || !(writer = map_table(fd, PROT_READ | PROT_WRITE)))
    rc = -errno;
  syscall(SYS_close, fd);
  if (rc < 0) unlink(path);
  return rc;
}

void us_chan_end_remove(const char *dir) {
  if (!writer) return;
  munmap(writer, TABLE_BYTES);
  writer = 0;
  char path[PATH_MAX];
  table_path(dir, path, sizeof path);
  unlink(path);
}

void us_chan_end_mark(uint32_t id) {
  uint32_t slot = (id & SLOT_MASK) - 1;
  if (writer && (id & SLOT_MASK)) __atomic_store_n(&writer[slot], id, __ATOMIC_RELEASE);
}

void us_chan_end_attach(const char *ctl_path) {
  if (__atomic_load_n(&reader, __ATOMIC_ACQUIRE)) return;
  char dir[PATH_MAX], path[PATH_MAX];
  if (strlen(ctl_path) >= sizeof dir) return;
  strcpy(dir, ctl_path);
  char *slash = strrchr(dir, '/');
  if (!slash) return;
  *slash = 0;
  table_path(dir, path, sizeof path);
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  uint32_t *p = map_table(fd, PROT_READ);
  syscall(SYS_close, fd);
  uint32_t *none = 0;
  if (p && !__atomic_compare_exchange_n(&reader, &none, p, 0, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
    munmap(p, TABLE_BYTES); /* another thread was first */
}

int us_chan_end_clean(uint32_t id) {
  uint32_t *t = __atomic_load_n(&reader, __ATOMIC_ACQUIRE);
  if (!t || !(id & SLOT_MASK)) return 0;
  return __atomic_load_n(&t[(id & SLOT_MASK) - 1], __ATOMIC_ACQUIRE) == id;
}
