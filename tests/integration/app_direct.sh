#!/usr/bin/env bash
# Direct mode (issue 4): plain LD_PRELOAD=libustack.so with the USTACK_*
# variables and no launcher runs the stack inside the program: curl and a
# python client download byte-exact by name.
source "$(dirname "$0")/app_env.bash"
APP_BIG_MB=8
app_web
app_dns
want=$(sha "$WEB/big")

direct() {
  timeout 30 ip netns exec "$TOPO_CLIENT" env LD_PRELOAD="$USTACK_BUILD/lib/libustack.so" \
    USTACK_IF=uc0 USTACK_IP=198.18.0.10/24 USTACK_GW=198.18.0.1 USTACK_DNS=198.18.0.1 "$@"
}

direct curl -sS -o "$T/got" http://web.ustack.test/big
expect_eq "direct: curl exit 0" 0 "$?"
expect_eq "direct: curl byte-exact" "$want" "$(sha "$T/got")"

# The interpreter itself: a version-manager shim (a shell script) would be
# a process tree, which is the launcher's job.
py=$(python3 -c 'import sys; print(sys.executable)')
out=$(direct "$py" -c "
import hashlib, urllib.request
print(hashlib.sha256(urllib.request.urlopen('http://web.ustack.test/big', timeout=10).read()).hexdigest())")
expect_eq "direct: python urllib byte-exact" "$want" "$out"

out=$(direct "$USTACK_BUILD/bin/sockcheck" readiness 198.18.0.1 80 81 198.18.0.77)
expect_match "direct: non-blocking connect readiness (epoll edge)" "^epoll-et open: writable, SO_ERROR 0$" "$out"
expect_match "direct: refused" "^poll refused: writable, SO_ERROR ECONNREFUSED$" "$out"
finish
