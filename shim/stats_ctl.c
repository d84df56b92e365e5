/* `ustack ss` / `ustack stat PID`: a running stack's live connections and
 * counters, asked over its control socket (US_CTL_STATS). The stack side
 * writes the text into a memory file and passes its fd with the answer, so
 * the answer has no size limit. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim/config.h"
#include "shim/ctl_proto.h"
#include "shim/host.h"
#include "shim/trace_int.h"

struct live {
  FILE *f;
  us_time_t now;
  unsigned n;
};

static void live_conn(void *arg, const struct us_ev_conn_info *ci) {
  struct live *l = arg;
  stats_conn_lines(l->f, &ci->conn, &ci->snap, ci->rcvq, ci->sndq);
  l->n++;
}

int us_stats_live_fd(struct us_stack *s) {
  int fd = memfd_create("ustack-ss", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  FILE *f = fdopen(dup(fd), "w");
  if (!f) {
    int e = errno;
    close(fd);
    return -e;
  }
  us_stack_read_device(s);
  struct live l = {f, us_host_now(), 0};
  fprintf(f, "%-12s %6s %6s  %-22s %-22s\n", "State", "Recv-Q", "Send-Q", "Local Address:Port",
          "Peer Address:Port");
  us_stack_tcp_foreach(s, live_conn, &l);
  fprintf(f, "(%u TCP socket%s)\n\ncounters:\n", l.n, l.n == 1 ? "" : "s");
  stats_counters(f, s);
  fclose(f);
  lseek(fd, 0, SEEK_SET);
  return fd;
}

/* The launcher's front process is the parent of the one that runs the
 * stack (shim/ustack_main.c): either pid names the launcher. */
static long parent_of(long pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *rp = strrchr(buf, ')');
  char state;
  long ppid;
  return rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 ? ppid : -1;
}

/* Asks the stack behind the control socket at path; prints its answer. */
static int ask(const char *path, int want_pid) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return -ENAMETOOLONG;
  strcpy(sa.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(s);
    return -e;
  }
  struct us_ctl_msg m;
  us_ctl_init(&m, US_CTL_STATS, 0);
  int fd = -1;
  int r = us_ctl_send(s, &m, -1);
  if (r == 0) r = us_ctl_recv(s, &m, &fd);
  close(s);
  if (r < 0) return r;
  if (m.err || fd < 0) {
    if (fd >= 0) close(fd);
    return -(m.err ? m.err : EPROTO);
  }
  if (want_pid && m.a != want_pid && parent_of(m.a) != want_pid) {
    close(fd);
    return -ESRCH;
  }
  printf("ustack in pid %d (control socket %s)\n", m.a, path);
  char buf[4096];
  ssize_t n;
  fflush(stdout);
  while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
  close(fd);
  printf("\n");
  return 0;
}

/* USTACK_CTL from a process's environment (a program under ustack). */
static int ctl_of_pid(int pid, char *out, size_t n) {
  char path[64], buf[65536];
  snprintf(path, sizeof path, "/proc/%d/environ", pid);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = 0;
  const char *key = US_ENV_CTL "=";
  for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
    if (strncmp(buf + i, key, strlen(key)) == 0) {
      snprintf(out, n, "%s", buf + i + strlen(key));
      return 0;
    }
  }
  return -1;
}

/* Every control socket under the places ctl_listen.c makes them. */
static int scan(int want_pid) {
  const char *bases[2] = {getenv("XDG_RUNTIME_DIR"), "/tmp"};
  int found = 0;
  for (int b = 0; b < 2; b++) {
    if (!bases[b] || (b == 1 && bases[0] && !strcmp(bases[0], "/tmp"))) continue;
    DIR *d = opendir(bases[b]);
    if (!d) continue;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (strncmp(e->d_name, "ustack.", 7)) continue;
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s/%s/ctl", bases[b], e->d_name);
      if (access(path, F_OK) < 0) continue;
      if (ask(path, want_pid) == 0) found++;
    }
    closedir(d);
  }
  return found;
}

int us_stats_cmd(int argc, char **argv) {
  char path[PATH_MAX];
  if (!strcmp(argv[0], "stat")) {
    if (argc < 2 || atoi(argv[1]) <= 0) {
      fprintf(stderr, "usage: ustack stat PID\n");
      return 2;
    }
    int pid = atoi(argv[1]);
    if (ctl_of_pid(pid, path, sizeof path) == 0 && ask(path, 0) == 0) return 0;
    if (scan(pid)) return 0; /* PID is a launcher itself */
    fprintf(stderr, "ustack: no running stack serves pid %d\n", pid);
    return 1;
  }
  const char *env = getenv(US_ENV_CTL);
  if (env && *env && ask(env, 0) == 0) return 0;
  if (scan(0)) return 0;
  fprintf(stderr, "ustack: no running stack found (control sockets under $XDG_RUNTIME_DIR or /tmp)\n");
  return 1;
}
