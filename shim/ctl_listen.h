/* The listening end of the control socket, as the stack host's owner (the
 * launcher, or a program in direct mode) sets it up: a fresh directory only
 * this user can enter (0700) holding one AF_UNIX socket (0600). Programs find
 * it through USTACK_CTL; the control server (ctl_server.c) serves it. */
#ifndef USTACK_SHIM_CTL_LISTEN_H
#define USTACK_SHIM_CTL_LISTEN_H

#include <limits.h>
#include <stddef.h>

struct us_host;
struct us_ctl_server;

struct us_ctl_listen {
  char dir[PATH_MAX];
  char path[PATH_MAX];
  int fd; /* listening, non-blocking, close-on-exec; -1 if none */
};

/* Under $XDG_RUNTIME_DIR when usable, else /tmp. 0, or -1 with err set. */
int us_ctl_listen_open(struct us_ctl_listen *c, char *err, size_t errlen);
/* Closes the socket and removes it and its directory. */
void us_ctl_listen_close(struct us_ctl_listen *c);

/* Once the programs are gone: waits until the control server drives no
 * socket any more (data written just before exit delivered, FINs
 * acknowledged), giving up after ms in which TCP made no progress at all.
 * Returns the number still busy (0: all done). */
unsigned us_ctl_drain(struct us_host *h, struct us_ctl_server *srv, unsigned ms);

#endif
