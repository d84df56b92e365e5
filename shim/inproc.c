/* Direct mode: the stack host inside the program (see inproc.h). */
#include "shim/inproc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim/chan_end.h"
#include "shim/config.h"
#include "shim/ctl_client.h"
#include "shim/ctl_listen.h"
#include "shim/ctl_server.h"
#include "shim/host.h"
#include "shim/log.h"

#define INPROC_DRAIN_MS 10000

static struct {
  struct us_host *host;
  struct us_ctl_server *srv;
  struct us_ctl_listen ctl;
  pid_t owner; /* forked children share the memory, not the thread */
} inproc;

/* Is someone serving path? A process that exec'd away (sh -c 'exec prog')
 * leaves its socket file behind with nobody listening. Raw system calls:
 * our own interposed socket calls are not ready this early. */
static int ctl_alive(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return 0;
  strcpy(sa.sun_path, path);
  int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  int ok = syscall(SYS_connect, fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  syscall(SYS_close, fd);
  return ok;
}

static int env_set(const char *name) {
  const char *v = getenv(name);
  return v && *v;
}

static void inproc_stop(void) {
  if (!inproc.host || getpid() != inproc.owner) return;
  if (us_ctl_drain(inproc.host, inproc.srv, INPROC_DRAIN_MS))
    us_log_warn("connections still closing after %d s without progress: exiting anyway", INPROC_DRAIN_MS / 1000);
  us_ctl_server_detach(inproc.host, inproc.srv);
  us_host_stop(inproc.host);
  us_ctl_listen_close(&inproc.ctl);
  inproc.host = NULL;
}

static void __attribute__((noreturn)) inproc_fail(const char *msg) {
  char line[640];
  int n = snprintf(line, sizeof line, "ustack: %s\n", msg);
  if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
  if (write(STDERR_FILENO, line, (size_t)n) < 0) { /* nothing more to say */ }
  _exit(2);
}

/* A dead socket left by a direct-mode process that exec'd away: remove it
 * and its directory (only the shape ctl_listen.c makes: .../ustack.XXXXXX/ctl). */
static void remove_dead_ctl(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash || strcmp(slash, "/ctl") != 0) return;
  *slash = 0;
  const char *base = strrchr(dir, '/');
  if (!base || strncmp(base, "/ustack.", 8) != 0) return;
  if (unlink(path) < 0) return;
  char ends[PATH_MAX];
  snprintf(ends, sizeof ends, "%.*s/" US_CHAN_END_FILE, (int)(sizeof ends - 8), dir);
  unlink(ends);
  rmdir(dir);
}

/* Is pid this process's parent, grandparent...? */
static int is_ancestor(long pid) {
  long p = (long)getppid();
  for (int depth = 0; depth < 32 && p > 1; depth++) {
    if (p == pid) return 1;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", p);
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')'); /* the name may hold spaces and ')' */
    char state;
    if (!rp || sscanf(rp + 1, " %c %ld", &state, &p) != 2) return 0;
  }
  return 0;
}

/* The address is taken. If an ancestor owns it (a shell script that started
 * a stack but handed its children the environment it was started with, so
 * no USTACK_CTL), use that ancestor's stack, as its children would. */
static int join_ancestor(const struct us_config *cfg) {
  long pid;
  char ctl[PATH_MAX];
  if (us_host_lock_owner(cfg->ifname, cfg->ip, &pid, ctl, sizeof ctl) < 0) return 0;
  if (!ctl[0] || !is_ancestor(pid) || !ctl_alive(ctl)) return 0;
  us_ctl_client_set_path(ctl);
  setenv(US_ENV_CTL, ctl, 1);
  return 1;
}

int us_inproc_start(void) {
  const char *ctl = getenv(US_ENV_CTL);
  if (ctl && *ctl) {
    if (ctl_alive(ctl)) return 0;
    /* A launcher's tree whose launcher was killed: the address belongs to
     * the tree, and a stack started here by one of its orphans would keep
     * it. Its network calls fail instead, as with any dead stack. */
    if (env_set(US_ENV_LAUNCHER)) return 0;
    remove_dead_ctl(ctl);
  }
  if (!env_set(US_ENV_IP) && !env_set(US_ENV_IF)) return 0;

  struct us_config cfg;
  char err[512];
  us_config_init(&cfg);
  if (us_config_from_env(&cfg, err, sizeof err) < 0) inproc_fail(err);
  us_log_threshold = (enum us_log_level)cfg.log_level; /* before finish: it may warn */
  if (us_config_finish(&cfg, "/etc/resolv.conf", err, sizeof err) < 0) inproc_fail(err);
  int rc = us_host_start(&inproc.host, &cfg, NULL, err, sizeof err);
  if (rc == -EADDRINUSE && join_ancestor(&cfg)) return 0;
  if (rc < 0) inproc_fail(err);
  int r;
  if (us_ctl_listen_open(&inproc.ctl, err, sizeof err) < 0) inproc_fail(err);
  if ((r = us_ctl_server_attach(inproc.host, inproc.ctl.fd, &inproc.srv)) < 0) {
    snprintf(err, sizeof err, "cannot serve the control socket: %s", strerror(-r));
    inproc_fail(err);
  }
  inproc.owner = getpid();
  us_host_note_ctl(inproc.host, inproc.ctl.path);
  /* This process, and the children it starts while it runs, use this stack;
   * a child that outlives us finds the socket dead and starts its own. */
  us_ctl_client_set_path(inproc.ctl.path);
  setenv(US_ENV_CTL, inproc.ctl.path, 1);
  atexit(inproc_stop);
  return 1;
}
