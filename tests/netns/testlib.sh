#!/usr/bin/env bash
# Helpers for the integration tests (tests/integration/*.sh), on top of
# topo.sh. Sourced; expects USTACK_BUILD (the build dir) from ctest.
#
#   source "$(dirname "$0")/../netns/testlib.sh"
#   need topo_direct
#   stack_start "$TOPO_CLIENT" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1
#   expect_match "3 received" "$(ip netns exec "$TOPO_SERVER" ping -c 3 198.18.0.10)"
#   stack_stop
#   finish
#
# Everything created (namespaces, /etc/netns/*, the temp dir, background
# processes) is removed on exit, also on failure or interruption.

set -u
TL_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
USTACK_BUILD=${USTACK_BUILD:-$TL_SRC/build}
USTACK=$USTACK_BUILD/bin/ustack
source "$TL_SRC/tests/netns/topo.sh"

if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root (network namespaces)" >&2
  exit 0
fi
[ -x "$USTACK" ] || { echo "FAIL: no launcher at $USTACK (build first)" >&2; exit 1; }

T=$(mktemp -d /tmp/ustack-test.XXXXXX)
TL_FAILS=0
STACK_PID=

tl_cleanup() {
  if [ -n "$STACK_PID" ]; then kill "$STACK_PID" 2>/dev/null; wait "$STACK_PID" 2>/dev/null; fi
  topo_cleanup
  rm -rf "$T"
}
trap tl_cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "ok   - $*"; }
# need CMD...: a set-up step (topo_direct, ...); if it fails, so does the test.
need() { "$@" || { fail "set-up: $*"; finish; }; }
fail() { echo "FAIL - $*"; TL_FAILS=$((TL_FAILS + 1)); }

# expect_match DESC REGEX TEXT: TEXT has a line matching REGEX (grep -E).
expect_match() {
  if grep -qE -- "$2" <<<"$3"; then pass "$1"; else fail "$1: no line matches /$2/ in:"; sed 's/^/     | /' <<<"$3"; fi
}
expect_no_match() {
  if grep -qE -- "$2" <<<"$3"; then fail "$1: unexpected /$2/ in:"; sed 's/^/     | /' <<<"$3"; else pass "$1"; fi
}
# expect_eq DESC WANT GOT
expect_eq() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: want '$2', got '$3'"; fi
}
# expect_count DESC N REGEX TEXT: exactly N lines match.
expect_count() {
  local n
  n=$(grep -cE -- "$3" <<<"$4")
  if [ "$n" = "$2" ]; then pass "$1"; else fail "$1: want $2 lines matching /$3/, got $n in:"; sed 's/^/     | /' <<<"$4"; fi
}

# stack_start NS USTACK-OPTIONS...: runs `ustack OPTIONS -- sh -c ...` in NS
# in the background and returns once the program has started (the launcher
# starts the program only after the stack is up). The program sleeps until
# stack_stop. Fails the test if the launcher exits first.
stack_start() {
  local ns=$1; shift
  local ready=$T/ready.$RANDOM
  STACK_ERR=$T/stack.err
  ip netns exec "$ns" "$USTACK" "$@" -- sh -c "touch '$ready'; exec sleep 120" 2>"$STACK_ERR" &
  STACK_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    [ -e "$ready" ] && return 0
    kill -0 "$STACK_PID" 2>/dev/null || break
    sleep 0.05
  done
  fail "ustack $* did not start: $(cat "$STACK_ERR")"
  return 1
}

# stack_stop: SIGTERM to the launcher, which forwards it to the program;
# sets STACK_STATUS to the launcher's exit status.
stack_stop() {
  kill -TERM "$STACK_PID" 2>/dev/null
  wait "$STACK_PID"
  STACK_STATUS=$?
  STACK_PID=
}

# run_ustack NS ARGS...: runs ustack in NS in the foreground; sets RUN_STATUS,
# RUN_OUT, RUN_ERR (stdout/stderr text). Bounded: a hang is a failure.
run_ustack() {
  local ns=$1; shift
  timeout 30 ip netns exec "$ns" "$USTACK" "$@" >"$T/run.out" 2>"$T/run.err"
  RUN_STATUS=$?
  RUN_OUT=$(cat "$T/run.out")
  RUN_ERR=$(cat "$T/run.err")
}

finish() {
  if ((TL_FAILS)); then
    echo "$TL_FAILS check(s) failed"
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
