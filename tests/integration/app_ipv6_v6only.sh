#!/usr/bin/env bash
# IPv6 sockets where IPv6 is off (issue 10, item 2). ustack speaks IPv4; an
# AF_INET6 socket that cannot carry IPv4 (IPV6_V6ONLY, or an IPv6 address)
# must behave as Linux's does with IPv6 disabled: binding [::]:p V6ONLY beside
# 0.0.0.0:p works, it listens and never receives. Checked with the real
# programs that died on it (redis-server with `bind * -::*`, ncat -l), a
# transcript of binds and connects compared with the kernel's, and a
# dual-stack [::] listener that accepts IPv4 clients as v4-mapped addresses.
source "$(dirname "$0")/app_env.bash"
command -v redis-server >/dev/null && command -v ncat >/dev/null ||
  { echo "SKIP: needs redis-server, redis-tools and ncat (scripts/setup.sh)"; exit 77; }

py=$(dirname "$0")/app_ipv6_v6only.py
native=$(ip netns exec "$TOPO_SERVER" python3 "$py" 2>&1)
u python3 "$py"
if [ "$native" = "$RUN_OUT" ]; then
  pass "V6ONLY and IPv6-address binds, listens and connects: same as the kernel ($(wc -l <<<"$native") lines)"
else
  fail "IPv6 socket calls differ from the kernel (< kernel, > ustack):"
  diff <(echo "$native") <(echo "$RUN_OUT") | sed 's/^/     | /'
fi

# A dual-stack listener: an IPv4 client is accepted as ::ffff:a.b.c.d.
cat > "$T/dual.py" <<'PY'
import socket
l = socket.socket(socket.AF_INET6)
l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
l.bind(('::', 7790))
l.listen()
print('ready', flush=True)
c, a = l.accept()
print('accept', a[0], c.getpeername()[0], c.getsockname()[0], c.getsockname()[1], flush=True)
c.sendall(b'hello\n')
c.close()
PY
(ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- python3 "$T/dual.py") >"$T/dual.out" 2>&1 &
TOPO_PIDS+=($!)
for ((i = 0; i < 100; i++)); do grep -q ready "$T/dual.out" && break; sleep 0.05; done
got=$(ip netns exec "$TOPO_SERVER" socat -T 5 - TCP:198.18.0.10:7790 </dev/null)
for ((i = 0; i < 100; i++)); do grep -q accept "$T/dual.out" && break; sleep 0.05; done
expect_eq "dual-stack [::] listener: the IPv4 client got the greeting" "hello" "$got"
expect_match "dual-stack [::] listener: accept and getpeername give ::ffff:198.18.0.1" \
  "^accept ::ffff:198.18.0.1 ::ffff:198.18.0.1 ::ffff:198.18.0.10 7790$" "$(cat "$T/dual.out")"

# redis-server as Debian configures it: `bind * -::*` (every IPv4 address,
# and every IPv6 one if there is IPv6).
mkdir -p "$T/redis"
cat > "$T/redis/redis.conf" <<CONF
bind * -::*
port 6379
protected-mode no
save ""
appendonly no
dir $T/redis
CONF
(ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- redis-server "$T/redis/redis.conf") \
  >"$T/redis.out" 2>&1 &
redis_pid=$!
TOPO_PIDS+=($redis_pid)
for ((i = 0; i < 100; i++)); do
  pong=$(ip netns exec "$TOPO_SERVER" timeout 2 redis-cli -h 198.18.0.10 ping 2>/dev/null) && [ "$pong" = PONG ] && break
  sleep 0.1
done
expect_eq "redis-server with 'bind * -::*' under ustack answers redis-cli from the peer" "PONG" "$pong"
ip netns exec "$TOPO_SERVER" timeout 5 redis-cli -h 198.18.0.10 set k ustack >/dev/null
expect_eq "redis: SET then GET" "ustack" "$(ip netns exec "$TOPO_SERVER" timeout 5 redis-cli -h 198.18.0.10 get k)"
expect_no_match "redis did not fail to bind" "Could not create|Address already in use|Failed listening" "$(cat "$T/redis.out")"
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null # its launcher owns 198.18.0.10 until then

# ncat -l listens on 0.0.0.0 and [::] (V6ONLY) at once.
(ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- ncat -l 7791 >"$T/ncat.out") 2>"$T/ncat.err" &
ncat_pid=$!
TOPO_PIDS+=($ncat_pid)
for ((i = 0; i < 100; i++)); do
  echo "via ncat" | ip netns exec "$TOPO_SERVER" ncat --send-only 198.18.0.10 7791 2>/dev/null && break
  sleep 0.1
done
for ((i = 0; i < 100; i++)); do kill -0 "$ncat_pid" 2>/dev/null || break; sleep 0.05; done
expect_eq "ncat -l under ustack received the line from the peer" "via ncat" "$(cat "$T/ncat.out")"
expect_no_match "ncat -l did not fail to bind" "Address already in use|bind" "$(cat "$T/ncat.err")"
finish
