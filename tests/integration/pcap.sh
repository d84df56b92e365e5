#!/usr/bin/env bash
# --pcap FILE records every frame the stack sends and receives: tcpdump -r
# and tshark -r both read it, with the ARP exchange and the ICMP echo in it.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_direct
pcap=$T/stack.pcap
stack_start "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 --pcap "$pcap" || finish
mac=$(topo_mac "$TOPO_CLIENT" uc0)
out=$(ip netns exec "$TOPO_SERVER" ping -c 3 -i 0.2 -W 2 198.18.0.10 2>&1)
expect_match "ping: 3 replies" "3 received" "$out"
stack_stop

td=$(tcpdump -nn -e -r "$pcap" 2>&1)
expect_match "tcpdump: classic pcap, Ethernet" "link-type EN10MB" "$td"
expect_match "tcpdump: the stack's announcement at start" \
  "^.* $mac > ff:ff:ff:ff:ff:ff, ethertype ARP .*Request who-has 198.18.0.10 tell 198.18.0.10" "$td"
expect_match "tcpdump: the server's ARP request for the stack" \
  "ARP.*Request who-has 198.18.0.10 tell 198.18.0.1," "$td"
expect_match "tcpdump: the stack's ARP reply with its MAC" \
  "^.* $mac > .*ARP.*Reply 198.18.0.10 is-at $mac" "$td"
expect_count "tcpdump: 3 echo requests received" 3 "198.18.0.1 > 198.18.0.10: ICMP echo request" "$td"
expect_count "tcpdump: 3 echo replies sent" 3 "^.* $mac > .*198.18.0.10 > 198.18.0.1: ICMP echo reply" "$td"

ts=$(tshark -n -r "$pcap" 2>&1)
expect_match "tshark: ARP request" "ARP .*Who has 198.18.0.10\? Tell 198.18.0.1$" "$ts"
expect_match "tshark: ARP reply" "ARP .*198.18.0.10 is at $mac" "$ts"
expect_count "tshark: 3 echo requests" 3 "198.18.0.1 .* 198.18.0.10 .*ICMP.*Echo \(ping\) request" "$ts"
expect_count "tshark: 3 echo replies" 3 "198.18.0.10 .* 198.18.0.1 .*ICMP.*Echo \(ping\) reply" "$ts"
expect_no_match "tshark: no malformed frames" "Malformed|malformed" "$ts"
finish
