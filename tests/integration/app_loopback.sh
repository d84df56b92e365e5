#!/usr/bin/env bash
# 127.0.0.0/8 inside a ustack process tree (issue 4): ustack has no loopback
# interface, so a connect to 127.x reaches a ustack listener on that port
# (via the stack's own address) and otherwise the kernel's loopback; a
# socket bound to 127.x is the kernel's (a local-only service stays local).
source "$(dirname "$0")/app_env.bash"
mkdir -p "$WEB"
echo "small file" > "$WEB/small"
cd "$WEB" || exit 1
# w HOST:PORT: wait until the server answers (bounded).
W='w() { for i in $(seq 100); do curl -s -o /dev/null "http://$1/small" && return; sleep 0.1; done; }'

u sh -c "$W; python3 -m http.server 8000 >/dev/null 2>&1 & p=\$!; w 127.0.0.1:8000
  curl -sS http://127.0.0.1:8000/small; curl -sS http://localhost:8000/small; kill \$p"
expect_eq "server on ustack (0.0.0.0): reached at 127.0.0.1 and localhost" \
  "small file small file" "$(echo $RUN_OUT)"

u sh -c "$W; python3 -m http.server -b 127.0.0.1 8001 >/dev/null 2>&1 & p=\$!; w 127.0.0.1:8001
  curl -sS http://127.0.0.1:8001/small
  env -u LD_PRELOAD ip netns exec $TOPO_SERVER curl -s --max-time 2 http://198.18.0.10:8001/small ||
    echo not-from-network
  kill \$p"
expect_eq "server bound to 127.0.0.1 (the kernel's loopback): reached, not from the network" \
  "small file not-from-network" "$(echo $RUN_OUT)"

u curl -sS http://127.0.0.1:8002/
expect_eq "nothing on 127.0.0.1:8002: connection refused" 7 "$RUN_STATUS"
finish
