/* The diagram's recorded items (diagram_record.c -> diagram_html.c). */
#ifndef USTACK_SHIM_DIAGRAM_INT_H
#define USTACK_SHIM_DIAGRAM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "shim/trace_int.h"

enum { DIAG_SEG = 1, DIAG_STATE, DIAG_RTX, DIAG_RTT, DIAG_SAMPLE };

struct diag_item {
  us_time_t t;
  uint8_t kind, dir, flags, rtx;
  uint8_t from, to;        /* DIAG_STATE */
  uint8_t has_snap, ca_state;
  uint16_t gso;
  uint32_t seq, ack, len, win; /* relative numbers, scaled window */
  uint32_t rtt;            /* DIAG_RTT, microseconds */
  uint32_t cwnd, ssthresh, flight, srtt, rcv_wnd, snd_wnd, mss;
};

struct diag_conn {
  struct diag_item *v;
  size_t n, cap;
  uint8_t truncated, syn_rtx_pending;
};

#endif
