/* Stack side of the control protocol: serves programs' requests on the
 * host's libuv loop (the stack thread).
 *
 * The launcher creates a listening AF_UNIX socket and passes its path to
 * programs as USTACK_CTL; the host hands the listening fd here. Each accepted
 * connection must come from the same uid (SO_PEERCRED). For every program
 * socket the server holds the stack end of a channel (an AF_UNIX socketpair)
 * and pumps bytes between it and the stack's TCP or UDP socket. */
#ifndef USTACK_SHIM_CTL_SERVER_H
#define USTACK_SHIM_CTL_SERVER_H

#include <sys/types.h>
#include <uv.h>

#include "stack/us_stack.h"

struct us_ctl_server;

/* On the stack thread. listen_fd: a listening AF_UNIX socket (stream or
 * seqpacket), made non-blocking here; the server does not close it. uid:
 * the only uid allowed to connect. dns: the --dns server, host byte order
 * (0: the namespace's resolv.conf). NULL if out of memory. */
struct us_ctl_server *us_ctl_server_start(uv_loop_t *loop, struct us_stack *s, int listen_fd,
                                          uid_t uid);

/* Sockets the server still drives (connections finishing their close after
 * their programs exited). The launcher waits, bounded, for 0 before exit. */
unsigned us_ctl_server_busy(const struct us_ctl_server *srv);

/* From the launcher's main thread: starts a server on the host's loop for
 * listen_fd, for the caller's uid. Needs the host to expose its loop
 * (us_host_loop, see below); returns -ENOSYS while it does not. */
struct us_host;
int us_ctl_server_attach(struct us_host *h, int listen_fd, struct us_ctl_server **out);
/* Stops an attached server (from the main thread, before us_host_stop). */
void us_ctl_server_detach(struct us_host *h, struct us_ctl_server *srv);
/* Provided by shim/host.c: the host's libuv loop. */
uv_loop_t *us_host_loop(struct us_host *h);

/* On the stack thread: aborts what remains, closes every handle. The loop
 * must run once more for libuv to finish closing. */
void us_ctl_server_stop(struct us_ctl_server *srv);

#endif
