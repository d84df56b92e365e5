#!/usr/bin/env bash
# `ustack ss` and `ustack stat PID` ask a running stack over its control
# socket: a program holding a connection to the web server shows up
# ESTABLISHED with its endpoints, its TCP variables and the counters; once
# the launcher is gone the stack is no longer listed.
APP_BIG_MB=1
source "$(dirname "$0")/app_env.bash"
app_web

ready=$T/ready
ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- python3 -c '
import socket, sys, time, os
s = socket.create_connection(("198.18.0.1", 80))
s.sendall(b"GET /small HTTP/1.1\r\nHost: web\r\n\r\n")
s.recv(4096)
open(sys.argv[1], "w").close()
time.sleep(30)
' "$ready" 2>"$T/launcher.err" &
LPID=$!
TOPO_PIDS+=($LPID)
for ((i = 0; i < 200; i++)); do [ -e "$ready" ] && break; sleep 0.05; done
[ -e "$ready" ] || { fail "the program did not connect: $(cat "$T/launcher.err")"; finish; }

# The launcher runs the stack in a child of the process the shell started
# (shim/ustack_main.c): either pid names it.
SPID=$(pgrep -P "$LPID" -x ustack)
est='^ESTABLISHED +[0-9]+ +[0-9]+  198\.18\.0\.10:[0-9]+ +198\.18\.0\.1:80 *$'
out=$("$USTACK" stat "$LPID" 2>&1)
expect_eq "ustack stat LAUNCHER-PID: exit 0" 0 "$?"
expect_match "ustack stat: names the stack's process" "^ustack in pid $SPID " "$out"
expect_match "ustack stat: the live connection" "$est" "$out"
expect_match "ustack stat: its TCP variables (ss -i style)" 'mss:1448 rtt:[0-9.]+/[0-9.]+ .*cwnd:[0-9]+ .*bytes_received:[1-9]' "$out"
expect_match "ustack stat: the counters" '1 tcp active opens' "$out"

prog=$(pgrep -P "$SPID" | head -1)
out=$("$USTACK" stat "$prog" 2>&1)
expect_match "ustack stat PROGRAM-PID: through its USTACK_CTL" "$est" "$out"

out=$("$USTACK" ss 2>&1)
expect_match "ustack ss: finds the running stack" "^ustack in pid $SPID " "$out"
expect_match "ustack ss: the live connection" "$est" "$out"

kill -TERM "$LPID"
wait "$LPID" 2>/dev/null
out=$("$USTACK" stat "$LPID" 2>&1)
expect_eq "after exit: ustack stat fails" 1 "$?"
expect_match "after exit: says so" "no running stack serves pid $LPID" "$out"
finish
