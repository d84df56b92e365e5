/* Sockets that survive exec. execve drops the library's memory (the fd
 * table), not the program's fds: a channel inherited across exec (sshd
 * re-executes itself per connection with the socket as stdin/stdout; inetd;
 * subprocess pass_fds) would be a bare AF_UNIX socket to the new image.
 * When libustack.so starts in a program that a stack serves, it looks at
 * the AF_UNIX sockets the program inherited and asks the stack which are
 * its channels, by the inode of the fd (the stack notes the inode of every
 * program end it hands out). Needs nothing from the environment but the
 * control socket, so a program that execs with an environment of its own
 * making is recognised as well. A program that inherited no AF_UNIX socket
 * (the usual case) pays a directory read and a few fstat()s, no round trip. */
#ifndef USTACK_SHIM_FD_INHERIT_H
#define USTACK_SHIM_FD_INHERIT_H

/* From libustack.so's constructor, once a stack is known. Returns the
 * number of fds recognised as ustack sockets. */
int us_fd_inherit_scan(void);

/* Before an exec with an environment of the caller's making: 1 if the new
 * image would inherit a ustack socket (an fd without close-on-exec that the
 * table knows, or whose pair the stack's process made). Raw system calls
 * and no allocation: safe in a vfork child. */
int us_fd_inherit_passes_socket(void);

#endif
