/* Watching the stack: the sinks of its event stream (stack/event.h).
 *
 * One hub per stack host fans every event out to what the configuration
 * asks for: the text trace (--trace, --trace-file), JSON lines
 * (--trace-json), the diagram page (--diagram) and the statistics (--stats,
 * --stats-json). The hub runs on the stack thread; when nothing is asked for
 * no sink is attached and the stack pays one untaken branch per event site. */
#ifndef USTACK_SHIM_TRACE_H
#define USTACK_SHIM_TRACE_H

#include <stddef.h>

#include "shim/config.h"
#include "stack/us_stack.h"

struct us_trace;

/* Attaches the sinks cfg asks for to s (before the stack thread runs).
 * Returns 0 with *out NULL when nothing is asked for, 0 with *out set, or -1
 * with one line in err (a file that cannot be opened). */
int us_trace_attach(struct us_trace **out, struct us_stack *s, const struct us_config *cfg,
                    char *err, size_t errlen);

/* Stamp events with this clock instead of the stack's (the host's real
 * clock: the stack learns the time only from frames and timers, so events
 * caused by a program's request would carry the time of the last frame). */
void us_trace_set_clock(struct us_trace *t, us_time_t (*clock)(void));

/* After the stack thread stopped (the stack still exists): writes the
 * statistics and the diagram, closes the files, detaches and frees. */
void us_trace_detach(struct us_trace *t, struct us_stack *s);

/* From the launcher's main thread after the program exited, when something
 * watches: waits (at most ms) until no connection is half-way through its
 * close, so the trace and the diagram show the 4-way close whole (the peer's
 * FIN, our last ACK, TIME-WAIT). */
struct us_host;
void us_trace_settle(struct us_host *h, unsigned ms);

/* For the control server (US_CTL_STATS): the live connections and the
 * counters as text, like `ss -tani` and `netstat -s`, into a memory file.
 * Returns its fd (at offset 0) or a negative errno. On the stack thread. */
int us_stats_live_fd(struct us_stack *s);

/* `ustack ss` / `ustack stat PID`: argv after the launcher's name. Returns
 * the exit status. */
int us_stats_cmd(int argc, char **argv);

#endif
