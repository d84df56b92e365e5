#!/usr/bin/env bash
# The stack reads the net.ipv4 sysctls of its namespace when they apply, as
# Linux: a program under ustack makes one connection, then
# `sysctl -w net.ipv4.tcp_timestamps=0 tcp_sack=0 tcp_ecn=1` runs in the
# client namespace while it is still alive, and its next connection's SYN
# (captured by tcpdump at the Linux peer) carries no timestamp, no
# SACK-permitted, and asks for ECN, which Linux (tcp_ecn=2) accepts. Then
# ECN the other way: a Linux client with tcp_ecn=1 asks a ustack server
# (default tcp_ecn=2), whose SYN-ACK carries ECE and whose data is ECT(0).
source "$(dirname "$0")/../netns/testlib.sh"

need topo_direct
C=$TOPO_CLIENT S=$TOPO_SERVER

# A Linux server that answers each line with "ok".
cat >"$T/server.py" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
open(sys.argv[3], "w").close()
while True:
    c, _ = s.accept()
    f = c.makefile("rb")
    for line in f:
        c.sendall(b"ok " + line)
    c.close()
PY
# The client under ustack: one connection, wait for the go file, another.
cat >"$T/client.py" <<'PY'
import os, socket, sys, time
host, port, T = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def one(tag):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"x" * 20000 + b" " + tag + b"\n")
    got = b""
    while not got.endswith(b"\n"):
        d = s.recv(65536)
        if not d: break
        got += d
    s.close()
    print(got[-20:].decode().strip(), flush=True)
one(b"first")
open(T + "/first.done", "w").close()
for _ in range(300):
    if os.path.exists(T + "/go"): break
    time.sleep(0.05)
one(b"second")
PY

wait_file() { local i; for ((i = 0; i < 200; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }

ip netns exec "$S" tcpdump -U -nn -i us0 -w "$T/peer.pcap" 'tcp port 5001 or tcp port 5002' 2>"$T/tcpdump.err" &
TD=$!
TOPO_PIDS+=($TD)
wait_file "$T/peer.pcap" || fail "tcpdump did not start: $(cat "$T/tcpdump.err")"
sleep 0.5
topo_spawn "$S" python3 "$T/server.py" 198.18.0.1 5001 "$T/server.up"
need wait_file "$T/server.up"

# ---- 1: a sysctl changed while the program runs reaches its next SYN ----
ip netns exec "$C" "$USTACK" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 -- \
  python3 "$T/client.py" 198.18.0.1 5001 "$T" >"$T/client.out" 2>"$T/client.err" &
CP=$!
wait_file "$T/first.done" || fail "first connection: $(cat "$T/client.err")"
ip netns exec "$C" sysctl -q -w net.ipv4.tcp_timestamps=0 net.ipv4.tcp_sack=0 net.ipv4.tcp_ecn=1
touch "$T/go"
wait "$CP"
expect_eq "client ran both connections" 0 "$?"
out=$(cat "$T/client.out")
expect_match "first answer" "x first$" "$out"
expect_match "second answer" "x second$" "$out"

# ---- 2: a Linux client asking for ECN, a ustack server accepting ----
ip netns exec "$S" sysctl -q -w net.ipv4.tcp_ecn=1
ip netns exec "$C" sysctl -q -w net.ipv4.tcp_ecn=2 net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=1
ip netns exec "$C" "$USTACK" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 -- \
  python3 "$T/server.py" 198.18.0.10 5002 "$T/ustack-server.up" 2>"$T/userver.err" &
STACK_PID=$!
wait_file "$T/ustack-server.up" || fail "ustack server did not start: $(cat "$T/userver.err")"
reply=$(ip netns exec "$S" python3 -c '
import socket
s = socket.create_connection(("198.18.0.10", 5002), timeout=10)
s.sendall(b"y" * 30000 + b" linux\n")
got = b""
while not got.endswith(b"\n"):
    d = s.recv(65536)
    if not d: break
    got += d
print(got[-10:].decode().strip())
' 2>&1)
expect_match "Linux client got the ustack server's answer" "y linux$" "$reply"
stack_stop
# tcpdump writes each packet as it handles it (-U) but may be behind: stop
# it only once both FINs of the last connection are in the file.
for ((i = 0; i < 100; i++)); do
  n=$(tcpdump -nn -r "$T/peer.pcap" 'tcp port 5002 and tcp[tcpflags] & tcp-fin != 0' 2>/dev/null | wc -l)
  ((n >= 2)) && break
  sleep 0.05
done
kill -INT "$TD" 2>/dev/null; wait "$TD" 2>/dev/null

syns=$(tcpdump -nn -r "$T/peer.pcap" 'tcp dst port 5001 and tcp[tcpflags] & tcp-syn != 0' 2>/dev/null)
expect_count "two SYNs from the ustack client" 2 "Flags \[S" "$syns"
first=$(sed -n 1p <<<"$syns") second=$(sed -n 2p <<<"$syns")
expect_match "first SYN: sackOK and TS (defaults)" "sackOK,TS val" "$first"
expect_match "first SYN: no ECN request (tcp_ecn=2)" "Flags \[S\]" "$first"
expect_no_match "second SYN: no TS after tcp_timestamps=0" "TS val" "$second"
expect_no_match "second SYN: no sackOK after tcp_sack=0" "sackOK" "$second"
expect_match "second SYN: ECE and CWR after tcp_ecn=1" "Flags \[SEW\]" "$second"
synack2=$(tcpdump -nn -r "$T/peer.pcap" 'tcp src port 5001 and tcp[tcpflags] & tcp-syn != 0' 2>/dev/null | sed -n 2p)
expect_match "Linux accepted: SYN-ACK with ECE" "Flags \[S\.E\]" "$synack2"
data2=$(tcpdump -nn -v -r "$T/peer.pcap" "tcp dst port 5001 and tcp[tcpflags] & tcp-syn == 0 and greater 200" 2>/dev/null)
expect_match "second connection's data from ustack is ECT(0)" "tos 0x2,ECT\(0\)" "$data2"

lsyn=$(tcpdump -nn -v -r "$T/peer.pcap" 'tcp port 5002 and tcp[tcpflags] & tcp-syn != 0' 2>/dev/null)
expect_match "Linux client (tcp_ecn=1) asked: SYN with ECE and CWR" "Flags \[SEW\]" "$lsyn"
expect_match "ustack server accepted: SYN-ACK with ECE only" "198.18.0.10.5002 > .*Flags \[S\.E\]" "$lsyn"
udata=$(tcpdump -nn -v -r "$T/peer.pcap" 'tcp src port 5002 and greater 100 and tcp[tcpflags] & tcp-syn == 0' 2>/dev/null)
expect_match "ustack server's data is ECT(0)" "tos 0x2,ECT\(0\)" "$udata"
expect_no_match "nothing from ustack marked CE" "CE\)" "$udata"
finish
