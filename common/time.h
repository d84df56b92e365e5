/* Time as every layer counts it: microseconds on the host's monotonic clock,
 * or on the in-memory wire's virtual clock in tests. */
#ifndef USTACK_TIME_H
#define USTACK_TIME_H

#include <stdint.h>

typedef uint64_t us_time_t;
#define US_TIME_NEVER UINT64_MAX
#define US_MS(x) ((us_time_t)(x) * 1000u)
#define US_SEC(x) ((us_time_t)(x) * 1000000u)

#endif
