#!/usr/bin/env bash
# Two ustacks on one interface reach each other as two hosts on a LAN do.
# A frame one stack sends never comes back in from the wire; AF_PACKET hands
# it to the other's socket as PACKET_OUTGOING, which a stack used to drop.
# Stack A (198.18.0.10, the interface's MAC) serves HTTP and UDP echo; B
# (198.18.0.11, the same MAC) and C (198.18.0.12, --mac) fetch a file with
# curl, send one with socat and exchange datagrams with it - ARP both ways, TCP with GSO frames
# whose checksums the sender left partial, UDP, ICMP port unreachable. (ping
# under ustack would use the kernel's ICMP sockets: the stack has none.) The server namespace reaches
# all three, and each stack's own frames are never taken for another's, also
# when the kernel hands them back (segmentation offload off).
source "$(dirname "$0")/app_env.bash"

APP_DIR=$(cd "$(dirname "$0")" && pwd)
C=$TOPO_CLIENT
mkdir -p "$WEB"
head -c $((8 << 20)) /dev/urandom > "$WEB/big"
echo "small file" > "$WEB/small"
cat > "$T/udp_echo.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d + b" from " + a[0].encode(), a)
PY
# A TCP sink: the SHA-256 of what each connection sent, written to PREFIX.N.
cat > "$T/sink.py" <<'PY'
import hashlib, socket, sys
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
n = 0
while True:
    c, _ = s.accept()
    h = hashlib.sha256()
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        h.update(b)
    c.close()
    n += 1
    with open("%s.%d" % (sys.argv[3], n), "w") as f:
        f.write(h.hexdigest() + "\n")
PY

# Stack A: an HTTP server, a UDP echo server and a TCP sink in one process tree.
ip netns exec "$C" "$USTACK" --if uc0 --ip 198.18.0.10/24 --stats -- sh -c "
  python3 '$T/udp_echo.py' 198.18.0.10 7 &
  python3 '$T/sink.py' 198.18.0.10 9000 '$T/sink' &
  exec python3 '$APP_DIR/app_httpd.py' '$WEB' 198.18.0.10 80" >"$T/a.out" 2>"$T/a.err" &
STACK_PID=$!
for ((i = 0; i < 100; i++)); do
  ip netns exec "$TOPO_SERVER" curl -s -m 1 -o /dev/null http://198.18.0.10/small && break
  sleep 0.1
done
out=$(ip netns exec "$TOPO_SERVER" curl -s -m 5 http://198.18.0.10/small)
expect_eq "stack A serves HTTP to the server namespace" "small file" "$out"

udp_client='
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"hello", ("198.18.0.10", 7))
print(s.recvfrom(100)[0].decode())'

udp_refused='
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect(("198.18.0.10", 9))
s.send(b"anyone?")
try:
    s.recv(100); print("answered")
except ConnectionRefusedError:
    print("refused")'

# two_stacks_check NAME IP [USTACK OPTIONS...]: the stack at IP fetches from A
# and sends to it.
sinks=0
two_stacks_check() {
  local name=$1 ip=$2; shift 2
  run_ustack "$C" --if uc0 --ip "$ip/24" "$@" -- \
    curl -s -m 20 -o "$T/got.$name" -w '%{http_code}' http://198.18.0.10/big
  expect_eq "$name ($ip): curl downloads 8 MiB from stack A" "0 200" "$RUN_STATUS $RUN_OUT"
  expect_eq "$name: the file arrives intact" "$(sha "$WEB/big")" "$(sha "$T/got.$name" 2>/dev/null)"
  sinks=$((sinks + 1))
  run_ustack "$C" --if uc0 --ip "$ip/24" "$@" -- socat -u "FILE:$WEB/big" TCP:198.18.0.10:9000
  for ((i = 0; i < 100; i++)); do [ -s "$T/sink.$sinks" ] && break; sleep 0.05; done
  expect_eq "$name: socat sends the 8 MiB to A's sink intact" "0 $(sha "$WEB/big")" \
    "$RUN_STATUS $(cat "$T/sink.$sinks" 2>/dev/null)"
  run_ustack "$C" --if uc0 --ip "$ip/24" "$@" -- python3 -c "$udp_client"
  expect_eq "$name: a datagram to A's echo server comes back" "0 hello from $ip" \
    "$RUN_STATUS $RUN_OUT"
  expect_eq "$name: nothing on stderr" "" "$RUN_ERR"
  run_ustack "$C" --if uc0 --ip "$ip/24" "$@" -- python3 -c "$udp_refused"
  expect_eq "$name: A's ICMP port unreachable comes back as ECONNREFUSED" "0 refused" \
    "$RUN_STATUS $RUN_OUT"
}

two_stacks_check B 198.18.0.11
two_stacks_check C 198.18.0.12 --mac 02:00:00:00:00:0c
# The receive path without the ring (recvmmsg) reads the same vnet header.
USTACK_PACKET_RING=0 two_stacks_check D 198.18.0.13

# And the other way round: a client under A reaches a server under B.
ip netns exec "$C" "$USTACK" --if uc0 --ip 198.18.0.11/24 -- \
  python3 "$T/udp_echo.py" 198.18.0.11 7 >/dev/null 2>"$T/b.err" &
b_pid=$!
TOPO_PIDS+=($b_pid)
for ((i = 0; i < 50; i++)); do
  out=$(ip netns exec "$TOPO_SERVER" python3 -c "${udp_client/198.18.0.10/198.18.0.11}" 2>/dev/null) && break
  sleep 0.1
done
expect_eq "stack B's echo server answers the server namespace" "hello from 198.18.0.1" "$out"
run_ustack "$C" --if uc0 --ip 198.18.0.12/24 -- python3 -c "${udp_client/198.18.0.10/198.18.0.11}"
expect_eq "a third stack reaches B while A runs" "0 hello from 198.18.0.12" "$RUN_STATUS $RUN_OUT"
kill "$b_pid"

stack_stop
stats=$(cat "$T/a.err")
expect_match "A received the frames other stacks on uc0 sent" \
  "^ +[1-9][0-9]* device frames another sender on this interface sent" "$stats"
expect_no_match "A never took one of its own frames for another's, nor the reverse" \
  "our own frame, handed back|arp dropped: our own|impossible source" "$stats"

# Our own frames: with segmentation offload off, the kernel cuts the stack's
# GSO frames itself, and the segments but the last one no longer name their
# sending socket: the kernel may hand them back to it (seen in some runs, not
# all). The stack's socket filter drops them in the kernel, before they take
# a ring slot; what gets past it would be counted as DEV_RX_OWN.
ip netns exec "$C" ethtool -K uc0 tso off gso off >/dev/null
ip netns exec "$TOPO_SERVER" python3 "$T/sink.py" 198.18.0.1 9000 "$T/up" &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 9000
run_ustack "$C" --if uc0 --ip 198.18.0.10/24 --stats -- socat -u "FILE:$WEB/big" TCP:198.18.0.1:9000
for ((i = 0; i < 100; i++)); do [ -s "$T/up.1" ] && break; sleep 0.05; done
expect_eq "no segmentation offload: 8 MiB uploaded to the kernel intact" "0 $(sha "$WEB/big")" \
  "$RUN_STATUS $(cat "$T/up.1" 2>/dev/null)"
expect_no_match "no segmentation offload: none of our own segments reached the stack" \
  "our own frame, handed back" "$RUN_ERR"
finish
