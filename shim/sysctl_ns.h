/* The net.ipv4 sysctls of the stack's network namespace, read for the stack
 * core (which reads no files). Linux reads them at the moment each applies;
 * the host refreshes the stack's copy before each request that applies them
 * (socket, bind, connect, listen), so a `sysctl -w` in the namespace reaches
 * the next socket of a program that is already running. A refresh is a
 * pread of each file kept open (16 files, tens of microseconds), and at most
 * one per US_SYSCTL_NS_MIN_GAP so a connection storm does not pay it per
 * request. The files are opened once, in the namespace the host runs in
 * (for the launcher: the client namespace, as for the program). */
#ifndef USTACK_SHIM_SYSCTL_NS_H
#define USTACK_SHIM_SYSCTL_NS_H

#include "common/time.h"
#include "stack/tcp_sock.h"

#define US_SYSCTL_NS_MIN_GAP US_MS(10)

struct us_sysctl_ns;

/* root: the /proc/sys directory ("/proc/sys"; tests pass a folder of their
 * own). Files that do not exist are skipped (the stack keeps its default).
 * NULL only when out of memory. */
struct us_sysctl_ns *us_sysctl_ns_open(const char *root);
void us_sysctl_ns_close(struct us_sysctl_ns *n);
/* Reads every file into v; a value that is missing or malformed leaves v's
 * as it was. Returns how many files were read. */
int us_sysctl_ns_read(struct us_sysctl_ns *n, struct us_tcp_sysctls *v);
/* Reads and hands the values to the stack, unless the last refresh was less
 * than US_SYSCTL_NS_MIN_GAP before now. A set Linux would refuse (the stack
 * checks the ranges) leaves the stack as it was. */
void us_sysctl_ns_refresh(struct us_sysctl_ns *n, struct us_stack *s, us_time_t now);

#endif
