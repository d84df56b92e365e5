/* Helpers shared by the interposed calls (socket_calls.c, io_calls.c,
 * resolver_calls.c). Internal to libustack.so. */
#ifndef USTACK_INTERPOSE_INTERPOSE_H
#define USTACK_INTERPOSE_INTERPOSE_H

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "interpose/libc_real.h"
#include "shim/ctl_client.h"
#include "shim/fdtable.h"

/* Sets errno from a negative errno and returns -1; passes r >= 0 through. */
static inline int us_ret(int r) {
  if (r < 0) {
    errno = -r;
    return -1;
  }
  return r;
}

/* Nonzero when this process talks to a stack (launcher or direct mode). */
int us_interpose_active(void);

/* Decodes a program's sockaddr for a socket of `family` into an IPv4
 * address and port (network byte order). AF_INET6 sockets accept v4-mapped
 * addresses and :: (any). Returns 0 or a negative errno as Linux would. */
int us_sa_to_v4(int family, const struct sockaddr *sa, socklen_t len, uint32_t *ip,
                uint16_t *port, int for_bind);
/* Writes ip:port as the socket's family into (sa, *len), truncating like the
 * kernel and setting *len to the full size. */
void us_v4_to_sa(int family, uint32_t ip, uint16_t port, struct sockaddr *sa, socklen_t *len);

/* The connect-time SO_SNDBUF shrink is undone once the stack reports the
 * connect over; called by any interposed call on a CONNECTING fd. Returns
 * the pending error (positive errno, 0 if none) when clear is set. */
int us_sock_settle(int fd, struct us_fd_info *e, int clear);

/* Datagram socket: takes an error the stack left at the head of the channel
 * (an ICMP error, a failed send), as Linux's next send or receive would.
 * Returns it (positive errno) or 0. */
int us_dgram_take_error(int fd);
/* us_sock_settle that also tells (*gone = 1) when the stack could not be
 * asked: it died, and nothing it knew can be learnt any more. */
int us_sock_query(int fd, struct us_fd_info *e, int clear, int *gone);

/* Asks the stack for the socket's pending error (SO_ERROR), clearing it. */
int us_sock_take_error(int fd, struct us_fd_info *e);
/* 1 if the stack has closed its end of the channel (POLLHUP): the
 * connection ended by an error, or is over both ways. */
int us_chan_hung_up(int fd);

#endif
