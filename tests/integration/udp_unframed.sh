#!/usr/bin/env bash
# A datagram channel cannot be forged (issue 10): bytes written into a UDP
# socket around the interposer - an inline `syscall` instruction, an empty
# message, sendfile() - never leave the interface, whatever they look like
# (one imitates a header addressed to the echo server); the stack drops and
# counts each (UDP_DROP_UNFRAMED, a `drop` trace line), and the socket still
# works for the datagram sent the ordinary way. The stack's capture (--pcap)
# and the echo server's log show only that datagram and its echo.
source "$(dirname "$0")/app_env.bash"

cat > "$T/echo.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
log = open(sys.argv[3], "a", buffering=1)
while True:
    d, a = s.recvfrom(65535)
    log.write(repr(d) + "\n")
    s.sendto(d, a)
PY
ip netns exec "$TOPO_SERVER" python3 "$T/echo.py" 198.18.0.1 9999 "$T/echo.log" &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 9999 udp

run_ustack "$TOPO_CLIENT" "${USTACK_OPTS[@]}" --pcap "$T/raw.pcap" --stats --trace=drop \
  -- "$USTACK_BUILD/bin/udp_raw_write" 198.18.0.1 9999
expect_eq "udp_raw_write: the garbage went into the channel; send and its echo work after it" \
  "0 raw forged header: 64 raw noise: 200 raw empty: 0 sendfile forged header: 64 send: 22 echo: through the interposer" \
  "$(echo $RUN_STATUS $RUN_OUT)"
expect_match "--stats: the four unkeyed messages dropped by reason" \
  "^ +4 udp dropped: .*\(UDP_DROP_UNFRAMED\)$" "$RUN_ERR"
expect_count "--trace=drop: one drop line each" 4 "drop udp dropped: .*UDP_DROP_UNFRAMED" "$RUN_ERR"

cap=$(tcpdump -nn -r "$T/raw.pcap" udp 2>/dev/null)
expect_count "capture: two UDP datagrams in all (ours and its echo)" 2 "UDP" "$cap"
expect_count "capture: ours is the 22 bytes sent with send()" 1 \
  "198\.18\.0\.10\.[0-9]+ > 198\.18\.0\.1\.9999: UDP, length 22$" "$cap"
expect_no_match "capture: no forged payload on the wire" "FORGED" \
  "$(tcpdump -nn -A -r "$T/raw.pcap" 2>/dev/null)"
expect_eq "echo server: received only the datagram sent with send()" \
  "b'through the interposer'" "$(cat "$T/echo.log")"
finish
