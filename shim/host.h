/* The stack host: one thread running a libuv loop that owns a struct
 * us_stack and its device. The loop watches the device fd (uv_poll), keeps
 * one timer on us_stack_next_deadline, flushes batched sends at the end of
 * every loop turn, and runs requests from other threads (uv_async).
 *
 * The same host serves the launcher (which runs it for the whole process
 * tree it starts) and, later, a program that preloads libustack.so directly. */
#ifndef USTACK_SHIM_HOST_H
#define USTACK_SHIM_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "shim/config.h"
#include "stack/us_stack.h"

struct us_host;

struct us_host_hooks {
  /* Called on the stack thread, once, when another host answers ARP for our
   * address. msg is one line naming the address and the other host's MAC. */
  void (*on_ip_conflict)(void *arg, const char *msg);
  void *arg;
};

/* Opens the device (AF_PACKET, wrapped in the pcap recorder with --pcap),
 * claims (interface, address) against other ustacks on this machine, creates
 * the stack and starts the thread. On failure returns a negative errno and one
 * line in err naming the fix; nothing is left running. cfg must have passed
 * us_config_finish. hooks may be NULL. */
int us_host_start(struct us_host **out, const struct us_config *cfg,
                  const struct us_host_hooks *hooks, char *err, size_t errlen);

/* Stops the loop, joins the thread, frees the stack and closes the device
 * (which completes the pcap file). */
void us_host_stop(struct us_host *h);

/* Runs fn(stack, arg) on the stack thread at its next loop turn. Safe from
 * any thread. Returns 0 or -ENOMEM / -ESHUTDOWN. */
int us_host_call(struct us_host *h, void (*fn)(struct us_stack *s, void *arg), void *arg);

/* Like us_host_call, and waits until fn has run. Not from the stack thread. */
int us_host_call_sync(struct us_host *h, void (*fn)(struct us_stack *s, void *arg), void *arg);

/* The host's libuv loop, for code that runs on the stack thread (the control
 * server registers its handles there, from inside us_host_call). */
struct uv_loop_s;
struct uv_loop_s *us_host_loop(struct us_host *h);

/* The host's monotonic clock, microseconds. */
us_time_t us_host_now(void);

/* The lock file that stops a second stack from claiming the same address on
 * the same interface: "<dir>/<netns inode>-<ifindex>-<ip>.lock". Returns an
 * fd holding an flock, or a negative errno with err set (-EADDRINUSE when
 * another live ustack holds it). Separated out for tests. */
int us_host_claim_address(const char *dir, const char *ifname, uint32_t ip, char *err,
                          size_t errlen);
/* Removes the lock file (the owner holds the lock, so no claimer can be
 * fooled: it checks that the path still names what it locked) and closes fd. */
void us_host_release_address(const char *dir, const char *ifname, uint32_t ip, int fd);
/* The lock file holds "<pid>\n<control socket path>\n". The owner adds its
 * control socket once it serves one (direct mode), so that a descendant that
 * could not learn it from USTACK_CTL (bash passes children the environment it
 * started with) can still find the stack that owns the address. */
void us_host_note_ctl(struct us_host *h, const char *ctl_path);
/* The owner of the address lock for ifname/ip: its pid and control socket
 * path (empty if it noted none). Returns 0, or -ENOENT. */
int us_host_lock_owner(const char *ifname, uint32_t ip, long *pid, char *ctl, size_t n);

#endif
