/* Program-side fd table (see fdtable.h). */
#include "shim/fdtable.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHUNK_BITS 10
#define CHUNK_SIZE (1 << CHUNK_BITS)
#define NCHUNKS (US_FD_MAX / CHUNK_SIZE)

static struct us_fd_info *fd_chunks[NCHUNKS];
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;

static struct us_fd_info *fd_slot(int fd, int create) {
  if (fd < 0 || fd >= US_FD_MAX) return 0;
  struct us_fd_info *chunk = __atomic_load_n(&fd_chunks[fd >> CHUNK_BITS], __ATOMIC_ACQUIRE);
  if (!chunk && create) {
    /* mmap, not malloc: callable from any context, zero-filled. */
    void *p = mmap(0, CHUNK_SIZE * sizeof(struct us_fd_info), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 0;
    chunk = p;
    __atomic_store_n(&fd_chunks[fd >> CHUNK_BITS], chunk, __ATOMIC_RELEASE);
  }
  return chunk ? &chunk[fd & (CHUNK_SIZE - 1)] : 0;
}

__thread int us_fd_bypass;

/* The process whose memory this table is. A vfork child (python's
 * subprocess, for one) shares its parent's memory until it execs; its
 * close()/dup2()/close_range() must not edit the parent's table. A real
 * fork copies the table and takes it over (us_fd_after_fork_child). */
static pid_t fd_owner;

static void fd_atfork_child(void) { us_fd_after_fork_child(); }

__attribute__((constructor)) static void fd_owner_init(void) {
  fd_owner = (pid_t)syscall(SYS_getpid);
  pthread_atfork(0, 0, fd_atfork_child);
}

/* getpid() without glibc's help: no pid cache to trust under vfork. */
static int fd_mine(void) { return (pid_t)syscall(SYS_getpid) == fd_owner || !fd_owner; }

struct us_fd_info *us_fd_get(int fd) {
  if (us_fd_bypass) return 0;
  struct us_fd_info *e = fd_slot(fd, 0);
  return e && __atomic_load_n(&e->kind, __ATOMIC_ACQUIRE) != US_FD_NONE ? e : 0;
}

int us_fd_set(int fd, const struct us_fd_info *info) {
  if (fd < 0 || fd >= US_FD_MAX) return -EBADF;
  if (!fd_mine()) return -EPERM;
  pthread_mutex_lock(&fd_lock);
  struct us_fd_info *e = fd_slot(fd, 1);
  if (e) {
    struct us_fd_info copy = *info;
    uint8_t kind = copy.kind;
    copy.kind = US_FD_NONE;
    __atomic_store_n(&e->kind, US_FD_NONE, __ATOMIC_RELEASE);
    *e = copy;
    __atomic_store_n(&e->kind, kind, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&fd_lock);
  return e ? 0 : -ENOMEM;
}

void us_fd_clear(int fd) {
  struct us_fd_info *e = fd_slot(fd, 0);
  if (!e || __atomic_load_n(&e->kind, __ATOMIC_ACQUIRE) == US_FD_NONE || !fd_mine()) return;
  pthread_mutex_lock(&fd_lock);
  __atomic_store_n(&e->kind, US_FD_NONE, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&fd_lock);
}

void us_fd_copy(int from, int to) {
  struct us_fd_info *src = us_fd_get(from);
  if (!src) {
    us_fd_clear(to);
    return;
  }
  struct us_fd_info copy = *src;
  if (us_fd_set(to, &copy) < 0) us_fd_clear(to);
}

void us_fd_clear_range(unsigned lo, unsigned hi) {
  if (lo >= US_FD_MAX || !fd_mine()) return;
  if (hi >= US_FD_MAX) hi = US_FD_MAX - 1;
  pthread_mutex_lock(&fd_lock);
  for (unsigned fd = lo; fd <= hi;) {
    struct us_fd_info *chunk = fd_chunks[fd >> CHUNK_BITS];
    if (!chunk) { /* skip a whole unallocated chunk */
      fd = ((fd >> CHUNK_BITS) + 1) << CHUNK_BITS;
      continue;
    }
    __atomic_store_n(&chunk[fd & (CHUNK_SIZE - 1)].kind, US_FD_NONE, __ATOMIC_RELEASE);
    fd++;
  }
  pthread_mutex_unlock(&fd_lock);
}

int us_fd_count(enum us_fd_kind kind) {
  int n = 0;
  pthread_mutex_lock(&fd_lock);
  for (int c = 0; c < NCHUNKS; c++) {
    if (!fd_chunks[c]) continue;
    for (int i = 0; i < CHUNK_SIZE; i++) n += fd_chunks[c][i].kind == kind;
  }
  pthread_mutex_unlock(&fd_lock);
  return n;
}

void us_fd_after_fork_child(void) {
  /* Only the forking thread survives: a lock another thread held is free. */
  pthread_mutex_init(&fd_lock, 0);
  fd_owner = (pid_t)syscall(SYS_getpid);
}
