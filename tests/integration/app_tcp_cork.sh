#!/usr/bin/env bash
# Corking on the wire, compared with the Linux stack (issue 10, item 7):
# send(MSG_MORE) holds its bytes until a send without it (one segment for
# both), and TCP_NODELAY set while TCP_CORK is on pushes what is queued at
# once (not with the FIN at close). sendfile() ends a MSG_MORE run too. The next send comes 50 ms later: well
# within the RTO after which Linux sends corked bytes anyway (unit test
# TcpSockopt.CorkedBytesGoWhenTheProbeTimerFires). The server namespace records the client's
# data segments (flags, length) for python on the kernel of the client
# namespace and for python under ustack.
source "$(dirname "$0")/app_env.bash"

ip netns exec "$TOPO_SERVER" socat TCP-LISTEN:8,bind=198.18.0.1,reuseaddr,fork SYSTEM:'cat >/dev/null' >/dev/null 2>&1 &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 8
ip netns exec "$TOPO_SERVER" tcpdump -i us0 -n -l -U 'tcp dst port 8' >"$T/cap" 2>/dev/null &
TOPO_PIDS+=($!)
sleep 1

printf 'sendfile' >"$T/file"
probe='import os, socket, sys, time
s = socket.create_connection(("198.18.0.1", 8))
time.sleep(0.2)
s.send(b"HEAD", socket.MSG_MORE)
time.sleep(0.05)
s.send(b"BODY")
time.sleep(0.3)
s.send(b"HDR:", socket.MSG_MORE)
with open(sys.argv[1], "rb") as f:
    os.sendfile(s.fileno(), f.fileno(), 0, 8)
time.sleep(0.05)
s.send(b"TAIL")
time.sleep(0.3)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
s.send(b"x" * 100)
time.sleep(0.05)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
time.sleep(0.3)
s.close()
print("done")'

# segments HOST: the client's segments that carry data or a FIN.
segments() {
  sed -nE "s/^.* $1\.[0-9]+ > 198\.18\.0\.1\.8: Flags \[([^]]*)\].*length ([0-9]+).*/\1 \2/p" "$T/cap" |
    grep -E 'F| [1-9]'
}

ip -n "$TOPO_CLIENT" addr add 198.18.0.2/24 dev uc0
ip netns exec "$TOPO_CLIENT" python3 -c "$probe" "$T/file" >/dev/null
ip -n "$TOPO_CLIENT" addr del 198.18.0.2/24 dev uc0
u python3 -c "$probe" "$T/file"
expect_eq "the program under ustack ran" "done" "$RUN_OUT"
sleep 0.5
linux=$(segments 198.18.0.2)
ours=$(segments 198.18.0.10)
expect_eq "Linux: HEAD+BODY in one segment, a MSG_MORE header with what sendfile sent, the corked bytes at TCP_NODELAY, then the FIN" "P. 8
P. 12
P. 4
P. 100
F. 0" "$linux"
expect_eq "ustack: the same segments as Linux" "$linux" "$ours"
finish
