/* Process-wide calls that change what the interposer may do or must carry:
 *  - prctl(PR_SET_SECCOMP): the program confines itself (sshd's
 *    pre-authentication child). From then on a system call outside its
 *    filter kills it: the control socket is left alone and data moves with
 *    plain read/write (ctl_client.h, us_ctl_sandboxed).
 *  - the exec family with an environment of the caller's making (execve,
 *    execvpe, execle, execveat, fexecve, posix_spawn, posix_spawnp): a new
 *    image that inherits a ustack socket needs libustack.so and the way to
 *    its stack, or the socket is a bare AF_UNIX socket to it. If the caller
 *    left out LD_PRELOAD, USTACK_CTL or USTACK_LAUNCHER and passes such a
 *    socket, they are added back (shim/fd_inherit.c recognises the socket
 *    in the new image). An environment that has them, or an exec that
 *    passes no socket of ours, goes through untouched.
 * Nothing here allocates with malloc: exec often runs in a vfork child. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/config.h"
#include "shim/ctl_client.h"
#include "shim/fd_inherit.h"

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

/* ---- exec ------------------------------------------------------------------ */

/* What a new image needs, taken while the library starts (never in a vfork
 * child): "NAME=value" entries, empty if this process has none. */
static char env_preload[PATH_MAX + 32], env_ctl[PATH_MAX + 16], env_launcher[64];
static char our_lib[PATH_MAX];

typedef int spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *,
                     const posix_spawnattr_t *, char *const[], char *const[]);
typedef int fexecve_fn(int, char *const[], char *const[]);
typedef int execvpe_fn(const char *, char *const[], char *const[]);
/* libc's own, looked up here: dlsym takes locks a vfork child must not. */
static fexecve_fn *real_fexecve;
static execvpe_fn *real_execvpe;
static spawn_fn *real_spawn, *real_spawnp;

__attribute__((constructor)) static void exec_env_init(void) {
  const char *ctl = getenv(US_ENV_CTL), *pre = getenv("LD_PRELOAD");
  const char *own = getenv(US_ENV_LAUNCHER);
  real_fexecve = (fexecve_fn *)dlsym(RTLD_NEXT, "fexecve");
  real_execvpe = (execvpe_fn *)dlsym(RTLD_NEXT, "execvpe");
  real_spawn = (spawn_fn *)dlsym(RTLD_NEXT, "posix_spawn");
  real_spawnp = (spawn_fn *)dlsym(RTLD_NEXT, "posix_spawnp");
  Dl_info di;
  if (dladdr((void *)exec_env_init, &di) && di.dli_fname && di.dli_fname[0] == '/')
    snprintf(our_lib, sizeof our_lib, "%s", di.dli_fname);
  if (pre && *pre) snprintf(env_preload, sizeof env_preload, "LD_PRELOAD=%s", pre);
  if (ctl && *ctl) snprintf(env_ctl, sizeof env_ctl, "%s=%s", US_ENV_CTL, ctl);
  if (own && *own) snprintf(env_launcher, sizeof env_launcher, "%s=%s", US_ENV_LAUNCHER, own);
}

static int has_entry(char *const envp[], const char *prefix, size_t n, const char *needle) {
  for (size_t i = 0; envp[i]; i++)
    if (!strncmp(envp[i], prefix, n) && (!needle || strstr(envp[i] + n, needle))) return 1;
  return 0;
}

struct exec_env {
  char **env;      /* what to pass: the caller's envp or our copy */
  void *map;       /* our copy's memory, or NULL */
  size_t map_len;
};

/* The environment for the new image (see the top of the file). */
static void exec_env_make(char *const envp[], struct exec_env *x) {
  x->env = (char **)envp;
  x->map = 0;
  if (!envp || !env_ctl[0] || !our_lib[0]) return; /* not under a stack */
  const char *lib = strrchr(our_lib, '/') + 1;
  int want_pre = !has_entry(envp, "LD_PRELOAD=", 11, lib);
  int want_ctl = !has_entry(envp, US_ENV_CTL "=", sizeof US_ENV_CTL, 0);
  int want_own = env_launcher[0] && !has_entry(envp, US_ENV_LAUNCHER "=", sizeof US_ENV_LAUNCHER, 0);
  if (!want_pre && !want_ctl && !want_own) return;
  if (!us_fd_inherit_passes_socket()) return;
  size_t n = 0;
  while (envp[n]) n++;
  /* Room for the pointers and one LD_PRELOAD entry merged with theirs. */
  const char *theirs = 0;
  for (size_t i = 0; i < n; i++)
    if (!strncmp(envp[i], "LD_PRELOAD=", 11)) theirs = envp[i] + 11;
  size_t pre_len = 11 + strlen(our_lib) + 1 + (theirs ? strlen(theirs) : 0) + 1;
  x->map_len = (n + 4) * sizeof(char *) + pre_len;
  void *p = mmap(0, x->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return;
  char **env = p;
  char *pre = (char *)(env + n + 4);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!want_pre || strncmp(envp[i], "LD_PRELOAD=", 11)) env[k++] = envp[i];
  if (want_pre) {
    strcpy(pre, "LD_PRELOAD=");
    strcat(pre, our_lib);
    if (theirs && *theirs) {
      strcat(pre, " ");
      strcat(pre, theirs);
    }
    env[k++] = pre;
  }
  if (want_ctl) env[k++] = env_ctl;
  if (want_own) env[k++] = env_launcher;
  env[k] = 0;
  x->env = env;
  x->map = p;
}

static void exec_env_drop(struct exec_env *x) {
  if (x->map) munmap(x->map, x->map_len);
  x->map = 0;
}


EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  struct exec_env x;
  exec_env_make(envp, &x);
  long r = syscall(SYS_execve, path, argv, x.env);
  int e = errno;
  exec_env_drop(&x);
  errno = e;
  return (int)r;
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                    int flags) {
  struct exec_env x;
  exec_env_make(envp, &x);
  long r = syscall(SYS_execveat, dirfd, path, argv, x.env, flags);
  int e = errno;
  exec_env_drop(&x);
  errno = e;
  return (int)r;
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  if (!real_fexecve) return errno = ENOSYS, -1;
  struct exec_env x;
  exec_env_make(envp, &x);
  int r = real_fexecve(fd, argv, x.env);
  int e = errno;
  exec_env_drop(&x);
  errno = e;
  return r;
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  if (!real_execvpe) return errno = ENOSYS, -1;
  struct exec_env x;
  exec_env_make(envp, &x);
  int r = real_execvpe(file, argv, x.env);
  int e = errno;
  exec_env_drop(&x);
  errno = e;
  return r;
}

#define EXECLE_MAX 4096

EXPORT int execle(const char *path, const char *arg, ...) {
  const char *argv[EXECLE_MAX];
  size_t n = 0;
  va_list ap;
  va_start(ap, arg);
  argv[n++] = arg;
  while (argv[n - 1]) {
    if (n == EXECLE_MAX) {
      va_end(ap);
      return errno = E2BIG, -1;
    }
    argv[n++] = va_arg(ap, const char *);
  }
  char *const *envp = va_arg(ap, char *const *);
  va_end(ap);
  return execve(path, (char *const *)argv, envp);
}

static int spawn_with(spawn_fn *real, pid_t *pid, const char *path,
                      const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *at,
                      char *const argv[], char *const envp[]) {
  if (!real) return ENOSYS;
  struct exec_env x;
  exec_env_make(envp, &x);
  int r = real(pid, path, fa, at, argv, x.env);
  exec_env_drop(&x);
  return r;
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                       const posix_spawnattr_t *at, char *const argv[], char *const envp[]) {
  return spawn_with(real_spawn, pid, path, fa, at, argv, envp);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *at, char *const argv[], char *const envp[]) {
  return spawn_with(real_spawnp, pid, file, fa, at, argv, envp);
}
