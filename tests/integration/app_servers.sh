#!/usr/bin/env bash
# Servers over ustack (issue 4): `python3 -m http.server` and nginx (master
# and worker processes, epoll, accept4, sendfile) serve a Linux curl in the
# server namespace byte-exact, and nginx takes 10 s of wrk with 50
# connections without errors.
source "$(dirname "$0")/app_env.bash"
mkdir -p "$WEB"
chmod 755 "$T" # nginx workers run as www-data, as installed
head -c $((16 << 20)) /dev/urandom > "$WEB/big"
echo "small file" > "$WEB/small"
want=$(sha "$WEB/big")
SRV=198.18.0.10

# serve NAME PORT CMD...: the command under ustack in the client namespace,
# in the background, until the test ends.
serve() {
  local name=$1 port=$2; shift 2
  (cd "$WEB" && exec ip netns exec "$TOPO_CLIENT" "$USTACK" "${USTACK_OPTS[@]}" -- "$@") \
    >"$T/$name.out" 2>&1 &
  SERVE_PID=$!
  TOPO_PIDS+=($!)
  local i
  for ((i = 0; i < 100; i++)); do
    ip netns exec "$TOPO_SERVER" curl -s -o /dev/null --max-time 1 "http://$SRV:$port/small" && return 0
    sleep 0.1
  done
  fail "$name did not answer on $SRV:$port: $(cat "$T/$name.out")"
  return 1
}

# unserve: SIGTERM to the launcher (forwarded to the server), and wait.
unserve() {
  kill -TERM "$SERVE_PID" 2>/dev/null
  wait "$SERVE_PID" 2>/dev/null
}

srv_curl() { ip netns exec "$TOPO_SERVER" curl -sS "$@"; }

# --- python3 -m http.server ---------------------------------------------------
serve pyhttp 8000 python3 -m http.server 8000
srv_curl -o "$T/py.got" "http://$SRV:8000/big"
expect_eq "python http.server: 16 MiB byte-exact to a Linux curl" "$want" "$(sha "$T/py.got")"
expect_eq "python http.server: 404" 404 "$(srv_curl -s -o /dev/null -w '%{http_code}' "http://$SRV:8000/nope")"

unserve

# --- nginx: master + 2 workers, epoll, accept4, sendfile -----------------------------
mkdir -p "$T/nginx"
cat > "$T/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
master_process on;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { use epoll; worker_connections 512; }
http {
  access_log off;
  sendfile on;
  keepalive_timeout 30;
  client_body_temp_path $T/nginx;
  proxy_temp_path $T/nginx;
  fastcgi_temp_path $T/nginx;
  uwsgi_temp_path $T/nginx;
  scgi_temp_path $T/nginx;
  server { listen 8080; root $WEB; }
}
CONF
serve nginx 8080 nginx -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log"
srv_curl -o "$T/ng.got" "http://$SRV:8080/big"
expect_eq "nginx: 16 MiB byte-exact (sendfile) to a Linux curl" "$want" "$(sha "$T/ng.got")"
# Our master's children only: other nginx instances may run on the machine.
master=$(cat "$T/nginx/nginx.pid" 2>/dev/null)
workers=$(pgrep -P "${master:-0}" -f "nginx: worker process" | wc -l)
expect_eq "nginx: two worker processes" 2 "$workers"
expect_eq "nginx: workers dropped privileges (not root)" "" \
  "$(ps -o user= -p "$(pgrep -d, -P "${master:-0}")" | grep -x root)"

out=$(ip netns exec "$TOPO_SERVER" wrk -t2 -c50 -d10s "http://$SRV:8080/small" 2>&1)
expect_match "wrk: requests completed" "[0-9]+ requests in" "$out"
expect_no_match "wrk: no socket errors" "Socket errors" "$out"
expect_no_match "wrk: no non-2xx answers" "Non-2xx" "$out"
reqs=$(grep -oE "^ +[0-9]+ requests in" <<<"$out" | grep -oE "[0-9]+")
if [ "${reqs:-0}" -gt 1000 ]; then pass "wrk: $reqs requests in 10 s"; else fail "wrk: only ${reqs:-0} requests: $out"; fi
finish
