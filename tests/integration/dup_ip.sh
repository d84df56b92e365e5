#!/usr/bin/env bash
# Two stacks must never claim one address on one interface. A second ustack
# with the same --ip on the same interface fails at once (exit 2, one line),
# and the first keeps answering. Another host announcing the stack's address
# is detected too: ustack names that host, stops the program and exits 2.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_direct
C=$TOPO_CLIENT
stack_start "$C" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 || finish
first=$STACK_PID

run_ustack "$C" --if uc0 --ip 198.18.0.10/24 -- sh -c 'echo program ran'
expect_eq "second ustack, same address: exit status 2" 2 "$RUN_STATUS"
expect_eq "second ustack: the program never runs" "" "$RUN_OUT"
expect_eq "second ustack: one line on stderr" 1 "$(grep -c '' <<<"$RUN_ERR")"
expect_match "second ustack: says the address is taken, by whom" \
  "^ustack: 198.18.0.10 is already in use on uc0 by another ustack \(pid [0-9]+\)" "$RUN_ERR"

out=$(ip netns exec "$TOPO_SERVER" ping -c 2 -i 0.2 -W 2 198.18.0.10 2>&1)
expect_match "the first stack still answers" "2 received" "$out"

run_ustack "$C" --if uc0 --ip 198.18.0.11/24 -- true
expect_eq "another address on the same interface is fine" 0 "$RUN_STATUS"
stack_stop
expect_eq "first stack stopped" 143 "$STACK_STATUS"
run_ustack "$C" --if uc0 --ip 198.18.0.10/24 -- true
expect_eq "the address is free again once the first stack is gone" 0 "$RUN_STATUS"

# A kernel host (the server) announces 198.18.0.10 while the stack holds it.
smac=$(topo_mac "$TOPO_SERVER" us0)
stack_start "$C" --if uc0 --ip 198.18.0.10/24 || finish
ip -n "$TOPO_SERVER" addr add 198.18.0.10/32 dev us0
ip netns exec "$TOPO_SERVER" arping -q -U -c 2 -I us0 -s 198.18.0.10 198.18.0.10
wait "$STACK_PID"
status=$?
STACK_PID=
expect_eq "address conflict with another host: exit status 2" 2 "$status"
expect_match "address conflict: names the other host's MAC" \
  "^ustack: 198.18.0.10 is already used on uc0 by the host at $smac" "$(cat "$STACK_ERR")"
finish
