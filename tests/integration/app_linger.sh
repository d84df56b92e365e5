#!/usr/bin/env bash
# SO_LINGER through the program's close(), as on Linux (issue 11.6), with a
# Linux peer capturing in the server namespace:
#   l_onoff 1, l_linger 0: close() is abortive - a RST (with the timestamp
#     option) at once, no FIN, and the bytes still unsent are dropped;
#   l_onoff 1, l_linger 2, the peer silent (its namespace drops our
#     segments): close() blocks for the 2 s, then returns 0 (Linux's
#     sk_stream_wait_close: the connection goes on closing without the
#     program; no RST at the end of the wait);
#   l_linger 5, the peer answering: close() returns once the FIN is
#     acknowledged, well before the 5 s.
source "$(dirname "$0")/app_env.bash"

# The Linux peer: reads every connection to EOF on three ports.
cat > "$T/sink.py" <<'PY'
import socket, threading
def serve(port):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(('198.18.0.1', port))
    l.listen(8)
    while True:
        c, _ = l.accept()
        threading.Thread(target=lambda c=c: [None for _ in iter(lambda: c.recv(65536), b'')], daemon=True).start()
for p in (9301, 9302):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
serve(9303)
PY
ip netns exec "$TOPO_SERVER" python3 "$T/sink.py" >"$T/sink.log" 2>&1 &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 9303

ip netns exec "$TOPO_SERVER" tcpdump --immediate-mode -U -n -i us0 -w "$T/cap.pcap" \
  'tcp portrange 9301-9303' 2>"$T/tcpdump.err" &
TOPO_PIDS+=($!)
for ((i = 0; i < 100; i++)); do grep -q "listening on" "$T/tcpdump.err" && break; sleep 0.05; done

# The program under ustack: the three closes, each timed.
cat > "$T/linger.py" <<'PY'
import os, socket, struct, sys, time
T = sys.argv[1]
def conn(port):
    s = socket.create_connection(('198.18.0.1', port))
    s.sendall(b'x' * 1000)
    time.sleep(0.2)
    return s
def timed_close(s, linger):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, linger))
    t = time.monotonic()
    s.close()
    return time.monotonic() - t
# l_linger 0
s = conn(9301)
print('linger0 close %.2f' % timed_close(s, 0), flush=True)
# l_linger 2, peer silent: wait until the script has made it so.
s = conn(9302)
open(T + '/connected', 'w').close()
while not os.path.exists(T + '/silent'):
    time.sleep(0.05)
s.sendall(b'y' * 100)
print('linger2-silent close %.2f' % timed_close(s, 2), flush=True)
open(T + '/closed', 'w').close()
# l_linger 5, peer answering
s = conn(9303)
print('linger5 close %.2f' % timed_close(s, 5), flush=True)
PY
ip netns exec "$TOPO_CLIENT" timeout 60 "$USTACK" "${USTACK_OPTS[@]}" -- python3 "$T/linger.py" "$T" \
  >"$T/linger.out" 2>"$T/linger.err" &
UPID=$!
TOPO_PIDS+=($UPID)
for ((i = 0; i < 200; i++)); do [ -e "$T/connected" ] && break; sleep 0.05; done
# The peer goes silent: its namespace drops everything on port 9302.
ip netns exec "$TOPO_SERVER" nft -f - <<'NFT'
table inet linger_test {
  chain in {
    type filter hook input priority 0;
    tcp dport 9302 drop
  }
}
NFT
touch "$T/silent"
for ((i = 0; i < 400; i++)); do [ -e "$T/closed" ] && break; sleep 0.05; done
ip netns exec "$TOPO_SERVER" nft delete table inet linger_test  # the FIN gets through again
wait "$UPID"
expect_eq "the program exits 0" 0 "$?"
out=$(cat "$T/linger.out")
echo "$out" | sed 's/^/     | /'

expect_match "l_linger 0: close() returns at once" '^linger0 close 0\.[0-4]' "$out"
t2=$(awk '/^linger2-silent/ {print $3}' <<<"$out")
if awk -v t="${t2:-0}" 'BEGIN { exit !(t >= 1.9 && t < 10) }'; then
  pass "l_linger 2, silent peer: close() blocked for the 2 s ($t2 s), then returned 0"
else
  fail "l_linger 2, silent peer: close() took '${t2:-?}' s, want 2"
fi
t5=$(awk '/^linger5/ {print $3}' <<<"$out")
if awk -v t="${t5:-9}" 'BEGIN { exit !(t < 4) }'; then
  pass "l_linger 5, answering peer: close() returned once the FIN was acknowledged ($t5 s)"
else
  fail "l_linger 5, answering peer: close() took '${t5:-?}' s"
fi

sleep 0.5
td=$(tcpdump -nn -r "$T/cap.pcap" 2>/dev/null)
c1=$(grep -oE '198\.18\.0\.10\.[0-9]+ > 198\.18\.0\.1\.9301' <<<"$td" | head -1 | cut -d' ' -f1)
one=$(grep -F "$c1 > 198.18.0.1.9301" <<<"$td")
expect_count "l_linger 0: one RST from the program's side" 1 'Flags \[R\.\]' "$one"
expect_match "l_linger 0: the RST carries the timestamp option" 'Flags \[R\.\].*TS val' "$one"
expect_no_match "l_linger 0: no FIN" 'Flags \[F' "$one"
c3=$(grep -oE '198\.18\.0\.10\.[0-9]+ > 198\.18\.0\.1\.9303' <<<"$td" | head -1 | cut -d' ' -f1)
three=$(grep -F "$c3 > 198.18.0.1.9303" <<<"$td")
expect_match "l_linger 5: a FIN, no RST" 'Flags \[F' "$three"
expect_no_match "l_linger 5: no RST" 'Flags \[R' "$three"
two=$(grep -F "198.18.0.1.9302" <<<"$td")
expect_no_match "l_linger 2: no RST after the wait (Linux only waits)" 'Flags \[R' "$two"
finish
