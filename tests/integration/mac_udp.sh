#!/usr/bin/env bash
# --mac: the stack answers with the MAC it was given (the interface listens
# promiscuously). Checksum status from the kernel: a Linux peer on a veth
# leaves UDP checksums partial, and the stack must still accept the datagram
# - here it answers a datagram to a closed port with ICMP port unreachable,
# which the sender sees as ECONNREFUSED.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_direct
pcap=$T/stack.pcap
stack_start "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --mac 02:00:00:00:00:0a --pcap "$pcap" || finish
out=$(ip netns exec "$TOPO_SERVER" arping -c 2 -w 5 -I us0 198.18.0.10 2>&1)
expect_count "arping: answers carry the --mac address" 2 "reply from 198.18.0.10 \[02:00:00:00:00:0A\]" "$out"
expect_match "the interface is promiscuous" "promiscuity [1-9]" "$(ip -d -n "$TOPO_CLIENT" link show uc0)"
out=$(ip netns exec "$TOPO_SERVER" ping -c 2 -i 0.2 -W 2 198.18.0.10 2>&1)
expect_match "ping to the --mac stack: 2 replies" "2 received" "$out"

out=$(ip netns exec "$TOPO_SERVER" timeout 10 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(("198.18.0.10", 9))
s.send(b"x" * 100)
try:
    s.recv(100); print("got data")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
' 2>&1)
expect_eq "UDP to a closed port: the sender gets ECONNREFUSED" "refused" "$out"
stack_stop
td=$(tcpdump -nn -vv -r "$pcap" 2>&1)
# A veth offloads checksums: the frame carries only the pseudo-header sum.
expect_match "the datagram arrived with a partial checksum (kernel offload)" \
  "198.18.0.1\.[0-9]+ > 198.18.0.10\.9: \[bad udp cksum" "$td"
expect_match "the stack answered port unreachable" "ICMP 198.18.0.10 udp port 9 unreachable" "$td"
finish
