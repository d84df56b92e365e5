#!/usr/bin/env bash
# UDP over ustack (issue 4): datagrams framed on the channel keep their
# boundaries and peer addresses: sendto/recvfrom to a Linux echo server,
# connect+send/recv, ECONNREFUSED from an ICMP port unreachable on a
# connected socket (at the next send as at the next receive), a UDP server
# under ustack answering a Linux client, getsockname after an implicit bind
# and after connect (the source address), and EACCES for a broadcast without
# SO_BROADCAST.
source "$(dirname "$0")/app_env.bash"

cat > "$T/echo.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d, a)
PY
ip netns exec "$TOPO_SERVER" python3 "$T/echo.py" 198.18.0.1 9999 &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 9999 udp

u python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
sizes = [0, 1, 1400, 4000, 65507]
for n in sizes:
    s.sendto(bytes([n % 251]) * n, ('198.18.0.1', 9999))
    d, a = s.recvfrom(70000)
    print(len(d), d == bytes([n % 251]) * n, a[0], a[1])
ip, port = s.getsockname()
print('local', ip, port > 0)"
expect_eq "sendto/recvfrom: datagrams of 0..65507 bytes echoed intact, from the server" \
  "0 True 198.18.0.1 9999 1 True 198.18.0.1 9999 1400 True 198.18.0.1 9999 4000 True 198.18.0.1 9999 65507 True 198.18.0.1 9999 local 0.0.0.0 True" \
  "$(echo $RUN_OUT)"

u python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.connect(('198.18.0.1', 9999))
s.send(b'connected')
print(s.recv(100).decode(), s.getpeername())
t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t.settimeout(5)
t.connect(('198.18.0.1', 9998))
t.send(b'nobody')
try:
    t.recv(100)
    print('no error')
except ConnectionRefusedError:
    print('refused')"
expect_eq "connected UDP: send/recv and getpeername; ICMP unreachable is ECONNREFUSED" \
  "connected ('198.18.0.1', 9999) refused" "$(echo $RUN_OUT)"

# An ICMP error on a connected socket fails the next send or receive,
# whichever comes first, and only that one (Linux checks the socket error
# before it queues a datagram); SO_ERROR takes it too. select() waits for it:
# the error makes the socket readable, on Linux as here.
u python3 -c "
import select, socket
t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t.connect(('198.18.0.1', 9998))
def refused(call):
    try:
        call(); return 'ok'
    except ConnectionRefusedError:
        return 'refused'
    except socket.timeout:
        return 'timeout'
t.send(b'nobody'); select.select([t], [], [], 5)
print('send', refused(lambda: t.send(b'again')))
t.settimeout(0.3)
print('recv', refused(lambda: t.recv(100)))
t.send(b'nobody'); select.select([t], [], [], 5)
print('SO_ERROR', t.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
print('send', refused(lambda: t.send(b'again')))"
expect_eq "ICMP port unreachable: the next send is ECONNREFUSED, once; SO_ERROR takes it too" \
  "send refused recv timeout SO_ERROR 111 send ok" "$(echo $RUN_OUT)"

# getsockname of a connected UDP socket names the source address routing
# picked ("what is my address" code connects to a far host and asks), for
# AF_INET6 sockets v4-mapped; a connect with no route fails at once. As Linux.
u python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(('198.19.8.8', 53))
print(s.getsockname()[0])
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.connect(('::ffff:198.18.0.1', 9999))
print(s6.getsockname()[0])"
expect_eq "connected UDP: getsockname gives the source address, not 0.0.0.0" \
  "198.18.0.10 ::ffff:198.18.0.10" "$(echo $RUN_OUT)"
run_ustack "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 -- python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.connect(('198.19.8.8', 53)); print('connected')
except OSError as e:
    print(e.strerror)"
expect_eq "connected UDP without a gateway: ENETUNREACH at connect" "Network is unreachable" \
  "$RUN_OUT"

# 255.255.255.255 needs SO_BROADCAST first, as on Linux (EACCES otherwise),
# for sendto and for connect.
u python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for call in (lambda: s.sendto(b'x', ('255.255.255.255', 9999)), lambda: s.connect(('255.255.255.255', 9999))):
    try:
        call(); print('sent')
    except PermissionError:
        print('EACCES')
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
print(s.sendto(b'x', ('255.255.255.255', 9999)), s.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST))"
expect_eq "broadcast: EACCES without SO_BROADCAST (sendto, connect), sent with it" \
  "EACCES EACCES 1 1" "$(echo $RUN_OUT)"

# A UDP server under ustack, a Linux client.
(ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- python3 "$T/echo.py" 0.0.0.0 7777) \
  >"$T/udpsrv.log" 2>&1 &
TOPO_PIDS+=($!)
sleep 1
out=$(ip netns exec "$TOPO_SERVER" python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range(10):
    try:
        s.sendto(b'to the stack', ('198.18.0.10', 7777))
        d, a = s.recvfrom(100)
        print(d.decode(), a[0], a[1])
        break
    except socket.timeout:
        pass")
expect_eq "UDP server under ustack answers a Linux client" "to the stack 198.18.0.10 7777" "$out"
finish
