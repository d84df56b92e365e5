/* Which channels the stack ended cleanly: a table shared, through a file in
 * the control socket's directory, between the stack and every program.
 *
 * A peer's FIN reaches the program as EOF on its channel; so does the death
 * of the stack (the kernel closes the stack's end). A dead stack must look
 * like a network failure, never like a clean end of stream, and after the
 * stack is gone nobody can be asked which it was. So before the stack shuts
 * a channel's write side for a FIN it writes the socket's id into the slot
 * of this table; a program that finds its channel hung up and the stack
 * unreachable reads the slot: the id is there only if the end was clean.
 * The common path (a peer's FIN while the stack lives) never reads it.
 *
 * One uint32_t per socket slot (ids carry a generation, so a reused slot
 * never vouches for an older socket); the file is sparse. */
#ifndef USTACK_SHIM_CHAN_END_H
#define USTACK_SHIM_CHAN_END_H

#include <stdint.h>

#define US_CHAN_END_FILE "ends"
#define US_CHAN_END_SLOTS (1u << 20) /* ctl_server.c's SLOT_BITS */

/* Stack side: creates <dir>/ends and maps it for writing. 0 or -errno. */
int us_chan_end_create(const char *dir);
/* Stack side: unmaps and removes <dir>/ends. */
void us_chan_end_remove(const char *dir);
/* Stack side: the socket with this id ends cleanly (a FIN, no error). */
void us_chan_end_mark(uint32_t id);

/* Program side: maps the table beside the control socket at ctl_path, once
 * per process (forked children share the mapping). Quietly does nothing if
 * it cannot. */
void us_chan_end_attach(const char *ctl_path);
/* Program side, for a channel whose stack cannot be reached: 1 if the stack
 * ended it cleanly before it went, 0 if not (or unknown: no table). */
int us_chan_end_clean(uint32_t id);

#endif
