/* Program side of the control protocol: a small pool of connections to the
 * stack host, one request at a time per connection, so threads never wait on
 * each other's slow requests (a DNS lookup, say). */
#ifndef USTACK_SHIM_CTL_CLIENT_H
#define USTACK_SHIM_CTL_CLIENT_H

#include "shim/ctl_proto.h"

/* Set once the program confined itself with a seccomp filter (sshd's
 * pre-authentication child): system calls outside its list kill it, so the
 * stack is never asked again (calls that need it fail with ENETDOWN) and
 * data moves with plain read/write (interpose/process_calls.c). */
extern int us_ctl_sandboxed;

/* The control socket path: USTACK_CTL unless set here (direct mode). */
void us_ctl_client_set_path(const char *path);
/* Nonzero when a stack can be asked (a path is known). */
int us_ctl_client_enabled(void);
/* Sends *m and replaces it with the answer. *got_fd (may be NULL) receives
 * the fd that came with the answer, or -1. Returns 0, or a negative errno when
 * the stack cannot be reached (-ENETDOWN) or the exchange failed. */
int us_ctl_call(struct us_ctl_msg *m, int *got_fd);
/* Sends *m with US_CTL_F_POSTED set and returns without an answer: for
 * calls that cannot fail. Returns 0 or a negative errno as us_ctl_call. */
int us_ctl_post(struct us_ctl_msg *m);
/* The program closed (or dup2'ed over) one of our control fds: forget it. */
void us_ctl_client_forget(int fd);

#endif
