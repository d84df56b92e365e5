#!/usr/bin/env bash
# Configuration as a user meets it: every mistake is one clear line on stderr
# and exit status 2; flags and their USTACK_* twins; the default interface;
# --help; the program's exit status passed through.
source "$(dirname "$0")/../netns/testlib.sh"

need topo_direct
C=$TOPO_CLIENT
ok_args=(--ip 198.18.0.10/24 --gw 198.18.0.1)

# expect_error DESC REGEX: the last run_ustack failed with status 2 and one
# stderr line matching REGEX (and nothing on stdout).
expect_error() {
  expect_eq "$1: exit status 2" 2 "$RUN_STATUS"
  expect_eq "$1: exactly one line on stderr" 1 "$(grep -c '' <<<"$RUN_ERR")"
  expect_match "$1: the line names the fix" "^ustack: .*$2" "$RUN_ERR"
}

run_ustack "$C" --if nosuch0 "${ok_args[@]}" -- true
expect_error "unknown --if" "no interface named 'nosuch0'.*--if"
USTACK_IF=nosuch1 run_ustack "$C" "${ok_args[@]}" -- true
expect_error "unknown USTACK_IF" "no interface named 'nosuch1'.*USTACK_IF"

run_ustack "$C" --if uc0 --gw 198.18.0.1 -- true
expect_error "missing --ip" "no address.*--ip.*USTACK_IP"
run_ustack "$C" --if uc0 --ip 198.18.0.10 -- true
expect_error "--ip without a prefix" "ADDRESS/PREFIX"
run_ustack "$C" --if uc0 --ip 198.18.0.10/24 --gw 10.0.0.1 -- true
expect_error "gateway off the subnet" "not on the stack's subnet"
run_ustack "$C" --if uc0 --ip 198.18.0.10/24 --frobnicate -- true
expect_error "unknown option" "unknown option '--frobnicate'"
run_ustack "$C" --if uc0 "${ok_args[@]}"
expect_error "no program" "no program to run"

# With --if omitted the only non-loopback interface is used ...
run_ustack "$C" "${ok_args[@]}" -- sh -c 'echo "$USTACK_IF"'
expect_eq "no --if, one candidate: it is used" "0 uc0" "$RUN_STATUS $RUN_OUT"
# ... and two candidates are an error naming both.
ip link add name ud0 netns "$C" type veth peer name ud1 netns "$TOPO_SERVER"
run_ustack "$C" "${ok_args[@]}" -- true
expect_error "no --if, two candidates" "2 interfaces.*uc0.*ud0|2 interfaces.*ud0.*uc0"
ip -n "$C" link del ud0

# Environment twins, and flags override them.
USTACK_IF=uc0 USTACK_IP=198.18.0.10/24 USTACK_GW=198.18.0.1 USTACK_DNS=198.18.0.53 \
  run_ustack "$C" -- sh -c 'echo "$USTACK_IF $USTACK_IP $USTACK_GW $USTACK_DNS"'
expect_eq "environment twins configure the stack" "0 uc0 198.18.0.10/24 198.18.0.1 198.18.0.53" \
  "$RUN_STATUS $RUN_OUT"
USTACK_IF=nosuch2 USTACK_IP=garbage run_ustack "$C" --if uc0 --ip 198.18.0.11/24 -- sh -c 'echo "$USTACK_IP"'
expect_eq "flags override the environment" "0 198.18.0.11/24" "$RUN_STATUS $RUN_OUT"
USTACK_LOG=info run_ustack "$C" "${ok_args[@]}" -- true
expect_match "USTACK_LOG=info reports the stack coming up" "^ustack: stack up: 198.18.0.10/24 on uc0" "$RUN_ERR"

# --help documents every option and variable.
run_ustack "$C" --help
expect_eq "--help: exit 0" 0 "$RUN_STATUS"
for w in --if --ip --gw --dns --mac --pcap --log --help USTACK_IF USTACK_IP USTACK_GW \
  USTACK_DNS USTACK_MAC USTACK_PCAP USTACK_LOG; do
  expect_match "--help documents $w" "(^|[^-A-Z_])$w([^A-Z_]|$)" "$RUN_OUT"
done

# The program's exit status is ustack's; 128+N when killed by signal N.
run_ustack "$C" "${ok_args[@]}" -- sh -c 'exit 7'
expect_eq "exit status passes through" 7 "$RUN_STATUS"
run_ustack "$C" "${ok_args[@]}" -- sh -c 'kill -KILL $$'
expect_eq "killed by SIGKILL: 128+9" 137 "$RUN_STATUS"
run_ustack "$C" "${ok_args[@]}" -- /nonexistent/program
expect_eq "program not found: 127" 127 "$RUN_STATUS"
expect_match "program not found: one line" "^ustack: cannot run '/nonexistent/program'" "$RUN_ERR"
finish
