#!/usr/bin/env bash
# A host on another subnet, behind a router namespace, pings the stack. The
# stack sends the replies to its gateway: it ARPs for 198.18.0.1, never for
# the far host 198.19.0.10, and addresses the replies to the router's MAC.
# The router is given the stack's MAC statically, so the stack cannot learn
# the router's from an ARP request and must ask for its gateway itself.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_routed
pcap=$T/stack.pcap
mac=$(topo_mac "$TOPO_CLIENT" uc0)
rmac=$(topo_mac "$TOPO_ROUTER" ur0)
ip -n "$TOPO_ROUTER" neigh replace 198.18.0.10 lladdr "$mac" dev ur0 nud permanent
stack_start "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 --pcap "$pcap" || finish

out=$(ip netns exec "$TOPO_SERVER" ping -c 3 -i 0.2 -W 2 198.18.0.10 2>&1)
expect_match "ping from 198.19.0.10 through the router: 3 replies" "3 packets transmitted, 3 received" "$out"
expect_count "replies come from the stack, one router hop away" 3 "from 198.18.0.10: icmp_seq=[123] ttl=63" "$out"
stack_stop

td=$(tcpdump -nn -e -r "$pcap" 2>&1)
expect_match "the stack ARPs for its gateway" \
  "^.* $mac > ff:ff:ff:ff:ff:ff, ethertype ARP .*Request who-has 198.18.0.1 tell 198.18.0.10" "$td"
expect_match "the router answers with its MAC" "Reply 198.18.0.1 is-at $rmac" "$td"
expect_no_match "the stack never ARPs for the far host" "who-has 198.19.0.10" "$td"
expect_count "echo replies go to the router's MAC" 3 \
  "^.* $mac > $rmac, ethertype IPv4 .*198.18.0.10 > 198.19.0.10: ICMP echo reply" "$td"
finish
