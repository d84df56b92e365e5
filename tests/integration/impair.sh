#!/usr/bin/env bash
# The impairment forwarder between the stack and the server: with --dup 100
# every frame crosses twice (ping reports each reply duplicated), with --loss
# 100 nothing crosses. Two kernels move 8 MB over TCP through it with
# reordering and duplication, GSO super-frames and all, and the bytes match.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_impaired --seed 7 --dup 100 --delay-ms 5
stack_start "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 || finish
out=$(ip netns exec "$TOPO_SERVER" ping -c 3 -i 0.3 -W 2 198.18.0.10 2>&1)
expect_match "through the forwarder: 3 replies" "3 packets transmitted, 3 received" "$out"
expect_match "duplication: ping sees duplicate replies" "\+[0-9]+ duplicates|DUP!" "$out"
expect_no_match "delay: no reply faster than the forwarder's 2 x 5 ms" "time=[0-9]\.[0-9]+ ms" "$out"
stack_stop
topo_cleanup

need topo_impaired --seed 7 --loss 100
stack_start "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 || finish
out=$(ip netns exec "$TOPO_SERVER" ping -c 2 -i 0.2 -W 1 198.18.0.10 2>&1)
expect_match "loss 100%: nothing crosses" "2 packets transmitted, 0 received" "$out"
stack_stop
topo_cleanup

# Kernel to kernel (no stack): the forwarder carries TCP intact.
need topo_impaired --seed 3 --reorder 5 --reorder-ms 3 --dup 5 --delay-ms 1
ip -n "$TOPO_CLIENT" addr add 198.18.0.2/24 dev uc0
head -c 8000000 /dev/urandom > "$T/blob"
want=$(sha256sum < "$T/blob" | cut -d' ' -f1)
server='
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.1", 5001)); s.listen(1); print("listening", flush=True)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
'
: > "$T/server.out"
ip netns exec "$TOPO_SERVER" timeout 60 python3 -c "$server" > "$T/server.out" &
srv=$!
for ((i = 0; i < 100; i++)); do grep -q listening "$T/server.out" && break; sleep 0.05; done
ip netns exec "$TOPO_CLIENT" timeout 60 python3 -c '
import socket, sys
s = socket.create_connection(("198.18.0.1", 5001)); s.sendall(open(sys.argv[1], "rb").read()); s.close()
' "$T/blob"
wait "$srv"
expect_eq "8 MB of TCP through reordering and duplication arrive intact" "8000000 $want" \
  "$(tail -n 1 "$T/server.out")"
finish
