/* ustack: the launcher.
 *
 *   ustack [options] [--] PROGRAM [ARGS...]
 *
 * Parses the configuration, starts the stack host thread in this process,
 * serves the control socket programs ask for sockets on, runs PROGRAM
 * with libustack.so preloaded (absolute path, found beside this binary as
 * ../lib/libustack.so) and the USTACK_* configuration in its environment,
 * forwards the usual termination signals to it, and exits with its status
 * (128+N when killed by signal N). Exit status 2: ustack could not start.
 *
 * Two processes: the one the shell waits for (the front) and, forked from it
 * before anything starts, the server, which runs the stack, is the
 * program's parent and a child subreaper (PR_SET_CHILD_SUBREAPER): orphans
 * of the tree (a daemon's forked child) become its children, so it knows
 * when the last process of the tree is gone. When the program exits and the
 * tree lives on (`redis-server --daemonize yes`), the front returns the
 * program's status to the shell as usual while the server detaches (its own
 * session, standard fds on /dev/null) and serves the tree until its last
 * process exits. The server dies with the front while the program runs, so
 * that kill -9 of the launcher takes the stack with it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/config.h"
#include "shim/ctl_listen.h"
#include "shim/ctl_server.h"
#include "shim/host.h"
#include "shim/log.h"
#include "shim/trace.h"

#define EXIT_SETUP 2
/* After the program exits, how long its last connections may take to finish
 * closing (their FINs acknowledged) before ustack exits anyway. */
#define DRAIN_MS 10000
/* When tracing: how long the peer's FIN may take after ours was acked. */
#define SETTLE_MS 2000

extern char **environ;

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t ip_conflict;

static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static volatile sig_atomic_t early_signal; /* arrived before the program existed */

/* A stop signal (not SIGUSR1/2) the program got from us: the user stopped
 * ustack, so the whole tree goes with it instead of being served on. */
static volatile sig_atomic_t stopped_by;

static void forward_signal(int sig) {
  if (sig != SIGUSR1 && sig != SIGUSR2) stopped_by = sig;
  if (child_pid > 0) kill((pid_t)child_pid, sig);
  else early_signal = sig;
}

/* Another host answered ARP for our address: say so, and stop the program
 * rather than let two hosts share an address. */
static void on_ip_conflict(void *arg, const char *msg) {
  (void)arg;
  us_log_error("%s", msg);
  ip_conflict = 1;
  if (child_pid > 0) kill((pid_t)child_pid, SIGTERM);
}

/* libustack.so beside us: <dir of this binary>/../lib/libustack.so, made
 * absolute so that it keeps working after PROGRAM changes directory. */
static int find_library(char *out, size_t outlen) {
  char exe[PATH_MAX], cand[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = 0;
  char *slash = strrchr(exe, '/');
  if (!slash) return -1;
  *slash = 0;
  if ((size_t)snprintf(cand, sizeof cand, "%s/../lib/libustack.so", exe) >= sizeof cand) return -1;
  char abs[PATH_MAX];
  if (!realpath(cand, abs) || access(abs, R_OK) < 0) {
    snprintf(out, outlen, "%s", cand);
    return -1;
  }
  snprintf(out, outlen, "%s", abs);
  return 0;
}

static int is_ours(const char *entry) {
  return strncmp(entry, "USTACK_", 7) == 0 || strncmp(entry, "LD_PRELOAD=", 11) == 0;
}

/* The program's environment: ours minus stale USTACK_* / LD_PRELOAD, plus
 * LD_PRELOAD with libustack.so first, the configuration and USTACK_CTL. */
static char **child_env(const struct us_config *cfg, const char *lib, const char *ctl) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 16, sizeof *env);
  if (!env) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!is_ours(environ[i])) env[k++] = environ[i];
  const char *old = getenv("LD_PRELOAD");
  size_t len = strlen(lib) + (old ? strlen(old) : 0) + 16;
  char *pre = malloc(len);
  if (!pre) return NULL;
  snprintf(pre, len, "LD_PRELOAD=%s%s%s", lib, old && *old ? " " : "", old && *old ? old : "");
  env[k++] = pre;
  k += (size_t)us_config_to_env(cfg, env + k, 12);
  size_t clen = strlen(ctl) + 16;
  char *c = malloc(clen);
  char *owner = malloc(64);
  if (!c || !owner) return NULL;
  snprintf(c, clen, "%s=%s", US_ENV_CTL, ctl);
  env[k++] = c;
  /* Tells a process of the tree that finds the control socket dead (the
   * launcher was killed) not to start a stack of its own on the tree's
   * address (shim/inproc.c). */
  snprintf(owner, 64, "%s=%ld", US_ENV_LAUNCHER, (long)getpid());
  env[k++] = owner;
  env[k] = NULL;
  return env;
}

static int spawn_program(char **argv, char **envp, pid_t *pid) {
  posix_spawnattr_t at;
  sigset_t none, dflt;
  posix_spawnattr_init(&at);
  sigemptyset(&none);
  sigemptyset(&dflt);
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof *forwarded_signals; i++)
    sigaddset(&dflt, forwarded_signals[i]);
  sigaddset(&dflt, SIGPIPE);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &dflt);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int r = posix_spawnp(pid, argv[0], NULL, &at, argv, envp);
  posix_spawnattr_destroy(&at);
  return r;
}

static int wait_program(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return EXIT_SETUP;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return EXIT_SETUP;
}

static void install_forwarding(sigset_t *blocked) {
  struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
  sigemptyset(blocked);
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof *forwarded_signals; i++) {
    sigaction(forwarded_signals[i], &sa, NULL);
    sigaddset(blocked, forwarded_signals[i]);
  }
  signal(SIGPIPE, SIG_IGN); /* the host writes to sockets programs may close */
}

/* Everything the launcher runs while the program does. */
struct launcher {
  struct us_host *host;
  struct us_ctl_server *srv;
  struct us_ctl_listen ctl;
  int watching; /* --trace, --diagram or --stats: let closes finish */
};

/* The launcher holds the stack's end of every socket of the whole process
 * tree: one fd each. The usual soft limit (1024) would cap a served tree at
 * about a thousand connections, so take the hard limit. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* Stack host, control socket and its server; one line in err on failure,
 * with nothing left running. */
static int launcher_start(struct launcher *l, const struct us_config *cfg, char *err,
                          size_t errlen) {
  struct us_host_hooks hooks = {.on_ip_conflict = on_ip_conflict};
  memset(l, 0, sizeof *l);
  l->ctl.fd = -1;
  raise_fd_limit();
  if (us_host_start(&l->host, cfg, &hooks, err, errlen) < 0) return -1;
  l->watching = cfg->trace || cfg->trace_json[0] || cfg->diagram[0] || cfg->stats ||
                cfg->stats_json[0];
  int r = us_ctl_listen_open(&l->ctl, err, errlen);
  if (r == 0 && (r = us_ctl_server_attach(l->host, l->ctl.fd, &l->srv)) < 0)
    snprintf(err, errlen, "cannot serve the control socket: %s", strerror(-r));
  if (r < 0) {
    us_host_stop(l->host);
    us_ctl_listen_close(&l->ctl);
    return -1;
  }
  return 0;
}

static void launcher_stop(struct launcher *l, int drain) {
  /* The stack outlives the program: what it wrote just before exiting is
   * still delivered and its FINs sent. */
  if (drain && us_ctl_drain(l->host, l->srv, DRAIN_MS))
    us_log_warn("connections still closing after %d s without progress: exiting anyway", DRAIN_MS / 1000);
  if (drain && l->watching) us_trace_settle(l->host, SETTLE_MS);
  us_ctl_server_detach(l->host, l->srv);
  us_host_stop(l->host);
  us_ctl_listen_close(&l->ctl);
}

/* Flags and environment into cfg; returns -1 to go on, or an exit status. */
static int parse_config(struct us_config *cfg, int argc, char **argv, int *prog) {
  char err[512];
  us_config_init(cfg);
  int r = us_config_parse_args(cfg, argc, argv, prog, err, sizeof err);
  if (r == US_CONFIG_OK) r = us_config_from_env(cfg, err, sizeof err);
  if (r == US_CONFIG_HELP) {
    us_config_usage(stdout, "ustack");
    return 0;
  }
  us_log_threshold = (enum us_log_level)cfg->log_level;
  if (r == US_CONFIG_OK && *prog >= argc) {
    snprintf(err, sizeof err, "no program to run: ustack [options] -- PROGRAM [ARGS...] (see ustack --help)");
    r = US_CONFIG_ERROR;
  }
  if (r == US_CONFIG_OK) r = us_config_finish(cfg, "/etc/resolv.conf", err, sizeof err);
  if (r != US_CONFIG_OK) {
    fprintf(stderr, "ustack: %s\n", err);
    return EXIT_SETUP;
  }
  return -1;
}

/* Starts the program with forwarded signals held until its pid is known, so
 * none is lost in between; waits for it. Returns its status for our exit. */
static int run_program(char **argv, char **envp, const sigset_t *fwd) {
  sigset_t old;
  pid_t pid;
  sigprocmask(SIG_BLOCK, fwd, &old);
  if (early_signal) { /* interrupted while starting: don't start the program */
    sigprocmask(SIG_SETMASK, &old, NULL);
    return 128 + early_signal;
  }
  int r = spawn_program(argv, envp, &pid);
  if (r == 0) child_pid = pid;
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (r != 0) {
    fprintf(stderr, "ustack: cannot run '%s': %s\n", argv[0], strerror(r));
    return r == ENOENT ? 127 : 126;
  }
  int status = wait_program(pid);
  child_pid = 0;
  return status;
}

/* ---- the front and the server ------------------------------------------ */

/* The server, for the front to relay signals to. (It tells the front the
 * program's status over a pipe.) */
static pid_t server_pid;

/* The front passes on signals sent to it by a process (kill, timeout):
 * those from the terminal already reached the whole process group. */
static void relay_signal(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  if (si->si_code == SI_USER || si->si_code == SI_QUEUE || si->si_code == SI_TKILL)
    if (server_pid > 0) kill(server_pid, sig);
}

/* The front: waits for the program's status (or the server's end) and
 * exits with it. */
static int front(int rd, const sigset_t *mask) {
  struct sigaction sa = {.sa_sigaction = relay_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof *forwarded_signals; i++)
    sigaction(forwarded_signals[i], &sa, NULL);
  sigprocmask(SIG_SETMASK, mask, NULL);
  int status;
  ssize_t n;
  while ((n = read(rd, &status, sizeof status)) < 0 && errno == EINTR) {
  }
  if (n == (ssize_t)sizeof status) return status; /* a detached server goes on */
  int st; /* the server ended without a word: it crashed or was killed */
  while (waitpid(server_pid, &st, 0) < 0)
    if (errno != EINTR) return EXIT_SETUP;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : EXIT_SETUP;
}

static void tell_front(int wr, int status) {
  if (wr < 0) return;
  if (write(wr, &status, sizeof status) < 0) { /* the front is gone: nobody to tell */ }
  close(wr);
}

/* Reaps exited children without waiting. 1 if any child is still alive. */
static int tree_alive(void) {
  for (;;) {
    pid_t p = waitpid(-1, NULL, WNOHANG);
    if (p > 0) continue;
    return p == 0;
  }
}

static volatile sig_atomic_t stop_signal;
static void on_stop_signal(int sig) { stop_signal = sig; }

/* A signal to the detached server goes on to its children (the tree's top
 * processes, which are ours: orphans came to us), as it went to the
 * program before. */
static void signal_children(int sig) {
  DIR *d = opendir("/proc");
  if (!d) return;
  struct dirent *e;
  pid_t self = getpid();
  while ((e = readdir(d))) {
    long pid = strtol(e->d_name, NULL, 10);
    if (pid <= 0) continue;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')'); /* the name may hold spaces and ')' */
    char state;
    long ppid;
    if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == self)
      kill((pid_t)pid, sig);
  }
  closedir(d);
}

/* ustack was stopped (kill, timeout, ^C from another terminal) and the
 * program is gone: its tree goes too - the signal, then SIGKILL for what
 * is left after 5 s. Orphans keep coming to us while their parents die. */
static void end_tree(int sig) {
  for (int i = 0; i < 100 && tree_alive(); i++) {
    if (i % 10 == 0) signal_children(sig);
    usleep(50000);
  }
  while (tree_alive()) {
    signal_children(SIGKILL);
    usleep(10000);
  }
}

/* The program exited and its tree lives on: let the shell go on and serve
 * the tree until its last process is gone. */
static void serve_detached(int wr, int status) {
  prctl(PR_SET_PDEATHSIG, 0);
  setsid();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
  }
  struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART */
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof forwarded_signals / sizeof *forwarded_signals; i++)
    sigaction(forwarded_signals[i], &sa, NULL);
  signal(SIGHUP, SIG_IGN);
  tell_front(wr, status);
  for (;;) {
    if (stop_signal) {
      signal_children(stop_signal);
      stop_signal = 0;
    }
    if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD) return;
  }
}

int main(int argc, char **argv) {
  struct us_config cfg;
  int prog = argc;
  if (argc > 1 && (!strcmp(argv[1], "ss") || !strcmp(argv[1], "stat")))
    return us_stats_cmd(argc - 1, argv + 1); /* ask a running stack */
  int status = parse_config(&cfg, argc, argv, &prog);
  if (status >= 0) return status;
  char lib[PATH_MAX], err[512];
  if (find_library(lib, sizeof lib) < 0) {
    fprintf(stderr, "ustack: cannot find libustack.so at %s (install it beside bin/ as lib/)\n", lib);
    return EXIT_SETUP;
  }
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) {
    fprintf(stderr, "ustack: cannot create a pipe: %s\n", strerror(errno));
    return EXIT_SETUP;
  }
  pid_t front_pid = getpid();
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old); /* no signal lost before the front relays */
  server_pid = fork();
  if (server_pid < 0) {
    fprintf(stderr, "ustack: cannot fork: %s\n", strerror(errno));
    return EXIT_SETUP;
  }
  if (server_pid > 0) {
    close(pfd[1]);
    return front(pfd[0], &old); /* installs the relay before unblocking */
  }
  /* The server. */
  close(pfd[0]);
  int wr = pfd[1];
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != front_pid) _exit(EXIT_SETUP); /* the front died meanwhile */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t fwd;
  install_forwarding(&fwd);
  sigprocmask(SIG_SETMASK, &old, NULL);
  struct launcher l;
  if (launcher_start(&l, &cfg, err, sizeof err) < 0) {
    fprintf(stderr, "ustack: %s\n", err);
    tell_front(wr, EXIT_SETUP);
    return EXIT_SETUP;
  }
  char **envp = child_env(&cfg, lib, l.ctl.path);
  if (!envp) {
    fprintf(stderr, "ustack: out of memory\n");
    launcher_stop(&l, 0);
    tell_front(wr, EXIT_SETUP);
    return EXIT_SETUP;
  }
  status = run_program(argv + prog, envp, &fwd);
  if (ip_conflict) status = EXIT_SETUP;
  if (stopped_by || ip_conflict) {
    end_tree(stopped_by ? stopped_by : SIGTERM);
  } else if (!early_signal && tree_alive()) {
    serve_detached(wr, status);
    wr = -1;
  }
  launcher_stop(&l, !ip_conflict && !early_signal);
  tell_front(wr, status);
  return status;
}
