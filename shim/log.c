/* One-line diagnostics on stderr (see log.h). */
#include "shim/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum us_log_level us_log_threshold = US_LOG_WARN;

static const char *const level_names[] = {"none", "error", "warn", "info", "debug"};

int us_log_parse_level(const char *s) {
  if (!s) return -1;
  for (int i = 0; i <= US_LOG_DEBUG; i++)
    if (strcasecmp(s, level_names[i]) == 0) return i;
  if (strcasecmp(s, "warning") == 0) return US_LOG_WARN;
  if (strcasecmp(s, "off") == 0) return US_LOG_NONE;
  if (s[0] >= '0' && s[0] <= '4' && s[1] == 0) return s[0] - '0';
  return -1;
}

const char *us_log_level_name(enum us_log_level l) {
  return (unsigned)l <= US_LOG_DEBUG ? level_names[l] : "?";
}

void us_log(enum us_log_level l, const char *fmt, ...) {
  if (l > us_log_threshold || l == US_LOG_NONE) return;
  /* Build the whole line first and write it with one call, so lines from the
   * stack thread and the program never interleave mid-line. */
  char line[1024];
  int n = snprintf(line, sizeof line, "ustack: ");
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (m < 0) return;
  n += m;
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, (size_t)n);
  (void)w;
}
