/* Direct mode: plain LD_PRELOAD=.../libustack.so with USTACK_IP (and the other
 * USTACK_* twins) and no launcher. The stack host then runs on a thread inside
 * the program, serving it and the children it forks through a control socket
 * of its own. Under the launcher (USTACK_CTL names a live control socket)
 * nothing starts here. */
#ifndef USTACK_SHIM_INPROC_H
#define USTACK_SHIM_INPROC_H

/* From libustack.so's constructor. Returns 1 if a stack was started here, 0
 * if none is needed (a launcher serves us, or USTACK_IP/USTACK_IF are unset:
 * the program keeps the kernel's stack). A configuration or start-up error
 * is one line on stderr and _exit(2), as from the launcher: a program that
 * asked for ustack never silently runs over the kernel instead. */
int us_inproc_start(void);

#endif
