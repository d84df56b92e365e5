#!/usr/bin/env bash
# A program that writes, closes and exits at once still has every byte
# delivered, even when the reader on the far side needs longer than the
# launcher's no-progress limit (10 s) to take what was still buffered: the
# stack keeps going while the reader keeps acknowledging.
APP_BIG_MB=1
source "$(dirname "$0")/app_env.bash"

head -c $((2 << 20)) /dev/urandom > "$T/data"
# The ustack server: accept, send everything, close, exit.
ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- python3 -c '
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 9000)); l.listen(1)
open(sys.argv[2], "w").close()
c, _ = l.accept()
c.sendall(open(sys.argv[1], "rb").read())
c.close()
' "$T/data" "$T/listening" 2>"$T/server.err" &
SPID=$!
TOPO_PIDS+=($SPID)
# Until it listens: python under pyenv's shims can take seconds to start on a
# busy machine.
for ((i = 0; i < 600; i++)); do [ -e "$T/listening" ] && break; sleep 0.05; done
# A Linux reader with a small window taking 32 KiB every 0.25 s: the 2 MiB
# take about 16 s, most of it after the server program has exited.
ip netns exec "$TOPO_SERVER" python3 -c '
import socket, sys, time
for i in range(100):  # until the server under ustack listens (a loaded machine)
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    try:
        s.connect(("198.18.0.10", 9000))
        break
    except ConnectionRefusedError:
        s.close(); time.sleep(0.1)
out = open(sys.argv[1], "wb")
while True:
    b = s.recv(32768)
    if not b: break
    out.write(b); time.sleep(0.25)
' "$T/got" 2>"$T/client.err"
expect_eq "slow reader: exit 0" 0 "$?"
wait "$SPID"
expect_eq "server launcher: exit 0" 0 "$?"
expect_eq "slow reader: every byte (sha256)" "$(sha "$T/data")" "$(sha "$T/got")"
expect_eq "launcher did not give up" "" "$(grep -i 'exiting anyway' "$T/server.err")"
finish
