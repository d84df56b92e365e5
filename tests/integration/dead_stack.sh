#!/usr/bin/env bash
# A stack that dies is a network failure, never a clean end of stream
# (issue 10, item 6). kill -9 of the launcher in the middle of a download:
# a python reader that counts bytes gets ECONNRESET, not a short EOF, and
# curl exits with its receive-failure code (56), not "transfer closed with
# bytes remaining" (18) or success. A stream that had ended cleanly (the
# peer's FIN already in the channel) before the stack died still reads to
# its clean end.
source "$(dirname "$0")/app_env.bash"
APP_BIG_MB=64
app_web

# wait_file FILE: until FILE exists (bounded).
wait_file() {
  local i
  for ((i = 0; i < 300; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done
  fail "no $1"
  return 1
}

# kill_launcher PID: SIGKILL, then until it and the stack are gone.
kill_launcher() {
  kill -9 "$1"
  wait "$1" 2>/dev/null
  local i
  for ((i = 0; i < 100; i++)); do
    ip netns pids "$TOPO_CLIENT" | xargs -r ps -o comm= -p 2>/dev/null | grep -qx ustack || return 0
    sleep 0.05
  done
  fail "a ustack process outlived kill -9 of the launcher"
}

# 1. python counts the bytes of a slow download; the launcher dies under it.
ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- python3 -c "
import socket, sys, time
s = socket.create_connection(('198.18.0.1', 80))
s.sendall(b'GET /big HTTP/1.1\r\nHost: x\r\n\r\n')
got = 0
try:
    while True:
        b = s.recv(65536)
        if not b:
            res = 'EOF'
            break
        got += len(b)
        if got > (1 << 20) and got - len(b) <= (1 << 20):
            open('$T/py.started', 'w').close()
        time.sleep(0.002)
except OSError as e:
    res = 'error ' + (e.__class__.__name__)
open('$T/py.result', 'w').write('%s after %d bytes\n' % (res, got))
" 2>"$T/py.err" &
lpid=$!
TOPO_PIDS+=($lpid)
wait_file "$T/py.started"
kill_launcher $lpid
wait_file "$T/py.result"
res=$(cat "$T/py.result")
expect_match "python reader: ECONNRESET when the stack dies mid-download" "^error ConnectionResetError after" "$res"
expect_no_match "python reader: never a clean short EOF" "^EOF" "$res"
expect_match "one line says the stack is gone" "cannot reach the stack" "$(cat "$T/py.err")"

# 2. curl, rate-limited so that the launcher dies mid-transfer.
ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- sh -c "
curl -sS --limit-rate 4M -o '$T/curl.out' http://198.18.0.1/big 2>'$T/curl.err'
echo \$? > '$T/curl.status'" 2>/dev/null &
lpid=$!
TOPO_PIDS+=($lpid)
for ((i = 0; i < 200; i++)); do [ "$(stat -c %s "$T/curl.out" 2>/dev/null || echo 0)" -gt 1048576 ] && break; sleep 0.05; done
kill_launcher $lpid
wait_file "$T/curl.status"
expect_eq "curl: exit 56 (failure receiving), not a short clean transfer" 56 "$(cat "$T/curl.status")"
expect_match "curl: the error names the reset" "Connection reset" "$(cat "$T/curl.err")"

# 3. A clean end is still a clean end: the peer's 100 bytes and FIN are in the
# channel when the stack dies; the reader gets all 100 and then EOF.
ip netns exec "$TOPO_SERVER" socat TCP-LISTEN:9001,bind=198.18.0.1,reuseaddr SYSTEM:'head -c 100 /dev/zero' &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 9001
ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- python3 -c "
import os, select, socket, time
s = socket.create_connection(('198.18.0.1', 9001))
p = select.poll()
p.register(s, select.POLLRDHUP)
p.poll(10000)  # the stack has passed the FIN on
open('$T/fin.ready', 'w').close()
while not os.path.exists('$T/fin.go'):
    time.sleep(0.02)
got = 0
try:
    while True:
        b = s.recv(65536)
        if not b:
            res = 'EOF'
            break
        got += len(b)
except OSError as e:
    res = 'error ' + e.__class__.__name__
open('$T/fin.result', 'w').write('%s after %d bytes\n' % (res, got))
" 2>/dev/null &
lpid=$!
TOPO_PIDS+=($lpid)
wait_file "$T/fin.ready"
kill_launcher $lpid
touch "$T/fin.go"
wait_file "$T/fin.result"
expect_eq "FIN before the stack died: every byte, then a clean EOF" "EOF after 100 bytes" "$(cat "$T/fin.result")"

# 4. UDP has no end of stream: a datagram socket whose stack died fails its
# receive and its send with ENETDOWN, never hands out an empty datagram.
ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- python3 -c "
import os, socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('0.0.0.0', 9002))
open('$T/udp.ready', 'w').close()
while not os.path.exists('$T/udp.go'):
    time.sleep(0.02)
res = []
try:
    d, a = u.recvfrom(100)
    res.append('datagram %r from %r' % (d, a))
except OSError as e:
    res.append('recv ' + os.strerror(e.errno))
try:
    u.sendto(b'x', ('198.18.0.1', 9))
    res.append('sent')
except OSError as e:
    res.append('send ' + os.strerror(e.errno))
open('$T/udp.result', 'w').write(', '.join(res) + '\\n')
" 2>/dev/null &
lpid=$!
TOPO_PIDS+=($lpid)
wait_file "$T/udp.ready"
kill_launcher $lpid
touch "$T/udp.go"
wait_file "$T/udp.result"
expect_eq "UDP after the stack died: ENETDOWN both ways" \
  "recv Network is down, send Network is down" "$(cat "$T/udp.result")"

finish
