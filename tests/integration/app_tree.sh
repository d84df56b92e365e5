#!/usr/bin/env bash
# Process trees over ustack (issue 4): concurrent curl and wget under one
# `sh -c` share the launcher's stack (one IP, one port space); a program
# that writes its last bytes, closes and exits at once still has every byte
# delivered and its FIN sent, because the stack outlives it; iperf3 runs
# and reports (select, setsockopt, TCP_INFO).
source "$(dirname "$0")/app_env.bash"
APP_BIG_MB=16
app_web
app_dns
want=$(sha "$WEB/big")

u sh -c "curl -sS -o $T/a http://web.ustack.test/big & wget -q -O $T/b http://web.ustack.test/big & curl -sS -o $T/c http://198.18.0.1/big; wait"
expect_eq "tree: sh -c exits 0" 0 "$RUN_STATUS"
expect_eq "tree: curl in the background, byte-exact" "$want" "$(sha "$T/a")"
expect_eq "tree: wget in the background, byte-exact" "$want" "$(sha "$T/b")"
expect_eq "tree: curl in the foreground, byte-exact" "$want" "$(sha "$T/c")"

# Write, close, exit: the receiver (Linux, server namespace) counts bytes
# until the FIN.
head -c $((8 << 20)) /dev/urandom > "$T/send"
ip netns exec "$TOPO_SERVER" socat -u TCP-LISTEN:9000,bind=198.18.0.1,reuseaddr CREATE:"$T/recv" &
rpid=$!
TOPO_PIDS+=($rpid)
wait_port "$TOPO_SERVER" 9000
u python3 -c "
import socket, sys
s = socket.create_connection(('198.18.0.1', 9000))
s.sendall(open('$T/send', 'rb').read())
s.close()
sys.exit(3)"
expect_eq "write-close-exit: the program's exit status passes through" 3 "$RUN_STATUS"
for ((i = 0; i < 100; i++)); do kill -0 $rpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $rpid 2>/dev/null; then fail "write-close-exit: receiver saw no FIN"; else pass "write-close-exit: FIN reached the receiver"; fi
expect_eq "write-close-exit: every byte delivered" "$(sha "$T/send")" "$(sha "$T/recv")"

# The same without close(): exit() alone closes the socket.
rm -f "$T/recv"
ip netns exec "$TOPO_SERVER" socat -u TCP-LISTEN:9000,bind=198.18.0.1,reuseaddr CREATE:"$T/recv" &
rpid=$!
TOPO_PIDS+=($rpid)
wait_port "$TOPO_SERVER" 9000
u python3 -c "
import os, socket
s = socket.create_connection(('198.18.0.1', 9000))
s.sendall(open('$T/send', 'rb').read())
os._exit(0)"
for ((i = 0; i < 100; i++)); do kill -0 $rpid 2>/dev/null || break; sleep 0.1; done
expect_eq "write-exit (no close): every byte delivered" "$(sha "$T/send")" "$(sha "$T/recv")"

# python's subprocess runs its children with vfork: their close_range()
# must not wipe the parent's knowledge of its sockets.
ip netns exec "$TOPO_SERVER" socat TCP-LISTEN:7,bind=198.18.0.1,reuseaddr,fork PIPE &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 7
u python3 -c "
import socket, subprocess
s = socket.create_connection(('198.18.0.1', 7))
subprocess.run(['true'])
subprocess.run(['sh', '-c', 'exit 0'], close_fds=True)
print(s.getpeername())
s.sendall(b'after subprocess\n')
print(s.recv(100).decode().strip())"
expect_eq "vfork children (python subprocess) leave the parent's sockets intact" \
  "('198.18.0.1', 7) after subprocess" "$(echo $RUN_OUT)"

# A forked child that drops privileges (as nginx workers do) keeps using
# the stack, from several threads at once, over the connection it got at fork.
u python3 -c "
import os, socket, sys, threading
socket.socket().close()
import encodings.idna
pid = os.fork()
if pid == 0:
    os.setgid(65534)
    os.setuid(65534)
    ok = []
    def one(i):
        s = socket.create_connection(('198.18.0.1', 7))
        s.sendall(b'x%d\n' % i)
        ok.append(s.recv(10).strip() == b'x%d' % i)
    ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    print('child', sum(ok), os.getuid())
    sys.stdout.flush()
    os._exit(0)
os.waitpid(pid, 0)"
expect_eq "privileges dropped after fork: 8 threads still use the stack" "child 8 65534" "$RUN_OUT"

# Killed mid-transfer: the peer's connection ends at once (RST for the
# unread data), and the same stack serves the next program normally.
u sh -c "curl -sS --limit-rate 1M -o /dev/null http://198.18.0.1/big & pid=\$!; sleep 1; kill -9 \$pid
  n=0; while [ \$n -lt 100 ] && [ -n \"\$(ip netns exec $TOPO_SERVER ss -Htn state established '( sport = :80 )')\" ]; do sleep 0.05; n=\$((n+1)); done
  echo left=\$(ip netns exec $TOPO_SERVER ss -Htn state established '( sport = :80 )' | wc -l)
  curl -sS -o $T/after http://198.18.0.1/big && echo next-ok"
expect_match "killed mid-transfer: the server's connection is gone" "^left=0$" "$RUN_OUT"
expect_match "killed mid-transfer: the next download on the same stack works" "^next-ok$" "$RUN_OUT"
expect_eq "killed mid-transfer: the next download is byte-exact" "$want" "$(sha "$T/after")"

ip netns exec "$TOPO_SERVER" iperf3 -s -B 198.18.0.1 -1 >"$T/iperf.log" 2>&1 &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 5201
u iperf3 -c 198.18.0.1 -t 2 -J
expect_eq "iperf3: exit 0" 0 "$RUN_STATUS"
bps=$(python3 -c "import json,sys; print(int(json.load(sys.stdin)['end']['sum_received']['bits_per_second']))" <<<"$RUN_OUT" 2>/dev/null)
if [ "${bps:-0}" -gt 0 ]; then pass "iperf3: reports $((bps / 1000000)) Mbit/s"; else fail "iperf3: no report: $RUN_ERR"; fi
cwnd=$(python3 -c "import json,sys; print(json.load(sys.stdin)['end']['streams'][0]['sender']['max_snd_cwnd'])" <<<"$RUN_OUT" 2>/dev/null)
if [ "${cwnd:-0}" -gt 0 ]; then pass "iperf3: TCP_INFO gives a congestion window ($cwnd)"; else fail "iperf3: no cwnd from TCP_INFO"; fi
finish
