#!/usr/bin/env bash
# The kernel of the stack's namespace must not own the stack's address: it
# would answer ARP for it and RST the stack's connections. ustack refuses to
# start (exit 2, one line naming the interface and the `ip addr del` that
# fixes it) whether the kernel holds the address on the stack's interface or
# on another one (an address anywhere in the namespace is local to the
# kernel, answered on every link). Another kernel address on the same link
# is no conflict. The same in direct mode (LD_PRELOAD alone). IPv6 on the
# interface is worth one line of warning.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_direct
C=$TOPO_CLIENT

# expect_refused DESC IFACE PREFIX: the last run_ustack was refused.
expect_refused() {
  expect_eq "$1: exit status 2" 2 "$RUN_STATUS"
  expect_eq "$1: the program never runs" "" "$RUN_OUT"
  expect_eq "$1: exactly one line on stderr" 1 "$(grep -c '' <<<"$RUN_ERR")"
  expect_match "$1: the line names the interface and the fix" \
    "^ustack: the kernel already has 198\.18\.0\.10 on $2 .*ip addr del 198\.18\.0\.10/$3 dev $2\).*--ip" \
    "$RUN_ERR"
}

ip -n "$C" addr add 198.18.0.10/24 dev uc0
run_ustack "$C" --if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 -- echo program ran
expect_refused "the kernel has the address on the stack's interface" uc0 24
USTACK_IF=uc0 USTACK_IP=198.18.0.10/24 run_ustack "$C" -- echo program ran
expect_refused "the same, configured through USTACK_IP" uc0 24
# Direct mode (plain LD_PRELOAD, the stack inside the program): the same line.
lib=$(readlink -f "$USTACK_BUILD/lib/libustack.so")
mkdir -m 700 "$T/run"
timeout 30 ip netns exec "$C" env LD_PRELOAD="$lib" XDG_RUNTIME_DIR="$T/run" USTACK_IF=uc0 \
  USTACK_IP=198.18.0.10/24 sh -c 'echo program ran' >"$T/run.out" 2>"$T/run.err"
RUN_STATUS=$? RUN_OUT=$(cat "$T/run.out") RUN_ERR=$(cat "$T/run.err")
expect_refused "direct mode (LD_PRELOAD)" uc0 24
ip -n "$C" addr del 198.18.0.10/24 dev uc0

ip -n "$C" addr add 198.18.0.10/32 dev lo
run_ustack "$C" --if uc0 --ip 198.18.0.10/24 -- echo program ran
expect_refused "the kernel has the address on another interface (lo)" lo 32
ip -n "$C" addr del 198.18.0.10/32 dev lo

# Another kernel address on the link is a neighbour, not a conflict.
ip -n "$C" addr add 198.18.0.2/24 dev uc0
run_ustack "$C" --if uc0 --ip 198.18.0.10/24 -- echo program ran
expect_eq "another kernel address on the interface: the program runs" "0 program ran" \
  "$RUN_STATUS $RUN_OUT"
expect_eq "another kernel address on the interface: nothing on stderr" "" "$RUN_ERR"
ip -n "$C" addr del 198.18.0.2/24 dev uc0

# IPv6 on the stack's interface: one line of warning, and the program runs.
ip netns exec "$C" sysctl -qw net.ipv6.conf.uc0.disable_ipv6=0
run_ustack "$C" --if uc0 --ip 198.18.0.10/24 -- echo program ran
expect_eq "IPv6 on the interface: the program runs" "0 program ran" "$RUN_STATUS $RUN_OUT"
expect_eq "IPv6 on the interface: one line on stderr" 1 "$(grep -c '' <<<"$RUN_ERR")"
expect_match "IPv6 on the interface: the warning names the sysctl that turns it off" \
  "^ustack: .*IPv6 on uc0.*sysctl -w net\.ipv6\.conf\.uc0\.disable_ipv6=1" "$RUN_ERR"
run_ustack "$C" --if uc0 --ip 198.18.0.10/24 --log error -- echo program ran
expect_eq "IPv6 on the interface, --log error: no warning" "0 program ran." \
  "$RUN_STATUS $RUN_OUT.$RUN_ERR"
ip netns exec "$C" sysctl -qw net.ipv6.conf.uc0.disable_ipv6=1

run_ustack "$C" --if uc0 --ip 198.18.0.10/24 -- echo program ran
expect_eq "the address freed and IPv6 off: runs, silent" "0 program ran." \
  "$RUN_STATUS $RUN_OUT.$RUN_ERR"
finish
