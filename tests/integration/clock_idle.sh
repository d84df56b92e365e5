#!/usr/bin/env bash
# The stack learns the time from frames and timers only. A program that
# connects after seconds of quiet must not have its SYN stamped with the
# stale time: the handshake's RTT sample would then read as the quiet
# period (seconds) instead of the veth's fraction of a millisecond, and the
# SYN's retransmission timer would fire at once. Checked through
# --stats-json: the smallest RTT sample stays below the quiet period.
APP_BIG_MB=1
source "$(dirname "$0")/app_env.bash"
app_web

run_ustack "$TOPO_CLIENT" "${USTACK_OPTS[@]}" --stats-json "$T/stats.json" -- sh -c 'sleep 3; curl -s -o /dev/null -w "%{http_code}" http://198.18.0.1/small'
expect_eq "curl after 3 s of quiet: exit 0" 0 "$RUN_STATUS"
expect_eq "curl after 3 s of quiet: 200" 200 "$RUN_OUT"
check=$(python3 - "$T/stats.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = [c for c in d["connections"] if c["remote"].endswith(":80")]
if len(c) != 1: print("connections to :80: %d" % len(c)); sys.exit()
c = c[0]
if c["rtt_min_ms"] >= 1000: print("min RTT %.3f ms: the quiet period leaked into the sample" % c["rtt_min_ms"])
elif c["retrans"]: print("%d retransmissions on a clean veth" % c["retrans"])
else: print("ok")
PY
)
expect_eq "RTT sample and timers use the current time" ok "$check"
finish
