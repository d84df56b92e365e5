/* The stack host: a libuv loop on its own thread (see host.h). */
#include "shim/host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "netdev/netdev.h"
#include "shim/log.h"
#include "shim/trace.h"
#include "common/alloc.h"

#define HOST_LOCK_DIR "/run/ustack"
#define HOST_RX_BUDGET 256 /* frames per readable event, then let timers run */

struct host_req {
  struct host_req *next;
  void (*fn)(struct us_stack *s, void *arg);
  void *arg;
};

struct us_host {
  struct us_stack *stack;
  struct us_trace *trace; /* --trace/--diagram/--stats sinks, or NULL */
  struct us_netdev *dev;
  struct us_host_hooks hooks;
  int lock_fd;
  int conflict_reported;
  uint32_t ip;
  char ifname[IF_NAMESIZE];

  uv_loop_t loop;
  uv_poll_t dev_poll;
  uv_timer_t timer;
  uv_timer_t dev_stats; /* reads the device's loss counters now and then */
  uv_async_t wake;
  uv_prepare_t turn_end;
  pthread_t thread;

  pthread_mutex_t mu; /* guards reqs, stopping */
  struct host_req *reqs, **reqs_tail;
  int stopping;
  unsigned busy_poll_us; /* USTACK_BUSY_POLL_US: spin before sleeping */
};

uv_loop_t *us_host_loop(struct us_host *h) { return &h->loop; }

us_time_t us_host_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (us_time_t)ts.tv_sec * 1000000u + (us_time_t)ts.tv_nsec / 1000u;
}

static void ip_str(uint32_t ip, char *out, size_t n) {
  struct in_addr a = {htonl(ip)};
  inet_ntop(AF_INET, &a, out, (socklen_t)n);
}

/* --- one address per interface per machine --------------------------------- */

/* After the flock: does path still name the file we locked? An owner that
 * stops removes the file while it holds the lock, so a claimer that opened
 * it just before must start again with a fresh one. */
static int lock_still_named(int fd, const char *path) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static void lock_path(const char *dir, const char *ifname, uint32_t ip, char *path, size_t n) {
  char a[INET_ADDRSTRLEN];
  ip_str(ip, a, sizeof a);
  /* Interface indexes repeat across network namespaces; the namespace's
   * inode tells them apart. */
  struct stat ns;
  if (stat("/proc/self/ns/net", &ns) < 0) ns.st_ino = 0;
  snprintf(path, n, "%s/%lu-%u-%s.lock", dir, (unsigned long)ns.st_ino, if_nametoindex(ifname), a);
}

int us_host_claim_address(const char *dir, const char *ifname, uint32_t ip, char *err,
                          size_t errlen) {
  char a[INET_ADDRSTRLEN], path[256];
  ip_str(ip, a, sizeof a);
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create %s for the address lock: %s", dir, strerror(errno));
    return -errno;
  }
  lock_path(dir, ifname, ip, path, sizeof path);
  int fd = -1;
  for (int tries = 0; tries < 8; tries++) {
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      snprintf(err, errlen, "cannot open the address lock %s: %s", path, strerror(errno));
      return -errno;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0 || lock_still_named(fd, path)) break;
    close(fd); /* the owner removed it between our open and our lock */
    fd = -1;
  }
  if (fd < 0) {
    snprintf(err, errlen, "cannot lock %s: it keeps being replaced", path);
    return -EAGAIN;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;
    char owner[32] = "";
    ssize_t n = pread(fd, owner, sizeof owner - 1, 0);
    owner[n > 0 ? n : 0] = 0;
    owner[strcspn(owner, "\n")] = 0;
    close(fd);
    if (e == EWOULDBLOCK) {
      snprintf(err, errlen, "%s is already in use on %s by another ustack%s%s%s: give this one another --ip",
               a, ifname, owner[0] ? " (pid " : "", owner, owner[0] ? ")" : "");
      return -EADDRINUSE;
    }
    snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
    return -e;
  }
  /* The lock is the flock: it dies with the process. The owner also removes
   * the file when it stops (us_host_release_address). */
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) != len) { /* best effort */ }
  return fd;
}

void us_host_release_address(const char *dir, const char *ifname, uint32_t ip, int fd) {
  if (fd < 0) return;
  char path[256];
  lock_path(dir, ifname, ip, path, sizeof path);
  if (lock_still_named(fd, path)) unlink(path); /* still ours: we hold the lock */
  close(fd);
}

void us_host_note_ctl(struct us_host *h, const char *ctl_path) {
  char line[PATH_MAX + 40];
  int len = snprintf(line, sizeof line, "%ld\n%s\n", (long)getpid(), ctl_path);
  if (len >= (int)sizeof line || ftruncate(h->lock_fd, 0) < 0) return;
  if (pwrite(h->lock_fd, line, (size_t)len, 0) != len) { /* best effort */ }
}

int us_host_lock_owner(const char *ifname, uint32_t ip, long *pid, char *ctl, size_t n) {
  char path[256], buf[PATH_MAX + 40];
  lock_path(HOST_LOCK_DIR, ifname, ip, path, sizeof path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -ENOENT;
  ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
  close(fd);
  if (got <= 0) return -ENOENT;
  buf[got] = 0;
  char *nl = strchr(buf, '\n');
  *pid = strtol(buf, NULL, 10);
  ctl[0] = 0;
  if (nl) snprintf(ctl, n, "%.*s", (int)strcspn(nl + 1, "\n"), nl + 1);
  return 0;
}

/* --- the loop ---------------------------------------------------------------- */

static void host_check_conflict(struct us_host *h) {
  uint8_t mac[6];
  if (h->conflict_reported || !us_stack_ip_conflict(h->stack, mac)) return;
  h->conflict_reported = 1;
  char a[INET_ADDRSTRLEN], msg[256];
  ip_str(h->ip, a, sizeof a);
  snprintf(msg, sizeof msg,
           "%s is already used on %s by the host at %02x:%02x:%02x:%02x:%02x:%02x: give ustack another --ip",
           a, h->ifname, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  if (h->hooks.on_ip_conflict) h->hooks.on_ip_conflict(h->hooks.arg, msg);
  else us_log_error("%s", msg);
}

struct rx_ctx {
  struct us_host *h;
  us_time_t now;
};

static void host_rx(void *arg, const uint8_t *frame, size_t len, const struct us_frame_meta *m) {
  struct rx_ctx *c = arg;
  us_stack_input(c->h->stack, frame, len, m, c->now);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  struct us_host *h = p->data;
  if (status < 0) {
    /* The interface went away (deleted, or its namespace torn down). */
    us_log_error("lost interface %s (%s): the stack is off the wire", h->ifname, uv_strerror(status));
    uv_poll_stop(p);
    return;
  }
  struct rx_ctx c = {h, us_host_now()};
  us_netdev_poll(h->dev, host_rx, &c, HOST_RX_BUDGET);
  host_check_conflict(h);
}

static void on_timer(uv_timer_t *t) {
  struct us_host *h = t->data;
  us_stack_advance(h->stack, us_host_now());
  host_check_conflict(h);
}

/* Busy polling (USTACK_BUSY_POLL_US): before the loop goes to sleep, spin
 * for up to that long on the loop's own epoll set - any handle becoming ready
 * (a frame, a program's write, a control request) ends the spin, and libuv's
 * wait then returns at once. Trades a core for the wake-up latency of a
 * request/response exchange. Never spins past the next stack deadline. */
static void host_busy_poll(struct us_host *h, us_time_t next) {
  struct pollfd pfd = {.fd = uv_backend_fd(&h->loop), .events = POLLIN};
  us_time_t end = us_host_now() + h->busy_poll_us;
  if (next < end) end = next;
  while (poll(&pfd, 1, 0) == 0 && us_host_now() < end) {
  }
}

/* End of a loop turn, just before libuv blocks: run timers that came due
 * while we worked, push the batched frames out, and aim the timer at the
 * stack's next deadline. */
static void on_turn_end(uv_prepare_t *p) {
  struct us_host *h = p->data;
  us_time_t now = us_host_now();
  us_time_t next = us_stack_next_deadline(h->stack);
  if (next <= now) {
    us_stack_advance(h->stack, now);
    next = us_stack_next_deadline(h->stack);
  }
  us_netdev_flush(h->dev);
  if (h->busy_poll_us) host_busy_poll(h, next);
  if (next == US_TIME_NEVER) {
    uv_timer_stop(&h->timer);
    return;
  }
  /* libuv timers count milliseconds: round up so we never wake early. */
  uint64_t ms = next > now ? (next - now + 999) / 1000 : 0;
  uv_timer_start(&h->timer, on_timer, ms, 0);
}

static void on_dev_stats(uv_timer_t *t) {
  struct us_host *h = t->data;
  us_stack_read_device(h->stack);
}

static void host_close_handles(struct us_host *h) {
  uv_close((uv_handle_t *)&h->dev_poll, NULL);
  uv_close((uv_handle_t *)&h->timer, NULL);
  uv_close((uv_handle_t *)&h->dev_stats, NULL);
  uv_close((uv_handle_t *)&h->wake, NULL);
  uv_close((uv_handle_t *)&h->turn_end, NULL);
}

/* Safety net at stop: handles someone else left open (a control server that
 * was not detached) would keep uv_run from ever returning. */
static void close_leftover(uv_handle_t *hd, void *arg) {
  (void)arg;
  if (!uv_is_closing(hd)) uv_close(hd, NULL);
}

static void on_wake(uv_async_t *a) {
  struct us_host *h = a->data;
  pthread_mutex_lock(&h->mu);
  struct host_req *r = h->reqs;
  h->reqs = NULL;
  h->reqs_tail = &h->reqs;
  int stopping = h->stopping;
  pthread_mutex_unlock(&h->mu);
  while (r) {
    struct host_req *next = r->next;
    r->fn(h->stack, r->arg);
    us_free(r);
    r = next;
  }
  if (stopping) {
    us_netdev_flush(h->dev);
    host_close_handles(h);
    uv_walk(&h->loop, close_leftover, NULL);
  }
}

static void *host_thread(void *arg) {
  struct us_host *h = arg;
  uv_run(&h->loop, UV_RUN_DEFAULT);
  return NULL;
}

int us_host_call(struct us_host *h, void (*fn)(struct us_stack *s, void *arg), void *arg) {
  struct host_req *r = us_malloc(sizeof *r);
  if (!r) return -ENOMEM;
  *r = (struct host_req){NULL, fn, arg};
  pthread_mutex_lock(&h->mu);
  if (h->stopping) {
    pthread_mutex_unlock(&h->mu);
    us_free(r);
    return -ESHUTDOWN;
  }
  *h->reqs_tail = r;
  h->reqs_tail = &r->next;
  pthread_mutex_unlock(&h->mu);
  uv_async_send(&h->wake);
  return 0;
}

struct sync_call {
  void (*fn)(struct us_stack *s, void *arg);
  void *arg;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
};

static void run_sync(struct us_stack *s, void *arg) {
  struct sync_call *c = arg;
  c->fn(s, c->arg);
  pthread_mutex_lock(&c->mu);
  c->done = 1;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

int us_host_call_sync(struct us_host *h, void (*fn)(struct us_stack *s, void *arg), void *arg) {
  struct sync_call c = {fn, arg, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  int r = us_host_call(h, run_sync, &c);
  if (r < 0) return r;
  pthread_mutex_lock(&c.mu);
  while (!c.done) pthread_cond_wait(&c.cv, &c.mu);
  pthread_mutex_unlock(&c.mu);
  return 0;
}

/* --- start / stop -------------------------------------------------------------- */

static struct us_netdev *host_open_dev(const struct us_config *cfg, char *err, size_t errlen) {
  struct us_netdev *dev = us_netdev_packet_open(cfg->ifname, cfg->has_mac ? cfg->mac : NULL,
                                                cfg->ip, err, errlen);
  if (!dev || !cfg->pcap[0]) return dev;
  struct us_netdev *rec = us_netdev_pcap_wrap(dev, cfg->pcap, err, errlen);
  if (!rec) us_netdev_close(dev);
  return rec;
}

static int host_loop_init(struct us_host *h) {
  int r = uv_loop_init(&h->loop);
  if (r < 0) return r;
  uv_poll_init(&h->loop, &h->dev_poll, us_netdev_fd(h->dev));
  uv_timer_init(&h->loop, &h->timer);
  uv_timer_init(&h->loop, &h->dev_stats);
  uv_async_init(&h->loop, &h->wake, on_wake);
  uv_prepare_init(&h->loop, &h->turn_end);
  h->dev_poll.data = h->timer.data = h->dev_stats.data = h->wake.data = h->turn_end.data = h;
  uv_timer_start(&h->dev_stats, on_dev_stats, 1000, 1000);
  uv_poll_start(&h->dev_poll, UV_READABLE, on_readable);
  uv_prepare_start(&h->turn_end, on_turn_end);
  const char *busy = getenv("USTACK_BUSY_POLL_US");
  if (busy) h->busy_poll_us = (unsigned)strtoul(busy, NULL, 10);
  return 0;
}

/* The stack thread takes no signals: they belong to the program's threads
 * (or, in the launcher, to the main thread that forwards them). */
static int host_spawn_thread(struct us_host *h) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int r = pthread_create(&h->thread, NULL, host_thread, h);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return -r;
}

int us_host_start(struct us_host **out, const struct us_config *cfg,
                  const struct us_host_hooks *hooks, char *err, size_t errlen) {
  struct us_host *h = us_calloc(1, sizeof *h);
  if (!h) return snprintf(err, errlen, "out of memory"), -ENOMEM;
  h->lock_fd = -1;
  h->ip = cfg->ip;
  snprintf(h->ifname, sizeof h->ifname, "%s", cfg->ifname);
  if (hooks) h->hooks = *hooks;
  pthread_mutex_init(&h->mu, NULL);
  h->reqs_tail = &h->reqs;

  int r = -ENODEV;
  h->dev = host_open_dev(cfg, err, errlen);
  if (!h->dev) goto fail;
  r = us_host_claim_address(HOST_LOCK_DIR, cfg->ifname, cfg->ip, err, errlen);
  if (r < 0) goto fail;
  h->lock_fd = r;

  struct us_stack_config sc = {.ip = cfg->ip, .prefix_len = cfg->prefix_len, .gw = cfg->gw,
                               .dns = cfg->dns};
  if (getrandom(&sc.seed, sizeof sc.seed, 0) != sizeof sc.seed) sc.seed = us_host_now() ^ (uint64_t)getpid();
  h->stack = us_stack_new(&sc, h->dev, us_host_now());
  r = -ENOMEM;
  if (!h->stack) {
    snprintf(err, errlen, "cannot create the stack (out of memory)");
    goto fail;
  }
  if (us_trace_attach(&h->trace, h->stack, cfg, err, errlen) < 0) goto fail;
  us_trace_set_clock(h->trace, us_host_now);
  if ((r = host_loop_init(h)) < 0) {
    snprintf(err, errlen, "cannot start the event loop: %s", uv_strerror(r));
    goto fail;
  }
  if ((r = host_spawn_thread(h)) < 0) {
    snprintf(err, errlen, "cannot start the stack thread: %s", strerror(-r));
    host_close_handles(h);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    uv_loop_close(&h->loop);
    goto fail;
  }
  char a[INET_ADDRSTRLEN];
  ip_str(cfg->ip, a, sizeof a);
  us_log_info("stack up: %s/%u on %s (%02x:%02x:%02x:%02x:%02x:%02x, MTU %u)", a, cfg->prefix_len,
              cfg->ifname, h->dev->mac[0], h->dev->mac[1], h->dev->mac[2], h->dev->mac[3],
              h->dev->mac[4], h->dev->mac[5], h->dev->mtu);
  *out = h;
  return 0;

fail:
  if (h->trace) us_trace_detach(h->trace, h->stack);
  if (h->stack) us_stack_free(h->stack);
  us_netdev_close(h->dev);
  us_host_release_address(HOST_LOCK_DIR, h->ifname, h->ip, h->lock_fd);
  pthread_mutex_destroy(&h->mu);
  us_free(h);
  return r;
}

void us_host_stop(struct us_host *h) {
  if (!h) return;
  pthread_mutex_lock(&h->mu);
  h->stopping = 1;
  pthread_mutex_unlock(&h->mu);
  uv_async_send(&h->wake);
  pthread_join(h->thread, NULL);
  uv_loop_close(&h->loop);
  us_stack_read_device(h->stack);
  us_trace_detach(h->trace, h->stack); /* statistics and diagram at exit */
  us_stack_free(h->stack);
  us_netdev_close(h->dev);
  us_host_release_address(HOST_LOCK_DIR, h->ifname, h->ip, h->lock_fd);
  pthread_mutex_destroy(&h->mu);
  us_free(h);
}
