#!/usr/bin/env bash
# The stack is a host on the wire: from the server namespace, ping gets 3
# replies and arping gets 3 answers carrying the stack's MAC. Stopping the
# launcher with SIGTERM ends the program, and ustack exits 128+15.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_direct
stack_start "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 || finish
mac=$(topo_mac "$TOPO_CLIENT" uc0)

out=$(ip netns exec "$TOPO_SERVER" ping -c 3 -i 0.2 -W 2 198.18.0.10 2>&1)
expect_match "ping: 3 replies" "3 packets transmitted, 3 received" "$out"
expect_count "ping: 3 reply lines from the stack" 3 "bytes from 198.18.0.10: icmp_seq=[123] ttl=64" "$out"

out=$(ip netns exec "$TOPO_SERVER" arping -c 3 -w 5 -I us0 198.18.0.10 2>&1)
expect_match "arping: 3 answers" "Received 3 response" "$out"
expect_count "arping: each answer is the stack's MAC $mac" 3 \
  "reply from 198.18.0.10 \[${mac^^}\]" "$out"

expect_eq "launcher logged nothing at the default level" "" "$(cat "$STACK_ERR")"
stack_stop
expect_eq "SIGTERM: the program is killed and ustack exits 128+15" 143 "$STACK_STATUS"
finish
