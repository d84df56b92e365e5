#!/usr/bin/env bash
# Processes that outlive the launched program (issue 10, item 5).
# `ustack -- redis-server --daemonize yes` returns as redis-server does by
# itself, with its status, while the launcher serves the daemon in the
# background: redis-cli from the peer namespace reaches it; once the daemon
# is shut down the launcher goes too, and the next ustack on the same
# address starts. An orphan of a tree whose launcher was killed never starts
# a stack of its own on the tree's address.
source "$(dirname "$0")/app_env.bash"
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
  { echo "SKIP: redis-server/redis-cli not installed (scripts/setup.sh)"; exit 77; }

# ustack processes in the client namespace (the launcher's).
stacks() { ip netns pids "$TOPO_CLIENT" | xargs -r ps -o pid=,comm= -p 2>/dev/null | awk '$2 == "ustack" {print $1}'; }
# wait_no_stack: until no ustack process is left there (bounded).
wait_no_stack() {
  local i
  for ((i = 0; i < 200; i++)); do [ -z "$(stacks)" ] && return 0; sleep 0.05; done
  return 1
}
rcli() { ip netns exec "$TOPO_SERVER" timeout 10 redis-cli -h 198.18.0.10 -p 6379 "$@" 2>&1; }

u redis-server --daemonize yes --bind 198.18.0.10 --port 6379 --save '' --appendonly no --protected-mode no \
  --dir "$T" --pidfile "$T/redis.pid" --logfile "$T/redis.log"
expect_eq "ustack -- redis-server --daemonize yes: exits 0 (redis-server's own status)" 0 "$RUN_STATUS"
expect_eq "nothing on stderr" "" "$RUN_ERR"
expect_eq "the daemon is running" 0 "$(kill -0 "$(cat "$T/redis.pid" 2>/dev/null)" 2>/dev/null; echo $?)"
expect_eq "one launcher process serves it in the background" 1 "$(stacks | wc -l)"
expect_eq "redis-cli from the peer: PING" "PONG" "$(rcli ping)"
expect_eq "redis-cli from the peer: SET" "OK" "$(rcli set k 'through ustack')"
expect_eq "redis-cli from the peer: GET" "through ustack" "$(rcli get k)"
info=$(rcli info clients)
expect_match "redis sees the peer's connection" "connected_clients:1" "$info"
rcli shutdown nosave >/dev/null
if wait_no_stack; then pass "the launcher exits once the daemon is gone"; else fail "a launcher outlived the daemon: $(stacks)"; fi
u sh -c 'exit 0'
expect_eq "the next ustack on the same address starts" "0:" "$RUN_STATUS:$RUN_ERR"

# SIGTERM to the background launcher goes on to the daemon, which shuts down;
# the launcher follows it.
rm -f "$T/redis.pid"
u redis-server --daemonize yes --bind 198.18.0.10 --port 6379 --save '' --appendonly no --protected-mode no \
  --dir "$T" --pidfile "$T/redis.pid" --logfile "$T/redis.log"
expect_eq "a second daemon starts" "0 PONG" "$RUN_STATUS $(rcli ping)"
rpid=$(cat "$T/redis.pid" 2>/dev/null)
kill -TERM $(stacks)
for ((i = 0; i < 200; i++)); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$rpid" 2>/dev/null; then fail "the daemon did not get the launcher's SIGTERM"; else pass "SIGTERM to the background launcher stops the daemon"; fi
if wait_no_stack; then pass "and the launcher with it"; else fail "a launcher outlived the daemon: $(stacks)"; fi

# An orphan that execs after its launcher was killed.
rm -f "$T/go" "$T/done" "$T/orphan.result"
u sh -c "(
  while [ ! -e '$T/go' ]; do sleep 0.05; done
  exec python3 -c '
import socket, os, time
try:
    socket.create_connection((\"198.18.0.1\", 80), timeout=2)
    r = \"connected\"
except OSError as e:
    r = \"error \" + e.__class__.__name__
open(\"$T/orphan.result\", \"w\").write(r)
while not os.path.exists(\"$T/done\"):
    time.sleep(0.05)
') >/dev/null 2>&1 &"
expect_eq "sh -c with a background subshell: exits 0" 0 "$RUN_STATUS"
expect_eq "its launcher serves the orphan" 1 "$(stacks | wc -l)"
kill -9 $(stacks)
wait_no_stack || fail "kill -9 did not end the launcher"
touch "$T/go"
for ((i = 0; i < 200; i++)); do [ -e "$T/orphan.result" ] && break; sleep 0.05; done
expect_match "the orphan's network calls fail: its stack is gone" "^error" "$(cat "$T/orphan.result" 2>/dev/null)"
u sh -c 'exit 0'
expect_eq "the next ustack on the tree's address starts" "0:" "$RUN_STATUS:$RUN_ERR"
touch "$T/done"
finish
