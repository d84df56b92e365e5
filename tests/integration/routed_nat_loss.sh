#!/usr/bin/env bash
# The router namespace's options. --nat: a datagram a program sends over the
# stack to the far subnet leaves the router masqueraded (the server sees the
# router's address), and the stack routes it through its gateway. --loss 100:
# nothing crosses the router.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_routed --nat
: > "$T/udp.out"
topo_spawn "$TOPO_SERVER" timeout 30 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.19.0.10", 9999)); print("ready", flush=True)
data, peer = s.recvfrom(100)
print(peer[0], data.decode(), flush=True)
' > "$T/udp.out"
for ((i = 0; i < 100; i++)); do grep -q ready "$T/udp.out" && break; sleep 0.05; done
run_ustack "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 --pcap "$T/nat.pcap" -- python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"over-the-stack", ("198.19.0.10", 9999))
'
expect_eq "the program's send succeeded" 0 "$RUN_STATUS"
for ((i = 0; i < 100; i++)); do [ "$(wc -l < "$T/udp.out")" -ge 2 ] && break; sleep 0.05; done
expect_eq "NAT: the far server sees the router's address" "198.19.0.1 over-the-stack" "$(sed -n 2p "$T/udp.out")"
td=$(tcpdump -nn -r "$T/nat.pcap" 2>&1)
expect_match "the stack ARPed for its gateway to reach the far subnet" \
  "Request who-has 198.18.0.1 tell 198.18.0.10" "$td"
expect_match "the datagram left with the stack's own address" "198.18.0.10\.[0-9]+ > 198.19.0.10\.9999: UDP" "$td"
topo_cleanup

need topo_routed --loss 100
stack_start "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 || finish
out=$(ip netns exec "$TOPO_SERVER" ping -c 2 -i 0.2 -W 1 198.18.0.10 2>&1)
expect_match "loss 100% on the router: no replies" "2 packets transmitted, 0 received" "$out"
out=$(ip netns exec "$TOPO_ROUTER" ping -c 1 -W 2 198.18.0.10 2>&1)
expect_match "the router itself still reaches the stack (only forwarding drops)" "1 received" "$out"
stack_stop
finish
