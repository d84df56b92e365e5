/* One-line diagnostics on stderr, filtered by USTACK_LOG / --log.
 * Every message is a single line prefixed "ustack: " so a user can grep it and
 * a program's own output stays readable. */
#ifndef USTACK_SHIM_LOG_H
#define USTACK_SHIM_LOG_H

enum us_log_level {
  US_LOG_NONE = 0, /* silent */
  US_LOG_ERROR,
  US_LOG_WARN,
  US_LOG_INFO,
  US_LOG_DEBUG,
};

/* Current threshold; messages above it are dropped. Default: US_LOG_WARN. */
extern enum us_log_level us_log_threshold;

/* Parses "none|error|warn|info|debug" (or 0-4). Returns the level or -1. */
int us_log_parse_level(const char *s);
const char *us_log_level_name(enum us_log_level l);

void us_log(enum us_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define us_log_error(...) us_log(US_LOG_ERROR, __VA_ARGS__)
#define us_log_warn(...) us_log(US_LOG_WARN, __VA_ARGS__)
#define us_log_info(...) us_log(US_LOG_INFO, __VA_ARGS__)
#define us_log_debug(...) us_log(US_LOG_DEBUG, __VA_ARGS__)

#endif
