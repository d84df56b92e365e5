#!/usr/bin/env bash
# Socket semantics over ustack compared with the Linux kernel (issue 4):
# examples/sockcheck runs the same calls on ustack (client namespace) and on
# the kernel (server namespace) and the transcripts must be identical: the
# errno of bad fds, lengths, NULL buffers, unknown options and families;
# ECONNRESET, EOF, EPIPE/SIGPIPE and MSG_NOSIGNAL after a peer's reset;
# socket options set and read back.
# Then readiness: a non-blocking connect is writable only once the
# handshake is over under poll, select and epoll (level and edge), SO_ERROR
# tells which; a listening socket is readable once a connection waits.
source "$(dirname "$0")/app_env.bash"
app_echo
SC=$USTACK_BUILD/bin/sockcheck

# compare DESC ARGS...: kernel transcript vs ustack transcript.
compare() {
  local desc=$1; shift
  local native
  native=$(ip netns exec "$TOPO_SERVER" "$SC" "$@" 2>&1)
  u "$SC" "$@"
  if [ "$native" = "$RUN_OUT" ] && [ -n "$native" ]; then
    pass "$desc: same as the kernel ($(wc -l <<<"$native") calls)"
  else
    fail "$desc: differs from the kernel (< kernel, > ustack):"
    diff <(echo "$native") <(echo "$RUN_OUT") | sed 's/^/     | /'
  fi
}

compare "bad input and errno" errno 198.18.0.1 7

native=$(ip netns exec "$TOPO_SERVER" python3 "$(dirname "$0")/app_sockopts.py" 198.18.0.1 7 2>&1)
u python3 "$(dirname "$0")/app_sockopts.py" 198.18.0.1 7
if [ "$native" = "$RUN_OUT" ]; then
  pass "socket options (TCP_NODELAY, CORK, KEEP*, USER_TIMEOUT, LINGER, CONGESTION, MAXSEG, INFO...): same as the kernel"
else
  fail "socket options differ from the kernel (< kernel, > ustack):"
  diff <(echo "$native") <(echo "$RUN_OUT") | sed 's/^/     | /'
fi

# A blocking connect to an on-link address nobody answers: ARP gives up.
probe='import socket
try:
    socket.create_connection(("198.18.0.77", 80))
except OSError as e:
    print(type(e).__name__, e.errno)'
native=$(ip netns exec "$TOPO_SERVER" python3 -c "$probe" 2>&1)
u python3 -c "$probe"
expect_eq "blocking connect, no ARP answer: same error as the kernel ($native)" "$native" "$RUN_OUT"

cat > "$T/rst.py" <<'PY'
import socket, struct
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('198.18.0.1', 9100))
l.listen(8)
while True:
    c, a = l.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    c.close()
PY
ip netns exec "$TOPO_SERVER" python3 "$T/rst.py" &
TOPO_PIDS+=($!)
wait_port "$TOPO_SERVER" 9100
compare "peer reset: ECONNRESET, EOF, EPIPE, SIGPIPE, MSG_NOSIGNAL" reset 198.18.0.1 9100

u "$SC" readiness 198.18.0.1 7 81 198.18.0.77
for m in poll select epoll epoll-et; do
  expect_match "$m: connect to a silent host is not writable" "^$m silent: not writable$" "$RUN_OUT"
  expect_match "$m: connect to the echo server: writable, SO_ERROR 0" "^$m open: writable, SO_ERROR 0$" "$RUN_OUT"
  expect_match "$m: connect to a closed port: writable, ECONNREFUSED" "^$m refused: writable, SO_ERROR ECONNREFUSED$" "$RUN_OUT"
done
expect_match "epoll-et: still writable after the edge" "^epoll-et open: still writable after: 1$" "$RUN_OUT"

# A listener under ustack: readable only when a connection waits.
(ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- "$SC" accept 9200) >"$T/acc.out" 2>&1 &
TOPO_PIDS+=($!)
for ((i = 0; i < 100; i++)); do grep -q ready "$T/acc.out" && break; sleep 0.05; done
got=$(ip netns exec "$TOPO_SERVER" socat -T 5 - TCP:198.18.0.10:9200 </dev/null)
for ((i = 0; i < 100; i++)); do grep -q "^accept after shutdown" "$T/acc.out" && break; sleep 0.05; done
acc=$(cat "$T/acc.out")
expect_match "listener: SO_ACCEPTCONN" "^SO_ACCEPTCONN: 1$" "$acc"
expect_match "listener: not readable before a connection" "^readable before any connection: 0$" "$acc"
expect_match "listener: non-blocking accept with none waiting is EAGAIN" "^accept with none waiting: -1 EAGAIN$" "$acc"
expect_match "listener: readable when one waits" "^readable when one waits: 1$" "$acc"
expect_match "listener: accept4 with SOCK_CLOEXEC" "^accepted fd close-on-exec: 1$" "$acc"
expect_match "listener: peer address" "^peer 198.18.0.1$" "$acc"
expect_eq "listener: the Linux client got the greeting" "welcome" "$got"
expect_match "listener: accept after shutdown(SHUT_RD) is EINVAL, as on Linux" \
  "^accept after shutdown: -1 EINVAL$" "$acc"
finish
