#!/usr/bin/env bash
# close() of a socket whose connect is under way (issue 10, item 7). Linux
# drops the socket at once: no ACK and no FIN follow, and the SYN-ACK that
# arrives later is answered with a RST. The forwarder delays every frame by
# 300 ms so the SYN-ACK comes after the close; the server namespace records
# the exchange, once for the Linux stack of the client namespace and once for
# python under ustack, and the two must be the same.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_impaired --seed 1 --delay-ms 300
for port in 7 8; do
  ip netns exec "$TOPO_SERVER" socat TCP-LISTEN:$port,bind=198.18.0.1,reuseaddr,fork PIPE &
  TOPO_PIDS+=($!)
done
ip netns exec "$TOPO_SERVER" tcpdump -i us0 -n -l -U 'tcp port 8' >"$T/cap" 2>/dev/null &
TOPO_PIDS+=($!)
sleep 1

# A first connection resolves ARP; then a non-blocking connect, closed at once.
probe='import socket, time
socket.create_connection(("198.18.0.1", 7)).close()
s = socket.socket()
s.setblocking(False)
try:
    s.connect(("198.18.0.1", 8))
except BlockingIOError:
    pass
s.close()
time.sleep(2)
print("done")'

# exchange HOST: the recorded segments of HOST's connection to port 8, as
# "client FLAGS" / "server FLAGS" lines.
exchange() {
  grep -F "$1." "$T/cap" | sed -nE "s/^.* $1\.[0-9]+ > .*Flags \[([^]]*)\].*/client \1/p; s/^.* > $1\.[0-9]+: Flags \[([^]]*)\].*/server \1/p"
}

ip -n "$TOPO_CLIENT" addr add 198.18.0.2/24 dev uc0
ip netns exec "$TOPO_CLIENT" python3 -c "$probe" >/dev/null
ip -n "$TOPO_CLIENT" addr del 198.18.0.2/24 dev uc0
run_ustack "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 -- python3 -c "$probe"
expect_eq "the program under ustack ran" "done" "$RUN_OUT"
sleep 0.5
linux=$(exchange 198.18.0.2)
ours=$(exchange 198.18.0.10)
expect_eq "Linux: SYN, the late SYN-ACK, RST" "client S
server S.
client R" "$linux"
expect_eq "ustack: the same exchange as Linux" "$linux" "$ours"
finish
