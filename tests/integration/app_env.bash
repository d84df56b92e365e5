# Shared set-up of the app_* tests (issue 4: unmodified programs on ustack).
# Sourced. The direct topology; in the server namespace, on demand:
#   app_web     HTTP/1.1 file server on 198.18.0.1:80 serving $WEB
#               ($WEB/big: APP_BIG_MB MiB of random bytes, $WEB/small)
#   app_dns     dnsmasq answering *.ustack.test with 198.18.0.1
#   app_echo    a line-echo server on 198.18.0.1:7 (socat)
# u ARGS...: runs `ustack <client options> -- ARGS` (run_ustack: RUN_STATUS,
# RUN_OUT, RUN_ERR).
source "$(dirname "${BASH_SOURCE[0]}")/../netns/testlib.sh"

APP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
APP_BIG_MB=${APP_BIG_MB:-100}
USTACK_OPTS=(--if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 --dns 198.18.0.1)
WEB=$T/www

topo_direct || { fail "topology"; finish; }

# wait_port NS PORT [udp]: until something listens there (bounded).
wait_port() {
  local i flag=-tln
  [ "${3:-}" = udp ] && flag=-uln
  for ((i = 0; i < 100; i++)); do
    ip netns exec "$1" ss -H $flag "sport = :$2" | grep -q . && return 0
    sleep 0.05
  done
  fail "nothing listens on port $2 in $1"
  return 1
}

app_web() {
  mkdir -p "$WEB"
  head -c $((APP_BIG_MB << 20)) /dev/urandom > "$WEB/big"
  echo "small file" > "$WEB/small"
  ip netns exec "$TOPO_SERVER" python3 "$APP_DIR/app_httpd.py" "$WEB" 198.18.0.1 80 \
    >"$T/httpd.log" 2>&1 &
  TOPO_PIDS+=($!)
  wait_port "$TOPO_SERVER" 80
}

app_dns() {
  ip netns exec "$TOPO_SERVER" dnsmasq --no-daemon --no-resolv --no-hosts \
    --listen-address=198.18.0.1 --bind-interfaces --address=/ustack.test/198.18.0.1 \
    --local=/invalid/ --address=/alias.ustack.test/198.18.0.2 \
    --ptr-record=1.0.18.198.in-addr.arpa,web.ustack.test \
    --pid-file="$T/dnsmasq.pid" >"$T/dnsmasq.log" 2>&1 &
  TOPO_PIDS+=($!)
  wait_port "$TOPO_SERVER" 53 udp
}

app_echo() {
  ip netns exec "$TOPO_SERVER" socat TCP-LISTEN:7,bind=198.18.0.1,reuseaddr,fork PIPE \
    >"$T/echo.log" 2>&1 &
  TOPO_PIDS+=($!)
  wait_port "$TOPO_SERVER" 7
}

u() { run_ustack "$TOPO_CLIENT" "${USTACK_OPTS[@]}" -- "$@"; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
